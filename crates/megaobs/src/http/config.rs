//! [`ApiConfig`]: the HTTP API's rate limit, from code or from
//! `API_RATE_LIMIT` and `API_RATE_WINDOW`.

use std::time::Duration;

use crate::core::env::{env_lookup, Env};
use crate::error::Result;

/// HTTP API configuration (rate limiting).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApiConfig {
    /// `API_RATE_LIMIT`: requests allowed per window and client.
    pub rate_limit: u32,
    /// `API_RATE_WINDOW`: the window.
    pub rate_window: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            rate_limit: 60,
            rate_window: Duration::from_secs(60),
        }
    }
}

impl ApiConfig {
    /// Reads the API variables from the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(env_lookup)
    }

    /// Reads the API variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let env = Env(&lookup);
        let d = Self::default();
        Ok(Self {
            rate_limit: env
                .parse(
                    "API_RATE_LIMIT",
                    "a whole number of requests from 1 to 1000000",
                    |s| {
                        s.parse::<u32>()
                            .ok()
                            .filter(|n| (1..=1_000_000).contains(n))
                    },
                )?
                .unwrap_or(d.rate_limit),
            rate_window: env
                .parse(
                    "API_RATE_WINDOW",
                    "a whole number of seconds from 1 to 86400",
                    |s| s.parse::<u64>().ok().filter(|n| (1..=86_400).contains(n)),
                )?
                .map(Duration::from_secs)
                .unwrap_or(d.rate_window),
        })
    }
}
