//! Per-chunk timing of a streamed model call, kept inside the call's guard.
//!
//! A chunk must cost nanoseconds: reading `Instant::now()` alone takes about
//! 30 ns on common virtual machines. On x86_64 the guard reads the CPU's
//! time-stamp counter instead (about 10 ns; megaobs uses it only where the
//! kernel reports an invariant TSC, `constant_tsc` and `nonstop_tsc`, otherwise
//! it falls back to `Instant`). Chunk ticks are buffered and their gaps bucketed
//! 32 at a time into a small array on the guard — no atomic, no lock, no
//! allocation — and merged into
//! the shared `gen_ai_client_operation_time_per_output_chunk_seconds`
//! histogram once, when the call is recorded. The counter's rate is measured
//! against `Instant` once per process, spinning for 2 ms: when tracing starts
//! (`init_tracing*`, off any request path), or else at the first guard.

// Used by the tracing pillar's `LlmSpan`; a metrics-only build has no guard.
#![cfg_attr(not(feature = "tracing"), allow(dead_code))]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Buckets of the GenAI duration histograms (OpenTelemetry GenAI conventions):
/// 0.01 s doubling to 81.92 s.
pub(crate) const GENAI_DURATION_BUCKETS: &[f64] = &[
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
const NB: usize = 14;

/// The process' tick clock: how to read it and its bucket bounds in ticks.
struct Clock {
    tsc: bool,
    ns_per_tick: f64,
    bounds: [u64; NB],
    epoch: Instant,
}

/// Measures the tick clock now, so that no call's guard pays for it.
pub(crate) fn prepare_clock() {
    let _ = clock();
}

fn clock() -> &'static Clock {
    static CLOCK: OnceLock<Clock> = OnceLock::new();
    CLOCK.get_or_init(|| {
        let epoch = Instant::now();
        let tsc = tsc_usable();
        let ns_per_tick = if tsc { calibrate() } else { 1.0 };
        let mut bounds = [0u64; NB];
        for (b, s) in bounds.iter_mut().zip(GENAI_DURATION_BUCKETS) {
            *b = (s * 1e9 / ns_per_tick).round() as u64;
        }
        Clock {
            tsc,
            ns_per_tick,
            bounds,
            epoch,
        }
    })
}

#[cfg(target_arch = "x86_64")]
fn tsc_usable() -> bool {
    // An invariant TSC ticks at one rate on every core, in every power state.
    std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|info| {
        info.lines()
            .find(|l| l.starts_with("flags"))
            .is_some_and(|f| {
                let has = |w: &str| f.split_whitespace().any(|x| x == w);
                has("constant_tsc") && has("nonstop_tsc")
            })
    })
}

#[cfg(not(target_arch = "x86_64"))]
fn tsc_usable() -> bool {
    false
}

/// Nanoseconds per TSC tick, measured once against `Instant` over 2 ms.
fn calibrate() -> f64 {
    let (t0, c0) = (Instant::now(), rdtsc());
    while t0.elapsed() < Duration::from_millis(2) {
        std::hint::spin_loop();
    }
    let (t1, c1) = (Instant::now(), rdtsc());
    let ticks = c1.saturating_sub(c0).max(1) as f64;
    (t1 - t0).as_nanos() as f64 / ticks
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no preconditions on x86_64.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn rdtsc() -> u64 {
    0
}

impl Clock {
    /// The current tick.
    #[inline(always)]
    fn now(&self) -> u64 {
        if self.tsc {
            rdtsc()
        } else {
            self.epoch.elapsed().as_nanos() as u64
        }
    }
}

/// Ticks to a duration.
pub(crate) fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_nanos((ticks as f64 * clock().ns_per_tick).round() as u64)
}

/// Chunk timestamps buffered before they are bucketed (see [`ChunkTimes::chunk`]).
const PENDING: usize = 32;

/// Chunk arrival times of one call, kept on the call's guard.
#[derive(Clone)]
pub(crate) struct ChunkTimes {
    clock: &'static Clock,
    start: u64,
    first: u64,
    last: u64,
    /// Chunks seen.
    chunks: u32,
    /// Chunks bucketed so far (the rest wait in `pending`).
    settled: u32,
    /// Ticks of the chunks not bucketed yet, by `chunk index % PENDING`.
    pending: [u64; PENDING],
    /// Gaps between consecutive chunks, by bucket (last is `+Inf`).
    counts: [u32; NB + 1],
    gap_ticks: u64,
}

impl std::fmt::Debug for ChunkTimes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkTimes")
            .field("chunks", &self.chunks)
            .finish_non_exhaustive()
    }
}

impl ChunkTimes {
    /// Starts timing now.
    pub(crate) fn start() -> Self {
        let clock = clock();
        let start = clock.now();
        Self {
            clock,
            start,
            first: start,
            last: start,
            chunks: 0,
            settled: 0,
            pending: [0; PENDING],
            counts: [0; NB + 1],
            gap_ticks: 0,
        }
    }

    /// One chunk arrived now.
    ///
    /// Only the tick is stored: the arithmetic on it waits for [`settle`](Self::settle)
    /// (every 32 chunks, and at the end), so that nothing here depends on the
    /// counter read, whose latency would otherwise add to every chunk.
    #[inline]
    pub(crate) fn chunk(&mut self) {
        let now = self.clock.now();
        let i = self.chunks as usize % PENDING;
        self.pending[i] = now;
        self.chunks = self.chunks.wrapping_add(1);
        if i == PENDING - 1 {
            self.settle();
        }
    }

    /// Buckets the chunks still pending.
    #[inline(never)]
    pub(crate) fn settle(&mut self) {
        while self.settled != self.chunks {
            let now = self.pending[self.settled as usize % PENDING];
            if self.settled == 0 {
                self.first = now;
            } else {
                let gap = now.saturating_sub(self.last);
                // Branch-free: count the bounds below the gap.
                let idx = self
                    .clock
                    .bounds
                    .iter()
                    .map(|b| usize::from(*b < gap))
                    .sum::<usize>();
                self.counts[idx.min(NB)] += 1;
                self.gap_ticks = self.gap_ticks.wrapping_add(gap);
            }
            self.last = now;
            self.settled = self.settled.wrapping_add(1);
        }
    }

    /// Chunks seen so far.
    pub(crate) fn chunks(&self) -> u32 {
        self.chunks
    }

    /// Time from start to the first chunk, if one arrived (call [`settle`](Self::settle) first).
    pub(crate) fn time_to_first_chunk(&self) -> Option<Duration> {
        (self.settled > 0).then(|| ticks_to_duration(self.first.saturating_sub(self.start)))
    }

    /// The settled gaps' bucket counts and their sum in nanoseconds.
    pub(crate) fn gaps(&self) -> (&[u32], u64) {
        (
            &self.counts,
            ticks_to_duration(self.gap_ticks).as_nanos() as u64,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_land_in_their_buckets() {
        let mut c = ChunkTimes::start();
        std::thread::sleep(Duration::from_millis(30));
        c.chunk(); // first: time to first chunk ≈ 30 ms
        std::thread::sleep(Duration::from_millis(15));
        c.chunk(); // gap ≈ 15 ms: le 0.02
        c.chunk(); // gap ≈ 0: le 0.01
        c.settle();
        let ttfc = c.time_to_first_chunk().unwrap();
        assert!(
            ttfc >= Duration::from_millis(29) && ttfc < Duration::from_millis(200),
            "{ttfc:?}"
        );
        let (counts, sum) = c.gaps();
        assert_eq!(counts.iter().sum::<u32>(), 2);
        assert_eq!(counts[0], 1);
        assert_eq!(counts[1], 1, "{counts:?}");
        assert!((14_000_000..200_000_000).contains(&sum), "{sum}");
        assert_eq!(c.chunks(), 3);
    }

    #[test]
    fn many_chunks_are_settled_in_batches_and_counted_once() {
        let mut c = ChunkTimes::start();
        for _ in 0..(PENDING * 3 + 5) {
            c.chunk();
        }
        c.settle();
        c.settle();
        let (counts, _) = c.gaps();
        assert_eq!(counts.iter().sum::<u32>() as usize, PENDING * 3 + 4);
        assert!(c.time_to_first_chunk().is_some());
    }
}
