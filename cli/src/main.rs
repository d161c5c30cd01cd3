//! The `kubemetrics` command: `top`, `quantity`, `serve`, `simulate`, `demo`.

mod commands;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Read and serve Kubernetes resource metrics, exactly.
#[derive(Debug, Parser)]
#[command(name = "kubemetrics", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Explain Kubernetes quantities: canonical form, exact milli-units, cores or bytes.
    Quantity(commands::quantity::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Quantity(args) => commands::quantity::run(args),
    }
}
