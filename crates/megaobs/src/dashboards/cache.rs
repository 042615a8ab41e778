//! The cache dashboard: hit rate, operations, latency by result, errors.

use super::panel::*;

pub(crate) fn spec() -> DashboardSpec {
    DashboardSpec {
        uid: "megaobs-cache",
        title: "MegaAgent Pro / Cache",
        panels: vec![
            stat(
                "Cache hit rate",
                "Share of cache lookups answered from the cache (exact and semantic hits) over the rate interval. Below 50% the cache mostly adds latency; check TTLs, the similarity threshold and key normalisation.",
            )
            .unit("percentunit")
            .range(0.0, 1.0)
            .thresholds(RED, &[(0.5, YELLOW), (0.8, GREEN)])
            .query(
                r#"sum(rate(cache_hits_total{$sel}[$__rate_interval])) / (sum(rate(cache_hits_total{$sel}[$__rate_interval])) + sum(rate(cache_misses_total{$sel}[$__rate_interval])))"#,
                "hit rate",
            ),
            stat(
                "Semantic share of hits",
                "Share of cache hits found by embedding similarity rather than an exact key match.",
            )
            .unit("percentunit")
            .range(0.0, 1.0)
            .query(
                r#"sum(rate(cache_semantic_hits_total{$sel}[$__rate_interval])) / sum(rate(cache_hits_total{$sel}[$__rate_interval]))"#,
                "semantic",
            ),
            timeseries(
                "Cache operations",
                "Cache hits, semantic hits, misses and writes per second.",
            )
            .unit("ops")
            .min(0.0)
            .query(r#"sum(rate(cache_hits_total{$sel}[$__rate_interval]))"#, "hits")
            .query(
                r#"sum(rate(cache_semantic_hits_total{$sel}[$__rate_interval]))"#,
                "semantic hits",
            )
            .query(r#"sum(rate(cache_misses_total{$sel}[$__rate_interval]))"#, "misses")
            .query(r#"sum(rate(cache_sets_total{$sel}[$__rate_interval]))"#, "sets"),
            timeseries(
                "Cache latency by result",
                "Mean and p95 latency of cache operations, by result (hit, miss, set). Points are exemplars: click one to open its trace.",
            )
            .unit("s")
            .min(0.0)
            .traced()
            .query(
                r#"sum by (result) (rate(cache_operation_duration_seconds_sum{$sel}[$__rate_interval])) / sum by (result) (rate(cache_operation_duration_seconds_count{$sel}[$__rate_interval]))"#,
                "mean {{result}}",
            )
            .query(
                r#"histogram_quantile(0.95, sum by (le, result) (rate(cache_operation_duration_seconds_bucket{$sel}[$__rate_interval])))"#,
                "p95 {{result}}",
            ),
            timeseries(
                "Cache error rate",
                "Failed cache operations as a share of all cache operations, by operation. Errors are served from the origin, so they cost latency, not correctness.",
            )
            .unit("percentunit")
            .min(0.0)
            .thresholds(GREEN, &[(0.01, YELLOW), (0.05, RED)])
            .query(
                // Failed operations are not timed: all operations = timed + failed.
                r#"sum by (operation) (rate(cache_errors_total{$sel}[$__rate_interval])) / on() group_left() (sum(rate(cache_operation_duration_seconds_count{$sel}[$__rate_interval])) + sum(rate(cache_errors_total{$sel}[$__rate_interval])))"#,
                "{{operation}}",
            ),
        ],
    }
}
