//! A typed model of Grafana's dashboard JSON: the part of it megaobs generates.
//!
//! Written by hand because no maintained Rust Grafana SDK exists (the
//! grafana-foundation-sdk has no Rust target). Field names follow Grafana's
//! documented dashboard JSON model (`schemaVersion` [`SCHEMA_VERSION`]); every
//! struct serializes to exactly the JSON Grafana exports, so a generated file
//! imports as-is and round-trips through serde.

use serde::{Deserialize, Serialize};

/// The dashboard schema version written into every dashboard (Grafana 12).
pub const SCHEMA_VERSION: u32 = 41;

/// The name of the import input that stands for the Prometheus data source.
pub const DS_INPUT: &str = "DS_PROMETHEUS";

/// A whole dashboard, as in Grafana's "Export → Save to file".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    /// What the import dialog asks for (the Prometheus data source).
    #[serde(rename = "__inputs", default)]
    pub inputs: Vec<Input>,
    /// Plugins and the Grafana version the dashboard needs.
    #[serde(rename = "__requires", default)]
    pub requires: Vec<Requirement>,
    /// Annotation queries (the built-in "Annotations & Alerts").
    pub annotations: Annotations,
    /// Whether users may edit the dashboard in the UI.
    pub editable: bool,
    /// `0`: no shared crosshair, `1`: shared crosshair, `2`: shared tooltip.
    pub graph_tooltip: u8,
    /// Always `null` in exported files: Grafana assigns the database id.
    pub id: Option<u64>,
    /// Links shown at the top of the dashboard.
    #[serde(default)]
    pub links: Vec<DashboardLink>,
    /// The panels, laid out by their [`GridPos`].
    pub panels: Vec<Panel>,
    /// Auto-refresh interval, e.g. `"30s"`.
    pub refresh: String,
    /// Dashboard JSON schema version.
    pub schema_version: u32,
    /// Tags used for search and dashboard links.
    pub tags: Vec<String>,
    /// Template variables.
    pub templating: Templating,
    /// Default time range.
    pub time: TimeRange,
    /// `"browser"` or `"utc"`.
    pub timezone: String,
    /// The dashboard title.
    pub title: String,
    /// Stable identifier: URLs and provisioning rely on it.
    pub uid: String,
    /// Dashboard version (1 for generated files).
    pub version: u32,
}

impl Dashboard {
    /// Every query of every panel, in panel order.
    pub fn targets(&self) -> impl Iterator<Item = (&Panel, &Target)> {
        self.panels
            .iter()
            .flat_map(|p| p.targets.iter().map(move |t| (p, t)))
    }
}

/// An import input (`__inputs`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    /// Placeholder name, used as `${NAME}` in the dashboard.
    pub name: String,
    /// Label in the import dialog.
    pub label: String,
    /// Help text in the import dialog.
    pub description: String,
    /// `"datasource"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Data source plugin id, e.g. `"prometheus"`.
    pub plugin_id: String,
    /// Data source plugin name.
    pub plugin_name: String,
}

/// A plugin or Grafana version the dashboard needs (`__requires`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Requirement {
    /// `"grafana"`, `"datasource"` or `"panel"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Plugin id.
    pub id: String,
    /// Human name.
    pub name: String,
    /// Minimum version.
    pub version: String,
}

/// The dashboard's annotation queries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Annotations {
    /// The queries.
    pub list: Vec<Annotation>,
}

/// One annotation query.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotation {
    /// `1` for Grafana's built-in annotation query.
    pub built_in: u8,
    /// Where annotations come from.
    pub datasource: DataSourceRef,
    /// Shown by default.
    pub enable: bool,
    /// Hidden from the annotation toggles.
    pub hide: bool,
    /// Marker colour.
    pub icon_color: String,
    /// Toggle name.
    pub name: String,
    /// `"dashboard"` for the built-in query.
    #[serde(rename = "type")]
    pub kind: String,
}

/// A link at the top of the dashboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardLink {
    /// Link text.
    pub title: String,
    /// `"dashboards"` (by tag) or `"link"` (URL).
    #[serde(rename = "type")]
    pub kind: String,
    /// Tags of the dashboards listed (for `"dashboards"`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Show as a dropdown.
    pub as_dropdown: bool,
    /// Carry the time range over.
    pub keep_time: bool,
    /// Carry the template variable values over.
    pub include_vars: bool,
    /// The URL (for `"link"`; empty for `"dashboards"`).
    #[serde(default)]
    pub url: String,
    /// Icon name (`external link`, `dashboard`, `doc`, ...).
    pub icon: String,
    /// Hover text.
    #[serde(default)]
    pub tooltip: String,
    /// Open in a new browser tab.
    pub target_blank: bool,
}

/// A reference to a data source by plugin type and uid (may be a `${variable}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSourceRef {
    /// Plugin id, e.g. `"prometheus"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Data source uid or a variable such as `${datasource}`.
    pub uid: String,
}

impl DataSourceRef {
    /// The dashboard's Prometheus data source, chosen by the `datasource` variable.
    pub fn prometheus_variable() -> Self {
        Self {
            kind: "prometheus".into(),
            uid: "${datasource}".into(),
        }
    }
}

/// Panel position on the 24-column grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridPos {
    /// Height in grid rows (30 px each).
    pub h: u32,
    /// Width in columns (of 24).
    pub w: u32,
    /// Column.
    pub x: u32,
    /// Row.
    pub y: u32,
}

/// One panel: a visualization of one or more queries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Panel {
    /// Unique within the dashboard.
    pub id: u32,
    /// Visualization plugin: `timeseries`, `stat`, `gauge` or `row`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Panel title.
    pub title: String,
    /// What the panel shows and how to read it (the (i) tooltip).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Where the queries run (absent on rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datasource: Option<DataSourceRef>,
    /// Position.
    pub grid_pos: GridPos,
    /// Units, thresholds, colours, links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_config: Option<FieldConfig>,
    /// Visualization-specific options.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub options: serde_json::Value,
    /// The queries.
    #[serde(default)]
    pub targets: Vec<Target>,
    /// For rows: collapsed or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collapsed: Option<bool>,
}

/// One PromQL query of a panel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// `A`, `B`, ... within the panel.
    pub ref_id: String,
    /// Where the query runs.
    pub datasource: DataSourceRef,
    /// The PromQL expression (may use `$job`, `$instance`, `$__rate_interval`).
    pub expr: String,
    /// Series name template, e.g. `{{method}}`.
    pub legend_format: String,
    /// Range query (time series panels).
    pub range: bool,
    /// Instant query (stat and gauge panels).
    pub instant: bool,
    /// Ask Prometheus for exemplars (trace ids) too.
    pub exemplar: bool,
    /// `"code"`: the query editor shows the raw PromQL.
    pub editor_mode: String,
}

/// Field defaults and per-series overrides.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldConfig {
    /// Applied to every field.
    pub defaults: FieldDefaults,
    /// Per-field overrides (unused by megaobs, kept for the schema).
    #[serde(default)]
    pub overrides: Vec<serde_json::Value>,
}

/// Unit, range, colours, thresholds and links of a panel's values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDefaults {
    /// Grafana unit id: `s`, `reqps`, `ops`, `percentunit`, `bytes`, `short`, ...
    pub unit: String,
    /// Axis / gauge minimum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Axis / gauge maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Decimals shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimals: Option<u8>,
    /// Colour scheme.
    pub color: ColorScheme,
    /// Threshold steps.
    pub thresholds: Thresholds,
    /// Data links on values.
    #[serde(default)]
    pub links: Vec<DataLink>,
    /// Visualization-specific field options (line width, fill, threshold style).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub custom: serde_json::Value,
}

/// How values are coloured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColorScheme {
    /// `"palette-classic"` (one colour per series) or `"thresholds"`.
    pub mode: String,
}

/// Threshold steps: the first has no value (from -∞).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// `"absolute"` or `"percentage"`.
    pub mode: String,
    /// Ascending steps.
    pub steps: Vec<ThresholdStep>,
}

/// One threshold step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdStep {
    /// Colour from this value up.
    pub color: String,
    /// Lower bound; `None` (JSON `null`) for the base step.
    pub value: Option<f64>,
}

/// A link on a panel's values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataLink {
    /// Link text.
    pub title: String,
    /// URL template (Grafana variables such as `${__from}` allowed).
    pub url: String,
    /// Open in a new tab.
    pub target_blank: bool,
}

/// The dashboard's template variables.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Templating {
    /// The variables, in display order.
    pub list: Vec<Variable>,
}

/// One template variable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Variable {
    /// Used as `$name` in queries.
    pub name: String,
    /// Shown in the variable bar.
    pub label: String,
    /// `"datasource"` or `"query"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// For `datasource`: the plugin id; for `query`: the PromQL label query.
    pub query: serde_json::Value,
    /// The query text as shown in the editor (query variables).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub definition: String,
    /// Where a query variable runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datasource: Option<DataSourceRef>,
    /// `2`: refresh on time range change; `1`: on load.
    pub refresh: u8,
    /// Offer "All".
    pub include_all: bool,
    /// Value of "All" (a regex matching everything).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_value: Option<String>,
    /// Allow several values.
    pub multi: bool,
    /// `1`: alphabetical ascending.
    pub sort: u8,
    /// Only values matching this regex are offered.
    pub regex: String,
    /// `0`: shown.
    pub hide: u8,
    /// Selected value (Grafana fills it in).
    pub current: serde_json::Value,
    /// Offered values (Grafana fills it in).
    #[serde(default)]
    pub options: Vec<serde_json::Value>,
}

/// The default time range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeRange {
    /// e.g. `"now-1h"`.
    pub from: String,
    /// e.g. `"now"`.
    pub to: String,
}
