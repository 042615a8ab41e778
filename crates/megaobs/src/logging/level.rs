//! The active level filter of a log layer, and [`LogLevelHandle`] to change it
//! while the program runs.
//!
//! The filter sits behind an [`ArcSwap`]: reading it on the event path is a
//! lock-free load, and a change is one store. Callsites cache their interest in
//! `tracing`'s callsite registry, so a change also rebuilds that cache: events
//! filtered out by the new level then cost what they cost before (nothing is
//! built for them), and events it admits are written from the next call on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;

use super::config::parse_filter;
use crate::error::{Error, Result};

/// A parsed filter with the text it was parsed from.
#[derive(Debug)]
pub(crate) struct ActiveFilter {
    pub(crate) directives: String,
    pub(crate) targets: Targets,
}

/// The shared, swappable filter of one log layer.
pub(crate) type SharedFilter = Arc<ArcSwap<ActiveFilter>>;

/// Parses `directives` into a shared filter.
pub(crate) fn shared_filter(directives: &str, field: &'static str) -> Result<SharedFilter> {
    let targets = parse_filter(directives).map_err(|reason| Error::InvalidConfig {
        field,
        value: directives.to_string(),
        reason,
    })?;
    Ok(Arc::new(ArcSwap::from_pointee(ActiveFilter {
        directives: directives.trim().to_string(),
        targets,
    })))
}

/// The most verbose level the handle's filter lets through anywhere.
#[cfg(feature = "tracing")]
pub(crate) fn most_verbose_of(level: &LogLevelHandle) -> LevelFilter {
    most_verbose(&level.filter.load().targets)
}

/// The most verbose level `targets` lets through anywhere.
fn most_verbose(targets: &Targets) -> LevelFilter {
    targets
        .iter()
        .map(|(_, level)| level)
        .chain(targets.default_level())
        .max()
        .unwrap_or(LevelFilter::OFF)
}

/// Changes the level of a running log layer: cheap to clone, safe to share
/// across threads, effective immediately (no restart, no lock on the event path).
///
/// ```
/// use megaobs::logging::{LogLayer, LoggingConfig};
///
/// let (layer, _guard) = LogLayer::builder(LoggingConfig::default().console(false).file(false))
///     .build::<tracing_subscriber::Registry>()?;
/// let level = layer.level_handle();
/// assert_eq!(level.current(), "info");
/// level.set("debug,hyper=warn")?;
/// assert_eq!(level.current(), "debug,hyper=warn");
/// assert!(level.set("loud").is_err()); // neither a level nor target=level
/// # Ok::<(), megaobs::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct LogLevelHandle {
    filter: SharedFilter,
    /// Whether megaobs routes the `log` crate's records here: `log`'s own
    /// global max level then follows every change.
    log_crate: Arc<AtomicBool>,
}

impl LogLevelHandle {
    pub(crate) fn new(filter: SharedFilter) -> Self {
        Self {
            filter,
            log_crate: Arc::new(AtomicBool::new(false)),
        }
    }

    /// From now on, changes also set the `log` crate's max level.
    #[cfg(feature = "tracing")]
    pub(crate) fn follow_log_crate(&self) {
        self.log_crate.store(true, Ordering::Relaxed);
    }

    /// The active directives, as last set.
    pub fn current(&self) -> String {
        self.filter.load().directives.clone()
    }

    /// Replaces the active directives: a level (`debug`, also `WARNING` and
    /// `CRITICAL`) or comma-separated `target=level` directives
    /// (`info,my_app::db=trace`). An invalid value changes nothing and is an
    /// [`Error::InvalidConfig`] saying why.
    pub fn set(&self, directives: &str) -> Result<()> {
        let targets = parse_filter(directives).map_err(|reason| Error::InvalidConfig {
            field: "log level",
            value: directives.to_string(),
            reason,
        })?;
        let max = most_verbose(&targets);
        self.filter.store(Arc::new(ActiveFilter {
            directives: directives.trim().to_string(),
            targets,
        }));
        if self.log_crate.load(Ordering::Relaxed) {
            use tracing_log::AsLog;
            tracing_log::log::set_max_level(max.as_log());
        }
        // Callsites cached their interest under the old filter.
        tracing_core::callsite::rebuild_interest_cache();
        Ok(())
    }
}
