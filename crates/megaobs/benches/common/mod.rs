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
