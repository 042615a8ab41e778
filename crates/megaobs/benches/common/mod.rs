//! Settings shared by the benchmarks: short, so the three benches fit in a
//! few minutes on a 2-core machine; 40 samples keep medians stable.

use std::time::Duration;

use criterion::Criterion;

#[path = "../../examples/support/discard.rs"]
mod discard;
#[allow(unused_imports)] // not every bench exports spans
pub use discard::Discard;

pub fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40)
}

/// Operations of one kind timed together by [`interleaved`].
#[allow(dead_code)] // not every bench compares pairs
const BLOCK: u64 = 32;

/// Times `kinds[mine]` while running `kinds[1 - mine]` as often, in alternating
/// blocks of [`BLOCK`], and counts only the thread's CPU time of its own blocks.
/// Background threads (export queues) then work in the same conditions for
/// both kinds, and time the thread spends preempted by them is not counted:
/// sequential benches move by ±50% between runs on a 2-core machine.
///
/// The other kind's blocks are timed too, and both totals are added to
/// `target/criterion/{group}/pair_cpu_ns.txt` (one line per bench: `kind0 kind1`
/// CPU nanoseconds over the same iterations), so that the ratio of the two kinds
/// can be read over one window of time, where the machine's state is the same for
/// both: criterion's own estimates of the two benches of a pair come from two
/// windows a few seconds apart, and on a shared VM these differ by ±30%.
#[allow(dead_code)] // not every bench compares pairs
pub fn interleaved(b: &mut criterion::Bencher<'_>, kinds: [&dyn Fn(); 2], mine: usize) {
    let mut totals = [Duration::ZERO; 2];
    let mut count = 0;
    b.iter_custom(|iters| {
        let mut timed = [Duration::ZERO; 2];
        let mut done = 0;
        while done < iters {
            // One block of each kind, the same size.
            let n = (iters - done).min(BLOCK);
            for (k, kind) in kinds.iter().enumerate() {
                let t = thread_cpu_time();
                for _ in 0..n {
                    kind();
                }
                timed[k] += thread_cpu_time().saturating_sub(t);
            }
            done += n;
        }
        totals[0] += timed[0];
        totals[1] += timed[1];
        count += iters;
        timed[mine]
    });
    PAIR_TOTALS.with(|p| {
        let (t, n) = p.get();
        p.set(([t[0] + totals[0], t[1] + totals[1]], n + count));
    });
}

thread_local! {
    /// Both kinds' CPU time and the iterations of each, since the last `record_pair`.
    static PAIR_TOTALS: std::cell::Cell<([Duration; 2], u64)> =
        const { std::cell::Cell::new(([Duration::ZERO; 2], 0)) };
}

/// Appends the CPU time both kinds took in the [`interleaved`] benches run since
/// the last call to `target/criterion/{group}/pair_cpu_ns.txt`, as one line
/// `{name} {kind0_ns} {kind1_ns} {iterations of each}`, and starts a new count.
#[allow(dead_code)]
pub fn record_pair(group: &str, name: &str) {
    let ([a, b], n) = PAIR_TOTALS.with(|p| p.replace(([Duration::ZERO; 2], 0)));
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/criterion")
        .join(group);
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("pair_cpu_ns.txt"))
    {
        use std::io::Write;
        let _ = writeln!(f, "{name} {} {} {n}", a.as_nanos(), b.as_nanos());
    }
}

/// CPU time of the calling thread: unlike the wall clock it does not count the
/// time the thread was preempted.
#[allow(dead_code)]
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "CLOCK_THREAD_CPUTIME_ID is available on Linux");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
