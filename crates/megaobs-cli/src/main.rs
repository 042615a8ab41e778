//! The `megaobs` command.
//!
//! Today: `megaobs metrics` prints the catalogue of every exported metric
//! (Markdown table or one name per line). The dashboards, rules and stack
//! subcommands of the design arrive with the dashboards work.

use clap::{Parser, Subcommand, ValueEnum};

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
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Style {
    /// A Markdown table (as in the README).
    Markdown,
    /// One metric name per line.
    Names,
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Metrics { format } => match format {
            Style::Markdown => print!("{}", megaobs::metrics::catalog::markdown_table()),
            Style::Names => {
                for d in megaobs::metrics::catalog::ALL {
                    println!("{}", d.name);
                }
            }
        },
    }
}
