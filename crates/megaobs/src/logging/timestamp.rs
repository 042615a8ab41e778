//! RFC 3339 UTC timestamps with milliseconds (`2026-11-28T04:10:07.123Z`).
//!
//! Written by hand: the format is fixed, the civil-date conversion is a dozen
//! lines (Howard Hinnant's `civil_from_days`), and it runs on every log line, where
//! a general-purpose formatting crate would cost more than the rest of the line.

use std::time::{SystemTime, UNIX_EPOCH};

/// Appends the timestamp of `t` to `out`.
pub(crate) fn write_rfc3339_millis(out: &mut Vec<u8>, t: SystemTime) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let millis = d.subsec_millis();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, dd) = civil_from_days(days);
    let (hh, mm, ss) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let mut b = [0u8; 24];
    put4(&mut b[0..4], y as u32);
    b[4] = b'-';
    put2(&mut b[5..7], m);
    b[7] = b'-';
    put2(&mut b[8..10], dd);
    b[10] = b'T';
    put2(&mut b[11..13], hh as u32);
    b[13] = b':';
    put2(&mut b[14..16], mm as u32);
    b[16] = b':';
    put2(&mut b[17..19], ss as u32);
    b[19] = b'.';
    b[20] = b'0' + (millis / 100) as u8;
    b[21] = b'0' + (millis / 10 % 10) as u8;
    b[22] = b'0' + (millis % 10) as u8;
    b[23] = b'Z';
    out.extend_from_slice(&b);
}

fn put2(b: &mut [u8], v: u32) {
    b[0] = b'0' + (v / 10 % 10) as u8;
    b[1] = b'0' + (v % 10) as u8;
}

fn put4(b: &mut [u8], v: u32) {
    b[0] = b'0' + (v / 1000 % 10) as u8;
    b[1] = b'0' + (v / 100 % 10) as u8;
    b[2] = b'0' + (v / 10 % 10) as u8;
    b[3] = b'0' + (v % 10) as u8;
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Reads back a timestamp this module wrote (`2026-11-28T04:10:07.123Z`).
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
pub(crate) fn parse_rfc3339_millis(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 24
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[19] != b'.'
        || b[23] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss, ms) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(y), m, d);
    let secs = days * 86_400 + i64::from(hh * 3600 + mm * 60 + ss);
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + std::time::Duration::from_millis(secs * 1000 + u64::from(ms)))
}

/// (year, month, day) → days since 1970-01-01, the inverse of [`civil_from_days`].
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from(if m > 2 { m - 3 } else { m + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn fmt(secs: u64, millis: u64) -> String {
        let mut v = Vec::new();
        write_rfc3339_millis(
            &mut v,
            UNIX_EPOCH + Duration::from_millis(secs * 1000 + millis),
        );
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn known_instants() {
        assert_eq!(fmt(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(fmt(951_782_400, 7), "2000-02-29T00:00:00.007Z");
        assert_eq!(fmt(1_760_099_696, 789), "2025-10-10T12:34:56.789Z");
        assert_eq!(fmt(4_102_444_799, 999), "2099-12-31T23:59:59.999Z");
    }

    #[test]
    fn parsing_reads_back_what_was_written() {
        for (secs, millis) in [
            (0, 0),
            (951_782_400, 7),
            (1_760_099_696, 789),
            (4_102_444_799, 999),
        ] {
            let t = UNIX_EPOCH + Duration::from_millis(secs * 1000 + millis);
            assert_eq!(parse_rfc3339_millis(&fmt(secs, millis)), Some(t));
        }
        assert_eq!(parse_rfc3339_millis("2026-13-01T00:00:00.000Z"), None);
        assert_eq!(parse_rfc3339_millis("not a time"), None);
    }
}
