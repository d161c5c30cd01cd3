//! The `kubemetrics` command: `top`, `quantity`, `serve`, `simulate`, `demo`.

mod commands;
mod connection;
mod flags;
mod output;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[cfg(all(unix, not(target_env = "musl"), feature = "jemalloc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
    /// Display resource (CPU/memory) usage of nodes or pods, exactly as kubectl top does.
    Top(commands::top::Args),
    /// A simulated cluster on loopback, the metrics server and top, refreshing (no cluster needed).
    Demo(commands::demo::Args),
    /// Read custom and external metrics (custom.metrics.k8s.io, external.metrics.k8s.io).
    Get(commands::get::Args),
    /// Run the standalone metrics server (a drop-in metrics-server; accepts its flags).
    // A flag given twice takes its last value, as pflag does (lists append).
    #[command(args_override_self = true)]
    Serve(Box<commands::serve::Args>),
    /// Run simulated kubelets on 127.0.0.1 (for tests and benchmarks).
    Simulate(commands::simulate::Args),
    /// Serve a built-in test cluster (Kubernetes API subset + metrics.k8s.io) on 127.0.0.1.
    LoopbackApi(commands::loopback_api::Args),
}

fn main() -> ExitCode {
    output::install_panic_hook();
    let args: Vec<String> = std::env::args().collect();
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return parse_failure(&e),
    };
    match cli.command {
        Command::Quantity(args) => commands::quantity::run(args),
        Command::Top(args) => runtime().block_on(commands::top::run(args)),
        Command::Demo(args) => runtime().block_on(commands::demo::run(args)),
        Command::Get(args) => runtime().block_on(commands::get::run(args)),
        Command::Serve(args) => runtime().block_on(commands::serve::run(*args)),
        Command::Simulate(args) => runtime().block_on(commands::simulate::run(args)),
        Command::LoopbackApi(args) => runtime().block_on(commands::loopback_api::run(args)),
    }
}

/// Help, version, or a command line clap refused: printed as clap prints it (kubectl's one-line
/// `error: ...` and status 1 for the values it refuses that way, see [`flags::Rejected`]).
fn parse_failure(e: &clap::Error) -> ExitCode {
    if let Some(rejected) = flags::rejected(e) {
        output::eprint(&format!("error: {rejected}\n"));
        return ExitCode::from(1);
    }
    let printed = e.print().and_then(|()| std::io::Write::flush(&mut std::io::stdout()));
    if printed.is_err_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) {
        output::exit_broken_pipe();
    }
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            output::eprint(&format!("error: cannot start the async runtime: {e}\n"));
            std::process::exit(1);
        }
    }
}
