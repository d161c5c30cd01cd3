//! `kubemetrics simulate`: a simulated kubelet fleet on 127.0.0.1 as its own process, with a
//! loopback control endpoint (inventory, usage changes, pods, faults) for tests and benchmarks.

use std::process::ExitCode;

/// Flags of `kubemetrics simulate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of simulated nodes.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Pods per node.
    #[arg(long, default_value_t = 10)]
    pods_per_node: usize,
}

/// Runs the fleet until stopped.
pub async fn run(args: Args) -> ExitCode {
    let _ = args;
    eprintln!("error: kubemetrics simulate is not implemented yet");
    ExitCode::from(1)
}
