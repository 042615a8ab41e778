//! Builders that turn a short panel description into the [`model`](super::model)
//! structs, and lay panels out on Grafana's 24-column grid.

use serde_json::json;

use super::model::*;
use super::DashboardOptions;

/// Stands for the job/instance matchers in a query: `{$sel}` becomes
/// `{job=~"$job", instance=~"$instance"}` (so every panel follows the variables).
const SEL: &str = "$sel";
const SEL_MATCHERS: &str = r#"job=~"$job", instance=~"$instance""#;

/// Grafana's standard colours for threshold steps.
pub(crate) const GREEN: &str = "green";
pub(crate) const YELLOW: &str = "yellow";
pub(crate) const RED: &str = "red";

/// The visualization of a panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Viz {
    TimeSeries,
    Stat,
    Gauge,
}

impl Viz {
    /// Grafana panel plugin id and display name.
    fn plugin(self) -> (&'static str, &'static str) {
        match self {
            Viz::TimeSeries => ("timeseries", "Time series"),
            Viz::Stat => ("stat", "Stat"),
            Viz::Gauge => ("gauge", "Gauge"),
        }
    }
}

/// A panel before layout.
#[derive(Clone, Debug)]
pub(crate) struct PanelSpec {
    viz: Viz,
    title: &'static str,
    description: &'static str,
    unit: &'static str,
    min: Option<f64>,
    max: Option<f64>,
    base_color: &'static str,
    steps: Vec<(f64, &'static str)>,
    queries: Vec<(String, &'static str)>,
    exemplars: bool,
    trace_link: bool,
    width: u32,
}

/// A time series panel.
pub(crate) fn timeseries(title: &'static str, description: &'static str) -> PanelSpec {
    PanelSpec::new(Viz::TimeSeries, title, description, 12)
}

/// A single-value panel coloured by its thresholds.
pub(crate) fn stat(title: &'static str, description: &'static str) -> PanelSpec {
    PanelSpec::new(Viz::Stat, title, description, 6)
}

/// A dial from `min` to `max` coloured by its thresholds.
pub(crate) fn gauge(title: &'static str, description: &'static str) -> PanelSpec {
    PanelSpec::new(Viz::Gauge, title, description, 6)
}

impl PanelSpec {
    fn new(viz: Viz, title: &'static str, description: &'static str, width: u32) -> Self {
        Self {
            viz,
            title,
            description,
            unit: "short",
            min: None,
            max: None,
            base_color: GREEN,
            steps: Vec::new(),
            queries: Vec::new(),
            exemplars: false,
            trace_link: false,
            width,
        }
    }

    /// Grafana unit id.
    pub(crate) fn unit(mut self, unit: &'static str) -> Self {
        self.unit = unit;
        self
    }

    /// Value range (axis or dial).
    pub(crate) fn range(mut self, min: f64, max: f64) -> Self {
        self.min = Some(min);
        self.max = Some(max);
        self
    }

    /// Axis minimum only.
    pub(crate) fn min(mut self, min: f64) -> Self {
        self.min = Some(min);
        self
    }

    /// Threshold colours: `base` below the first step, then each `(from, colour)`.
    pub(crate) fn thresholds(mut self, base: &'static str, steps: &[(f64, &'static str)]) -> Self {
        self.base_color = base;
        self.steps = steps.to_vec();
        self
    }

    /// Adds a PromQL query; `{$sel}` in it stands for the job/instance matchers.
    pub(crate) fn query(mut self, expr: &str, legend: &'static str) -> Self {
        self.queries.push((expr.replace(SEL, SEL_MATCHERS), legend));
        self
    }

    /// Latency panel: ask for exemplars and link values to the trace search.
    pub(crate) fn traced(mut self) -> Self {
        self.exemplars = true;
        self.trace_link = true;
        self
    }

    /// Width in grid columns (of 24).
    pub(crate) fn width(mut self, width: u32) -> Self {
        self.width = width;
        self
    }

    /// Every panel is 8 rows high: stats and gauges sit in a row of four.
    fn height(&self) -> u32 {
        8
    }

    fn into_panel(self, id: u32, grid_pos: GridPos, opts: &DashboardOptions) -> Panel {
        let ds = DataSourceRef::prometheus_variable();
        let targets = self
            .queries
            .iter()
            .zip(b'A'..)
            .map(|((expr, legend), ref_id)| Target {
                ref_id: char::from(ref_id).to_string(),
                datasource: ds.clone(),
                expr: expr.clone(),
                legend_format: (*legend).to_string(),
                // Range queries everywhere: stat panels draw a sparkline and show
                // the last non-null value, so a sparse ratio keeps its latest number.
                range: true,
                instant: false,
                exemplar: self.exemplars,
                editor_mode: "code".into(),
            })
            .collect();
        let mut steps = vec![ThresholdStep {
            color: self.base_color.into(),
            value: None,
        }];
        steps.extend(self.steps.iter().map(|&(v, c)| ThresholdStep {
            color: c.into(),
            value: Some(v),
        }));
        let links = match (&opts.trace_search_url, self.trace_link) {
            (Some(url), true) => vec![DataLink {
                title: "Traces in this time range".into(),
                url: url.clone(),
                target_blank: true,
            }],
            _ => Vec::new(),
        };
        let has_thresholds = !self.steps.is_empty();
        let (custom, options, color) = match self.viz {
            Viz::TimeSeries => (
                json!({
                    "drawStyle": "line",
                    "lineWidth": 1,
                    "fillOpacity": 10,
                    "gradientMode": "none",
                    "showPoints": "never",
                    "spanNulls": false,
                    "axisSoftMin": 0,
                    "thresholdsStyle": { "mode": if has_thresholds { "line" } else { "off" } }
                }),
                json!({
                    "legend": { "displayMode": "list", "placement": "bottom", "showLegend": true, "calcs": [] },
                    "tooltip": { "mode": "multi", "sort": "desc" }
                }),
                "palette-classic",
            ),
            Viz::Stat => (
                serde_json::Value::Null,
                json!({
                    "reduceOptions": { "calcs": ["lastNotNull"], "fields": "", "values": false },
                    "colorMode": "background",
                    "graphMode": "area",
                    "justifyMode": "auto",
                    "orientation": "auto",
                    "textMode": "auto",
                    "wideLayout": true,
                    "showPercentChange": false
                }),
                "thresholds",
            ),
            Viz::Gauge => (
                serde_json::Value::Null,
                json!({
                    "reduceOptions": { "calcs": ["lastNotNull"], "fields": "", "values": false },
                    "orientation": "auto",
                    "showThresholdLabels": false,
                    "showThresholdMarkers": true,
                    "sizing": "auto",
                    "minVizHeight": 75,
                    "minVizWidth": 75
                }),
                "thresholds",
            ),
        };
        Panel {
            id,
            kind: self.viz.plugin().0.into(),
            title: self.title.into(),
            description: self.description.into(),
            datasource: Some(ds),
            grid_pos,
            field_config: Some(FieldConfig {
                defaults: FieldDefaults {
                    unit: self.unit.into(),
                    min: self.min,
                    max: self.max,
                    decimals: None,
                    color: ColorScheme { mode: color.into() },
                    thresholds: Thresholds {
                        mode: "absolute".into(),
                        steps,
                    },
                    links,
                    custom,
                },
                overrides: Vec::new(),
            }),
            options,
            targets,
            collapsed: None,
        }
    }
}

/// A dashboard before layout.
pub(crate) struct DashboardSpec {
    pub(crate) uid: &'static str,
    pub(crate) title: &'static str,
    pub(crate) panels: Vec<PanelSpec>,
}

/// Metric whose `job`/`instance` labels feed the variables: an unlabeled
/// gauge every megaobs service exports from its first scrape.
const ANCHOR_METRIC: &str = "workflow_human_reviews_pending";

impl DashboardSpec {
    /// Lays the panels out left to right, wrapping at 24 columns, and fills in
    /// the dashboard-wide parts (variables, import input, links, tags).
    pub(crate) fn build(self, opts: &DashboardOptions) -> Dashboard {
        let mut panels = Vec::with_capacity(self.panels.len());
        let (mut x, mut y, mut row_h) = (0u32, 0u32, 0u32);
        let mut kinds: Vec<Viz> = Vec::new();
        for (i, spec) in self.panels.into_iter().enumerate() {
            let (w, h) = (spec.width.min(24), spec.height());
            if x + w > 24 {
                x = 0;
                y += row_h;
                row_h = 0;
            }
            let id = u32::try_from(i).unwrap_or(u32::MAX - 1) + 1;
            if !kinds.contains(&spec.viz) {
                kinds.push(spec.viz);
            }
            panels.push(spec.into_panel(id, GridPos { h, w, x, y }, opts));
            x += w;
            row_h = row_h.max(h);
        }
        let ds = DataSourceRef::prometheus_variable();
        let label_query = |q: String| json!({ "query": q, "refId": "PrometheusVariableQueryEditor-VariableQuery", "qryType": 1 });
        let job_q = format!("label_values({ANCHOR_METRIC}, job)");
        let inst_q = format!("label_values({ANCHOR_METRIC}{{job=~\"$job\"}}, instance)");
        let query_var = |name: &str, label: &str, q: String| Variable {
            name: name.into(),
            label: label.into(),
            kind: "query".into(),
            query: label_query(q.clone()),
            definition: q,
            datasource: Some(ds.clone()),
            refresh: 2,
            include_all: true,
            all_value: Some(".*".into()),
            multi: true,
            sort: 1,
            regex: String::new(),
            hide: 0,
            current: json!({ "selected": true, "text": ["All"], "value": ["$__all"] }),
            options: Vec::new(),
        };
        let mut requires = vec![
            Requirement {
                kind: "grafana".into(),
                id: "grafana".into(),
                name: "Grafana".into(),
                version: "11.0.0".into(),
            },
            Requirement {
                kind: "datasource".into(),
                id: "prometheus".into(),
                name: "Prometheus".into(),
                version: "1.0.0".into(),
            },
        ];
        requires.extend(kinds.iter().map(|k| Requirement {
            kind: "panel".into(),
            id: k.plugin().0.into(),
            name: k.plugin().1.into(),
            version: String::new(),
        }));
        Dashboard {
            inputs: vec![Input {
                name: DS_INPUT.into(),
                label: "Prometheus".into(),
                description: "The Prometheus that scrapes the service's /metrics".into(),
                kind: "datasource".into(),
                plugin_id: "prometheus".into(),
                plugin_name: "Prometheus".into(),
            }],
            requires,
            annotations: Annotations {
                list: vec![Annotation {
                    built_in: 1,
                    datasource: DataSourceRef {
                        kind: "grafana".into(),
                        uid: "-- Grafana --".into(),
                    },
                    enable: true,
                    hide: true,
                    icon_color: "rgba(0, 211, 255, 1)".into(),
                    name: "Annotations & Alerts".into(),
                    kind: "dashboard".into(),
                }],
            },
            editable: true,
            graph_tooltip: 1,
            id: None,
            links: vec![DashboardLink {
                title: "MegaAgent Pro dashboards".into(),
                kind: "dashboards".into(),
                tags: vec!["megaobs".into()],
                as_dropdown: true,
                keep_time: true,
                include_vars: true,
                url: String::new(),
                icon: "external link".into(),
                tooltip: "The other MegaAgent Pro dashboards".into(),
                target_blank: false,
            }],
            panels,
            refresh: "30s".into(),
            schema_version: SCHEMA_VERSION,
            tags: vec!["megaobs".into(), "megaagent".into()],
            templating: Templating {
                list: vec![
                    Variable {
                        name: "datasource".into(),
                        label: "Data source".into(),
                        kind: "datasource".into(),
                        query: json!("prometheus"),
                        definition: String::new(),
                        datasource: None,
                        refresh: 1,
                        include_all: false,
                        all_value: None,
                        multi: false,
                        sort: 0,
                        regex: String::new(),
                        hide: 0,
                        current: json!({ "text": "Prometheus", "value": format!("${{{DS_INPUT}}}") }),
                        options: Vec::new(),
                    },
                    query_var("job", "Job", job_q),
                    query_var("instance", "Instance", inst_q),
                ],
            },
            time: TimeRange {
                from: "now-1h".into(),
                to: "now".into(),
            },
            timezone: "browser".into(),
            title: self.title.into(),
            uid: self.uid.into(),
            version: 1,
        }
    }
}
