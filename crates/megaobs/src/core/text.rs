//! Bounding text that callers or clients choose (label values, span attributes).

/// The longest prefix of `s` that is at most `max` bytes and ends on a character
/// boundary (`s` itself when it fits).
pub(crate) fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Whether two secrets (bearer tokens) are equal, in time that depends on
/// their length only, not on where they differ.
pub(crate) fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::prefix;

    #[test]
    fn cuts_at_a_character_boundary() {
        assert_eq!(prefix("short", 10), "short");
        assert_eq!(prefix("abcdef", 3), "abc");
        // 'é' is two bytes: a cut inside it moves back before it.
        assert_eq!(prefix("aé", 2), "a");
        assert_eq!(prefix("", 0), "");
    }
}
