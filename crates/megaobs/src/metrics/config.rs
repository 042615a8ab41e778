//! [`MetricsConfig`]: where `/metrics` listens, the cardinality guard and the
//! LLM price table, from code or from `METRICS_ADDR` and `LLM_PRICES`.

use std::net::SocketAddr;

use super::PriceTable;
use crate::core::env::{env_lookup, Env};
use crate::error::Result;

/// Metrics configuration.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MetricsConfig {
    /// `METRICS_ADDR`: where the standalone `/metrics` server listens.
    pub addr: SocketAddr,
    /// Cardinality guard: most distinct values one label of one metric may take
    /// before new values are folded into `__overflow__`.
    pub max_label_values: usize,
    /// `LLM_PRICES`: the price table `gen_ai_client_cost_usd_total` is computed
    /// with (`None`: no table, every model unpriced). [`crate::init`] installs
    /// it in the global collector; for a collector of your own pass it to
    /// [`MetricsCollectorBuilder::prices`](super::MetricsCollectorBuilder::prices).
    pub prices: Option<PriceTable>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8000)),
            max_label_values: crate::metrics::DEFAULT_MAX_LABEL_VALUES,
            prices: None,
        }
    }
}

impl MetricsConfig {
    /// Reads the metrics variables from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(env_lookup)
    }

    /// Reads the metrics variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let env = Env(&lookup);
        let d = Self::default();
        Ok(Self {
            addr: env
                .parse(
                    "METRICS_ADDR",
                    "a socket address such as 127.0.0.1:8000 or 0.0.0.0:9464",
                    |s| s.parse::<SocketAddr>().ok(),
                )?
                .unwrap_or(d.addr),
            max_label_values: d.max_label_values,
            prices: match env.get("LLM_PRICES") {
                Some(path) if !path.trim().is_empty() => Some(PriceTable::from_file(path.trim())?),
                _ => None,
            },
        })
    }

    /// Uses `prices` as the LLM price table (e.g. one read with
    /// [`PriceTable::from_toml_str`] from an embedded file).
    pub fn prices(mut self, prices: PriceTable) -> Self {
        self.prices = Some(prices);
        self
    }
}
