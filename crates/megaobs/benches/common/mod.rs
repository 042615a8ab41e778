//! Settings shared by the benchmarks: short, so the three benches fit in a
//! few minutes on a 2-core machine; 40 samples keep medians stable.

use std::time::Duration;

use criterion::Criterion;

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
#[allow(dead_code)] // not every bench compares pairs
pub fn interleaved(b: &mut criterion::Bencher<'_>, kinds: [&dyn Fn(); 2], mine: usize) {
    b.iter_custom(|iters| {
        let mut timed = Duration::ZERO;
        let mut left = iters;
        let mut turn = 0;
        while left > 0 {
            let n = left.min(BLOCK);
            let k = turn % 2;
            if k == mine {
                let t = thread_cpu_time();
                for _ in 0..n {
                    kinds[k]();
                }
                timed += thread_cpu_time().saturating_sub(t);
                left -= n;
            } else {
                for _ in 0..n {
                    kinds[k]();
                }
            }
            turn += 1;
        }
        timed
    })
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
