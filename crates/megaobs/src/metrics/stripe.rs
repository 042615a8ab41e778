//! Per-CPU striping of hot atomic cells.
//!
//! Two threads updating the same series on different cores would bounce the
//! cache lines of its atomics between the cores on every update, which costs
//! more than the update itself. Striped cells give each CPU its own cache-line
//! aligned copy; readers (the scrape) add the stripes up. The stripe is the CPU
//! the thread runs on (`sched_getcpu`, a vDSO/rseq read on Linux), so threads that
//! run at the same moment never share a stripe however many threads exist.

use std::sync::atomic::AtomicU64;
use std::sync::OnceLock;

/// Cells per cache line (a line pair, 128 bytes, to also defeat adjacent-line prefetch).
pub(crate) const CELLS_PER_LINE: usize = 16;

/// 128 bytes of atomic cells, aligned so no two stripes share a line.
#[repr(align(128))]
#[derive(Debug, Default)]
pub(crate) struct Line(pub [AtomicU64; CELLS_PER_LINE]);

/// Number of stripes: the CPUs available, rounded up to a power of two, at most 16.
pub(crate) fn stripes() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 16)
            .next_power_of_two()
    })
}

/// The stripe of the calling thread right now (`< stripes`, a power of two).
#[inline]
pub(crate) fn current(stripes: usize) -> usize {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sched_getcpu has no preconditions; it returns -1 on failure.
        let cpu = unsafe { libc::sched_getcpu() };
        (cpu.max(0) as usize) & (stripes - 1)
    }
    #[cfg(not(target_os = "linux"))]
    {
        use std::cell::Cell;
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local!(static MINE: Cell<usize> = const { Cell::new(usize::MAX) });
        MINE.with(|m| {
            if m.get() == usize::MAX {
                m.set(NEXT.fetch_add(1, Ordering::Relaxed));
            }
            m.get() & (stripes - 1)
        })
    }
}
