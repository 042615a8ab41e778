//! The `megaobs` command: the metric catalogue, Grafana dashboards,
//! Prometheus rules and the docker-compose observability stack.
//!
//! ```text
//! megaobs metrics [--format markdown|names]
//! megaobs dashboards --out DIR
//! megaobs rules --out FILE
//! megaobs stack --out DIR [--target HOST:PORT] [--job NAME] [--scrape-interval 15s]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use megaobs::dashboards::k8s::{write_k8s, K8sOptions};
use megaobs::dashboards::rules::{rules, RulesOptions};
use megaobs::dashboards::stack::{write_stack, StackOptions};
use megaobs::dashboards::{create_dashboards_with, DashboardOptions};

#[derive(Parser, Debug)]
#[command(
    name = "megaobs",
    version,
    about = "megaobs: MegaAgent Pro observability tooling"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print every metric megaobs exports, with type, labels and meaning.
    Metrics {
        /// Output style.
        #[arg(long, value_enum, default_value_t = Style::Markdown)]
        format: Style,
    },
    /// Write the five Grafana dashboards (cache, api, orchestration, system, llm) as JSON.
    Dashboards {
        /// Directory to write into (created if needed).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        links: LinkArgs,
    },
    /// Write the Prometheus recording and alerting rules (YAML).
    Rules {
        /// File to write (`-` for standard output).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// Write the docker-compose stack: Prometheus, Alertmanager, Grafana, Jaeger, Loki, rules, dashboards.
    Stack {
        /// Directory to write into (created if needed).
        #[arg(long)]
        out: PathBuf,
        /// `host:port` of the service's /metrics as seen from the Prometheus container.
        #[arg(long, default_value = "host.docker.internal:8000")]
        target: String,
        /// Prometheus job name of the service.
        #[arg(long, default_value = "megaagent-pro")]
        job: String,
        /// Scrape and rule evaluation interval.
        #[arg(long, default_value = "15s")]
        scrape_interval: String,
        /// Run the example service inside the stack (built from the Dockerfile)
        /// and scrape it there, instead of a service on the host.
        #[arg(long)]
        example: bool,
        #[command(flatten)]
        links: LinkArgs,
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// Writes Kubernetes manifests into DIR: a PrometheusRule, a ServiceMonitor
    /// (and a PodMonitor in alternatives/), the dashboards as ConfigMaps for
    /// Grafana's sidecar, an OpenTelemetry Collector gateway (load balancing by
    /// trace id in front of tail sampling), and the example service.
    K8s {
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Namespace of every object.
        #[arg(long, default_value = "megaagent")]
        namespace: String,
        /// The service's name (Deployment, Service, Prometheus job).
        #[arg(long, default_value = "megaagent-pro")]
        job: String,
        /// The `release` label the Prometheus Operator selects by.
        #[arg(long, default_value = "kube-prometheus-stack")]
        release: String,
        /// Name of the container port serving /metrics.
        #[arg(long, default_value = "http")]
        port_name: String,
        /// Replicas of the example service.
        #[arg(long, default_value_t = 3)]
        replicas: u32,
        /// The example service's container image.
        #[arg(long, default_value = megaobs::dashboards::k8s::EXAMPLE_IMAGE)]
        image: String,
        /// Where sampled traces go (OTLP/gRPC host:port; https:// for TLS).
        #[arg(
            long,
            default_value = "jaeger-collector.observability.svc.cluster.local:4317"
        )]
        trace_backend: String,
        /// Percent of ordinary traces the tail keeps (errors and slow ones are always kept).
        #[arg(long, default_value_t = 10.0, value_parser = parse_percent)]
        tail_keep_percent: f64,
        /// Traces at least this slow (milliseconds) are always kept.
        #[arg(long, default_value_t = 2000)]
        tail_slow_ms: u64,
        #[command(flatten)]
        links: LinkArgs,
        #[command(flatten)]
        rules: RuleArgs,
    },
}

#[derive(Args, Debug)]
struct LinkArgs {
    /// URL template of the trace search link on latency panels ("none" to omit it).
    #[arg(long, default_value = megaobs::dashboards::DEFAULT_TRACE_SEARCH_URL)]
    trace_url: String,
}

impl LinkArgs {
    fn options(&self) -> DashboardOptions {
        DashboardOptions {
            trace_search_url: (self.trace_url != "none").then(|| self.trace_url.clone()),
        }
    }
}

#[derive(Args, Debug)]
struct RuleArgs {
    /// Base URL of the runbooks; each alert links to `URL#alert-name`.
    #[arg(long)]
    runbook_url: Option<String>,
    /// API availability objective (share of non-5xx responses), between 0 and 1.
    #[arg(long, default_value_t = 0.995, value_parser = parse_ratio)]
    slo: f64,
    /// LLM spend in USD per hour above which the spend alert fires (rate over 15 minutes).
    #[arg(long, default_value_t = 10.0, value_parser = parse_positive)]
    llm_budget_usd_per_hour: f64,
    /// Time-to-first-chunk p95 of streamed LLM calls, in seconds, above which an alert fires.
    #[arg(long, default_value_t = 2.0, value_parser = parse_positive)]
    llm_ttfc_p95_seconds: f64,
}

impl RuleArgs {
    fn options(&self) -> RulesOptions {
        let defaults = RulesOptions::default();
        RulesOptions {
            api_availability_slo: self.slo,
            llm_budget_usd_per_hour: self.llm_budget_usd_per_hour,
            llm_ttfc_p95_seconds: self.llm_ttfc_p95_seconds,
            runbook_base_url: self
                .runbook_url
                .clone()
                .unwrap_or_else(|| defaults.runbook_base_url.clone()),
            ..defaults
        }
    }
}

fn parse_percent(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "{s:?} is not a percentage between 0 and 100 (e.g. 10)"
        )),
    }
}

fn parse_ratio(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        _ => Err(format!("{s:?} is not a ratio between 0 and 1 (e.g. 0.995)")),
    }
}

fn parse_positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a positive number (e.g. 25 or 1.5)")),
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Style {
    /// A Markdown table (as in docs/metrics.md).
    Markdown,
    /// One metric name per line.
    Names,
}

fn run(cli: Cli) -> megaobs::Result<()> {
    match cli.command {
        Command::Metrics { format } => match format {
            Style::Markdown => print!("{}", megaobs::metrics::catalog::markdown_table()),
            Style::Names => {
                for d in megaobs::metrics::catalog::ALL {
                    println!("{}", d.name);
                }
            }
        },
        Command::Dashboards { out, links } => {
            for path in create_dashboards_with(&out, &links.options())? {
                println!("{}", path.display());
            }
        }
        Command::Rules { out, rules: args } => {
            let yaml = rules(&args.options()).to_yaml();
            if out.as_os_str() == "-" {
                print!("{yaml}");
            } else {
                std::fs::write(&out, yaml).map_err(|source| megaobs::Error::Io {
                    path: out.clone(),
                    source,
                })?;
                println!("{}", out.display());
            }
        }
        Command::Stack {
            out,
            target,
            job,
            scrape_interval,
            example,
            links,
            rules: args,
        } => {
            let opts = StackOptions {
                job,
                target,
                scrape_interval,
                dashboards: links.options(),
                rules: args.options(),
                example,
            };
            for path in write_stack(&out, &opts)? {
                println!("{}", path.display());
            }
        }
        Command::K8s {
            out,
            namespace,
            job,
            release,
            port_name,
            replicas,
            image,
            trace_backend,
            tail_keep_percent,
            tail_slow_ms,
            links,
            rules: args,
        } => {
            let opts = K8sOptions {
                namespace,
                job,
                release,
                port_name,
                replicas,
                image,
                trace_backend,
                tail_keep_percent,
                tail_slow_ms,
                dashboards: links.options(),
                rules: args.options(),
            };
            for path in write_k8s(&out, &opts)? {
                println!("{}", path.display());
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("megaobs: {e}");
            ExitCode::FAILURE
        }
    }
}
