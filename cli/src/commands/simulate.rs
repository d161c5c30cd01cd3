//! `kubemetrics simulate`: a simulated kubelet fleet on 127.0.0.1 as its own process, with a
//! loopback control endpoint (inventory, usage changes, pods, faults) for tests and benchmarks.
//!
//! The kubelets speak plain HTTP, or HTTPS with `--tls-cert-file`/`--tls-private-key-file`
//! (kubelet's flags); `--client-ca-file` and `--require-token` make them refuse (401) requests
//! without a trusted client certificate or the token, as kubelets with `--anonymous-auth=false`.
//!
//! The first line on stdout is `serving on http://127.0.0.1:PORT`, the control URL. The control
//! API (JSON over plain HTTP/1.1, one request per connection, on 127.0.0.1 only) is the test
//! kit's [`ControlServer`]; its module documents the requests.

use kubemetrics::testkit::simulate::{ControlServer, Fleet, FleetConfig, FleetTls};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Flags of `kubemetrics simulate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of simulated nodes (one kubelet port each on 127.0.0.1).
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Pods per node at start.
    #[arg(long, default_value_t = 10)]
    pods_per_node: usize,
    /// Containers per pod at start.
    #[arg(long, default_value_t = 1)]
    containers_per_pod: usize,
    /// Number of namespaces the initial pods are spread over.
    #[arg(long, default_value_t = 3)]
    namespaces: usize,
    /// Seed of every generated name and number.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Node names are this prefix and a 5-digit index.
    #[arg(long, default_value = "sim-node-")]
    node_name_prefix: String,
    /// Port of the control API on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    control_port: u16,
    /// Serve every simulated kubelet over HTTPS with this PEM certificate (chain), as kubelet's
    /// --tls-cert-file (give it an IP SAN 127.0.0.1).
    #[arg(long, requires = "tls_private_key_file")]
    tls_cert_file: Option<PathBuf>,
    /// PEM private key of --tls-cert-file.
    #[arg(long, requires = "tls_cert_file")]
    tls_private_key_file: Option<PathBuf>,
    /// Authenticate requests by client certificates verified against this PEM CA bundle (kubelet's
    /// --client-ca-file); requests with neither such a certificate nor --require-token's token
    /// get 401, like a kubelet with --anonymous-auth=false.
    #[arg(long, requires = "tls_cert_file")]
    client_ca_file: Option<PathBuf>,
    /// Authenticate requests bearing `Authorization: Bearer TOKEN`; requests with neither this
    /// token nor a trusted client certificate get 401.
    #[arg(long, value_name = "TOKEN")]
    require_token: Option<String>,
    /// Spread the kubelets over this many loopback addresses, 127.0.0.1 to 127.0.0.N (1-254),
    /// each with its own ports: for fleets bigger than one address's free ports. The Node objects'
    /// InternalIP follows.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=254))]
    loopback_addresses: u8,
}

/// Runs the fleet until SIGTERM/Ctrl-C.
pub async fn run(args: Args) -> ExitCode {
    super::init_logging(0);
    super::exit_code(simulate(args).await)
}

async fn simulate(args: Args) -> kubemetrics::Result<()> {
    let config = FleetConfig {
        nodes: args.nodes,
        pods_per_node: args.pods_per_node,
        containers_per_pod: args.containers_per_pod.max(1),
        namespaces: args.namespaces.max(1),
        seed: args.seed,
        node_name_prefix: args.node_name_prefix.clone(),
        tls: args.tls_cert_file.clone().zip(args.tls_private_key_file.clone()).map(|(cert_file, key_file)| FleetTls {
            cert_file,
            key_file,
            client_ca_file: args.client_ca_file.clone(),
        }),
        require_token: args.require_token.clone(),
        loopback_addresses: args.loopback_addresses,
        ..Default::default()
    };
    let fleet = Arc::new(Fleet::start(config).await?);
    let control = ControlServer::start(fleet.clone(), args.control_port).await?;
    // The first stdout line is the control URL (test helpers wait for it).
    println!("serving on {}", control.url());
    let auth = match (&args.client_ca_file, &args.require_token) {
        (None, None) => "",
        (Some(_), None) => ", client certificates required",
        (None, Some(_)) => ", bearer token required",
        (Some(_), Some(_)) => ", client certificate or bearer token required",
    };
    eprintln!(
        "simulating {} kubelets with {} pods each on {} over {}{auth} (ports {})",
        fleet.len(),
        args.pods_per_node,
        match args.loopback_addresses {
            1 => "127.0.0.1".to_string(),
            n => format!("127.0.0.1-127.0.0.{n}"),
        },
        fleet.scheme().to_ascii_uppercase(),
        fleet.addrs().iter().map(|(_, a)| a.port().to_string()).collect::<Vec<_>>().join(",")
    );
    super::wait_for_shutdown().await;
    control.shutdown().await;
    match Arc::try_unwrap(fleet) {
        Ok(fleet) => fleet.shutdown().await,
        Err(fleet) => drop(fleet), // a control request still runs: dropping stops the servers too
    }
    Ok(())
}
