//! Grafana dashboards, Prometheus rules and the local observability stack.
//!
//! - [`create_dashboards`] writes the four dashboards of the original design
//!   (`cache_dashboard.json`, `api_dashboard.json`, `orchestration_dashboard.json`,
//!   `system_dashboard.json`) and the LLM dashboard (`llm_dashboard.json`: spend,
//!   tokens by type, time to first chunk, errors, agents and tools) in Grafana's
//!   dashboard JSON ([`model`]), ready for
//!   *Dashboards → New → Import* or file provisioning;
//! - [`rules::rules`] builds the Prometheus recording and alerting rules;
//! - [`stack::write_stack`] writes a docker-compose stack (Prometheus, Alertmanager,
//!   Grafana, Jaeger, Loki, optional OTel Collector) with everything above provisioned.
//!
//! The `megaobs` command does the same from the shell: `megaobs dashboards --out DIR`,
//! `megaobs rules --out FILE`, `megaobs stack --out DIR`.
//!
//! Every panel query uses the `$job` and `$instance` variables, rates over
//! `$__rate_interval`, and quantiles as
//! `histogram_quantile(q, sum by (le) (rate(..._bucket[$__rate_interval])))`.
//! Latency panels ask for exemplars: with the stack's data source settings a
//! click on one opens its trace in Jaeger.
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let files = megaobs::dashboards::create_dashboards(dir.path())?;
//! assert_eq!(files.len(), 5);
//! assert!(files[0].ends_with("cache_dashboard.json"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod api;
mod cache;
pub mod k8s;
mod llm;
pub mod model;
mod orchestration;
mod panel;
pub mod rules;
pub mod stack;
mod system;

use std::path::{Path, PathBuf};

pub use model::Dashboard;

use crate::{Error, Result};

/// Options shared by all dashboards.
#[derive(Clone, Debug, PartialEq)]
pub struct DashboardOptions {
    /// URL template of the "Traces in this time range" link on latency panels
    /// (Grafana variables allowed: `${__from}`/`${__to}` are milliseconds);
    /// `None` leaves the link out. The default searches the local Jaeger UI.
    pub trace_search_url: Option<String>,
}

/// Default trace search link: the local Jaeger UI, service `megaagent-pro`,
/// the dashboard's time range (Jaeger wants microseconds, hence the `000`).
pub const DEFAULT_TRACE_SEARCH_URL: &str =
    "http://localhost:16686/search?service=megaagent-pro&lookback=custom&start=${__from}000&end=${__to}000&limit=20";

impl Default for DashboardOptions {
    fn default() -> Self {
        Self {
            trace_search_url: Some(DEFAULT_TRACE_SEARCH_URL.into()),
        }
    }
}

/// The five dashboards with their file names: the original design's four in its
/// order, then the LLM dashboard.
pub fn dashboards(opts: &DashboardOptions) -> Vec<(&'static str, Dashboard)> {
    vec![
        ("cache_dashboard.json", cache::spec().build(opts)),
        ("api_dashboard.json", api::spec().build(opts)),
        (
            "orchestration_dashboard.json",
            orchestration::spec().build(opts),
        ),
        ("system_dashboard.json", system::spec().build(opts)),
        ("llm_dashboard.json", llm::spec().build(opts)),
    ]
}

/// Writes the five dashboards into `dir` (created if needed) with default
/// options; returns their paths.
pub fn create_dashboards(dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
    create_dashboards_with(dir, &DashboardOptions::default())
}

/// [`create_dashboards`] with explicit options.
pub fn create_dashboards_with(
    dir: impl AsRef<Path>,
    opts: &DashboardOptions,
) -> Result<Vec<PathBuf>> {
    let dir = dir.as_ref();
    dashboards(opts)
        .into_iter()
        .map(|(name, d)| {
            let path = dir.join(name);
            write_file(&path, &to_json(&d))?;
            Ok(path)
        })
        .collect()
}

/// Writes `files` (paths relative to `dir`, created if needed); returns the
/// paths written.
pub(crate) fn write_files(dir: &Path, files: Vec<(PathBuf, String)>) -> Result<Vec<PathBuf>> {
    files
        .into_iter()
        .map(|(rel, contents)| {
            let path = dir.join(rel);
            write_file(&path, &contents)?;
            Ok(path)
        })
        .collect()
}

/// Pretty JSON with a trailing newline (stable, diff-friendly).
pub(crate) fn to_json(d: &Dashboard) -> String {
    // Serializing the model (strings, numbers, JSON values) cannot fail.
    let mut s = serde_json::to_string_pretty(d).unwrap_or_default();
    s.push('\n');
    s
}

/// Writes `contents` to `path`, creating parent directories; errors name the path.
pub(crate) fn write_file(path: &Path, contents: &str) -> Result<()> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, contents).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::catalog;

    /// Metric names a PromQL expression refers to (identifiers followed by `{`).
    fn metric_names(expr: &str) -> Vec<String> {
        let mut out = Vec::new();
        let b = expr.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i].is_ascii_alphabetic() || b[i] == b'_' {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':')
                {
                    i += 1;
                }
                if b.get(i) == Some(&b'{') {
                    out.push(expr[start..i].to_string());
                }
            } else {
                i += 1;
            }
        }
        out
    }

    fn base_name(series: &str) -> &str {
        ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| series.strip_suffix(s))
            .unwrap_or(series)
    }

    #[test]
    fn every_query_uses_catalogued_metrics_and_the_variables() {
        let known: Vec<&str> = catalog::ALL.iter().map(|d| d.name).collect();
        for (file, d) in dashboards(&DashboardOptions::default()) {
            assert!(d.schema_version >= 41, "{file}");
            assert!(!d.panels.is_empty(), "{file}");
            for (panel, t) in d.targets() {
                let names = metric_names(&t.expr);
                assert!(
                    !names.is_empty(),
                    "{file} / {}: no metric in {}",
                    panel.title,
                    t.expr
                );
                for n in names {
                    assert!(
                        known.contains(&base_name(&n)),
                        "{file} / {}: unknown metric {n}",
                        panel.title
                    );
                }
                assert!(
                    t.expr.contains(r#"job=~"$job", instance=~"$instance""#),
                    "{}",
                    t.expr
                );
                assert!(!t.expr.contains("$sel"), "{}", t.expr);
                if t.expr.contains("rate(") {
                    assert!(t.expr.contains("[$__rate_interval]"), "{}", t.expr);
                }
                if t.expr.contains("histogram_quantile") {
                    assert!(t.expr.contains("sum by (le"), "{}", t.expr);
                    assert!(t.expr.contains("_bucket{"), "{}", t.expr);
                }
            }
        }
    }

    #[test]
    fn panels_have_units_descriptions_and_do_not_overlap() {
        for (file, d) in dashboards(&DashboardOptions::default()) {
            let mut cells = std::collections::HashSet::new();
            let mut ids = std::collections::HashSet::new();
            for p in &d.panels {
                assert!(ids.insert(p.id), "{file}: duplicate id {}", p.id);
                assert!(!p.description.is_empty(), "{file} / {}", p.title);
                let fc = p.field_config.as_ref().expect("field config");
                assert!(!fc.defaults.unit.is_empty(), "{file} / {}", p.title);
                assert!(p.grid_pos.x + p.grid_pos.w <= 24, "{file} / {}", p.title);
                for x in p.grid_pos.x..p.grid_pos.x + p.grid_pos.w {
                    for y in p.grid_pos.y..p.grid_pos.y + p.grid_pos.h {
                        assert!(cells.insert((x, y)), "{file} / {} overlaps", p.title);
                    }
                }
                if p.kind != "timeseries" {
                    assert!(
                        fc.defaults.thresholds.steps.len() > 1 || p.kind == "stat",
                        "{}",
                        p.title
                    );
                }
            }
        }
    }

    #[test]
    fn dashboard_links_carry_every_field_grafana_requires() {
        // Grafana's dashboard schema marks these DashboardLink fields required.
        const REQUIRED: [&str; 10] = [
            "title",
            "type",
            "icon",
            "tooltip",
            "url",
            "tags",
            "asDropdown",
            "targetBlank",
            "includeVars",
            "keepTime",
        ];
        for (file, d) in dashboards(&DashboardOptions::default()) {
            let json = serde_json::to_value(&d).unwrap();
            let links = json["links"].as_array().unwrap();
            assert!(!links.is_empty(), "{file}");
            for link in links {
                for key in REQUIRED {
                    assert!(link.get(key).is_some(), "{file}: link lacks {key}: {link}");
                }
            }
        }
    }

    #[test]
    fn latency_panels_ask_for_exemplars_and_link_to_traces() {
        for (file, d) in dashboards(&DashboardOptions::default()) {
            for (panel, t) in d.targets() {
                if t.expr.contains("histogram_quantile")
                    && panel
                        .field_config
                        .as_ref()
                        .is_some_and(|f| f.defaults.unit == "s")
                    && panel.kind == "timeseries"
                    && !panel.title.contains("review")
                {
                    assert!(t.exemplar, "{file} / {}", panel.title);
                    let links = &panel.field_config.as_ref().unwrap().defaults.links;
                    assert_eq!(links.len(), 1, "{file} / {}", panel.title);
                }
            }
        }
        let none = DashboardOptions {
            trace_search_url: None,
        };
        for (_, d) in dashboards(&none) {
            assert!(d.panels.iter().all(|p| p
                .field_config
                .as_ref()
                .unwrap()
                .defaults
                .links
                .is_empty()));
        }
    }

    #[test]
    fn json_round_trips_and_uids_are_stable_and_unique() {
        let all = dashboards(&DashboardOptions::default());
        let uids: std::collections::HashSet<_> = all.iter().map(|(_, d)| d.uid.clone()).collect();
        assert_eq!(uids.len(), 5);
        for (_, d) in &all {
            let json = to_json(d);
            let back: Dashboard = serde_json::from_str(&json).unwrap();
            assert_eq!(&back, d);
            let v: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(v["__inputs"][0]["name"], "DS_PROMETHEUS");
            assert!(v["id"].is_null());
            assert_eq!(v["templating"]["list"][0]["type"], "datasource");
        }
        assert_eq!(all, dashboards(&DashboardOptions::default()));
    }

    #[test]
    fn unwritable_directory_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, "x").unwrap();
        let err = create_dashboards(file.join("sub")).unwrap_err();
        assert!(err.to_string().contains("a-file"), "{err}");
    }
}
