//! `kubemetrics loopback-api`: serves the built-in test cluster on 127.0.0.1 until stopped, for
//! the binding test suites and for trying `kubemetrics top` without a cluster.

use kubemetrics::testkit::loopback_api::{LoopbackApiServer, fixtures};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `kubemetrics loopback-api`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Write a kubeconfig pointing at the server to this file.
    #[arg(long)]
    write_kubeconfig: Option<PathBuf>,
    /// Namespace of the kubeconfig context.
    #[arg(long, default_value = "default")]
    namespace: String,
    /// Serve a generated cluster of this many pods (two containers each) instead of the
    /// built-in fixtures, for benchmarks.
    #[arg(long)]
    scale_pods: Option<usize>,
    /// Number of nodes of the generated cluster (with --scale-pods).
    #[arg(long, default_value_t = 100)]
    scale_nodes: usize,
}

/// Serves until Ctrl-C or SIGTERM; prints `serving on http://127.0.0.1:PORT` first.
pub async fn run(args: Args) -> ExitCode {
    let state = match args.scale_pods {
        Some(pods) => fixtures::scaled(args.scale_nodes, pods),
        None => fixtures::varied(),
    };
    let server = match LoopbackApiServer::start_on(SocketAddr::from(([127, 0, 0, 1], args.port)), state).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    if let Some(path) = &args.write_kubeconfig {
        if let Err(e) = std::fs::write(path, server.kubeconfig(&args.namespace)) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::from(1);
        }
    }
    println!("serving on {}", server.url());
    super::wait_for_shutdown().await;
    ExitCode::SUCCESS
}
