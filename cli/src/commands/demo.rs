//! `kubemetrics demo`: a simulated cluster on loopback — kubelets, the metrics server, an API
//! server — and `top node` / `top pod -A` refreshing, until Ctrl-C. Needs nothing installed.

use kubemetrics::collector::{AddressOptions, Collector, CollectorOptions, Inventory, KubeletOptions, NodeTarget};
use kubemetrics::server::{AuthOptions, MetricsProvider, MetricsServer, ServerMetrics, ServerOptions, ServingCert};
use kubemetrics::testkit::loopback_api::{ClusterState, LoopbackApiServer, MetricsSource};
use kubemetrics::testkit::simulate::{Fleet, FleetConfig};
use kubemetrics::top::{self, SortBy, TopNodeOptions, TopPodOptions};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn duration(s: &str) -> Result<Duration, String> {
    s.parse::<kubemetrics::GoDuration>().map(|d| d.to_std()).map_err(|e| e.to_string())
}

/// Flags of `kubemetrics demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of simulated nodes (kubelets on 127.0.0.1).
    #[arg(long, default_value_t = 4)]
    nodes: usize,
    /// Pods per node.
    #[arg(long, default_value_t = 5)]
    pods_per_node: usize,
    /// Scrape resolution of the metrics server.
    #[arg(long, default_value = "5s", value_parser = duration)]
    resolution: Duration,
    /// Screen refresh interval.
    #[arg(long, default_value = "2s", value_parser = duration)]
    interval: Duration,
    /// Print one screen as soon as metrics are ready, then exit (for scripts and CI).
    #[arg(long)]
    once: bool,
    /// Sort pods by cpu or memory (kubectl's --sort-by).
    #[arg(long, default_value = "cpu")]
    sort_by: String,
}

/// Runs the demo.
pub async fn run(args: Args) -> ExitCode {
    super::exit_code(demo(args).await)
}

async fn demo(args: Args) -> kubemetrics::Result<()> {
    super::init_logging(0);
    let sort_by: SortBy = args.sort_by.parse()?;
    eprintln!("starting {} simulated kubelets with {} pods each on 127.0.0.1 ...", args.nodes, args.pods_per_node);
    let fleet = Fleet::start(FleetConfig {
        nodes: args.nodes,
        pods_per_node: args.pods_per_node,
        containers_per_pod: 2,
        node_name_prefix: "demo-node-".into(),
        ..Default::default()
    })
    .await?;
    let nodes = fleet.nodes();
    let pods = fleet.pods();
    let inventory = Inventory::new();
    let address = AddressOptions { preferred_types: vec!["InternalIP".into()], port: 10250, use_node_status_port: true };
    inventory.replace_nodes(nodes.iter().map(|n| NodeTarget::from_node(n, &address)));
    inventory.replace_pods(pods.iter().map(|p| {
        let m = &p.metadata;
        ((m.namespace.clone().unwrap_or_default(), m.name.clone().unwrap_or_default()), m.labels.clone().unwrap_or_default())
    }));
    let stats = Arc::new(ServerMetrics::default());
    let collector = Collector::new(
        CollectorOptions {
            resolution: args.resolution,
            kubelet: KubeletOptions { scheme: "http".into(), request_timeout: Duration::from_secs(3), ..Default::default() },
            ..Default::default()
        },
        inventory,
        stats.clone(),
    )?;
    tokio::spawn(collector.clone().run());

    let cert_dir = std::env::temp_dir().join(format!("kubemetrics-demo-{}", std::process::id()));
    let server = MetricsServer::start(
        ServerOptions {
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            serving: ServingCert::SelfSigned { dir: cert_dir.clone(), names: vec!["localhost".into(), "127.0.0.1".into()] },
            auth: AuthOptions { always_allow_paths: vec!["/healthz".into(), "/readyz".into(), "/livez".into()], ..Default::default() },
            max_requests_inflight: 400,
            request_timeout: Duration::from_secs(60),
            tls: Default::default(),
            http: Default::default(),
        },
        Arc::new(collector.clone()),
        stats,
        None,
    )
    .await?;
    let api = LoopbackApiServer::start(ClusterState {
        nodes,
        pods,
        metrics_api: true,
        metrics_source: Some(MetricsSource(Arc::new(collector.clone()))),
        ..Default::default()
    })
    .await?;
    let kubeconfig = cert_dir.join("kubeconfig");
    std::fs::write(&kubeconfig, api.kubeconfig("default"))
        .map_err(|e| kubemetrics::Error::new(kubemetrics::ErrorKind::Io, format!("{}: {e}", kubeconfig.display())))?;
    let client = kubemetrics::Client::from_kubeconfig(Some(&kubeconfig), None).await?;

    eprintln!("metrics server on https://{} (readyz after the first full scrape); API server on {}", server.addr(), api.url());
    eprintln!("try it with real kubectl meanwhile: kubectl --kubeconfig {} top pod -A", kubeconfig.display());
    let started = Instant::now();
    let mut ticks = 0u64;
    loop {
        let snapshot = collector.snapshot();
        let complete = snapshot.nodes.len() == fleet.len() || started.elapsed() > args.resolution * 3;
        let ready = collector.storage_ready() && !snapshot.pods.is_empty() && complete;
        if ready {
            let screen = render(&client, sort_by, &fleet, server.addr(), &kubeconfig, started.elapsed()).await?;
            if !args.once {
                print!("\x1b[H\x1b[2J");
            }
            print!("{screen}");
            if args.once {
                break;
            }
            // Keep the numbers moving: one container changes its usage now and then.
            ticks += 1;
            if ticks % 3 == 0 {
                if let Some(n) = fleet.inventory().first() {
                    if let Some(p) = n.pods.get((ticks / 3) as usize % n.pods.len().max(1)) {
                        if let Some(c) = p.containers.first() {
                            let _ = fleet.set_usage(&n.name, &p.namespace, &p.name, &c.name, (c.cpu_millicores * 3 / 2 + 50) % 1500, c.memory_bytes);
                        }
                    }
                }
            }
        } else if started.elapsed() > Duration::from_secs(120) {
            return Err(kubemetrics::Error::new(
                kubemetrics::ErrorKind::Internal,
                "no metrics after 2 minutes; run with RUST_LOG=kubemetrics=debug to see why",
            ));
        }
        let wait = if ready { args.interval } else { Duration::from_millis(250) };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = super::wait_for_shutdown() => break,
        }
    }
    server.shutdown();
    let _ = std::fs::remove_dir_all(&cert_dir);
    Ok(())
}

async fn render(
    client: &kubemetrics::Client,
    sort_by: SortBy,
    fleet: &Fleet,
    server: SocketAddr,
    kubeconfig: &std::path::Path,
    uptime: Duration,
) -> kubemetrics::Result<String> {
    let nodes = client.top_nodes(&TopNodeOptions { sort_by: SortBy::Name, ..Default::default() }).await?;
    let pods = client.top_pods(&TopPodOptions { all_namespaces: true, sort_by, sum: true, ..Default::default() }).await?;
    let mut out = format!(
        "kubemetrics demo — {} simulated kubelets on 127.0.0.1, metrics server https://{server}, up {}s (Ctrl-C to stop)\n\
         kubectl works too: kubectl --kubeconfig {} top node\n\n$ kubemetrics top node\n",
        fleet.len(),
        uptime.as_secs(),
        kubeconfig.display()
    );
    out += &top::render_nodes(&nodes, false);
    out += &format!(
        "\n$ kubemetrics top pod -A --sort-by={} --sum\n",
        match sort_by {
            SortBy::Memory => "memory",
            _ => "cpu",
        }
    );
    out += &top::render_pods(&pods, false, false, true);
    Ok(out)
}
