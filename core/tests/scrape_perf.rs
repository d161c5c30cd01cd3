//! Measurements (ignored by default; they print figures and check only loose sanity bounds).
//! Run in release: `cargo test --release -p kubemetrics --test scrape_perf -- --ignored --nocapture --test-threads=1`.
//! `KM_PERF_NODES` sets the fleet size (default 10000), `KM_PERF_STORE_NODES` the store's (20000).

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kubemetrics::scrape::Parser;
use kubemetrics::scrape::{ContainerSample, NodeSample, NodeScrapeBuilder};
use kubemetrics::store::{MetricsStore, StoreConfig};
use kubemetrics::testkit::simulate::{Fleet, FleetConfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    kb / 1024.0
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn bench_parse(name: &str, body: &[u8]) {
    let lines = body.iter().filter(|&&b| b == b'\n').count();
    let mut parser = Parser::default();
    let containers = parser.parse(body, 0).expect("parses").len();
    let iterations = (200_000_000 / body.len()).max(10);
    let start = Instant::now();
    for _ in 0..iterations {
        std::hint::black_box(parser.parse(std::hint::black_box(body), 0).expect("parses"));
    }
    let per = start.elapsed() / iterations as u32;
    println!(
        "parse {name}: {} bytes, {lines} lines, {containers} containers: {:.1} us/body, {:.0} ns/line, {:.0} MB/s",
        body.len(),
        per.as_secs_f64() * 1e6,
        per.as_secs_f64() * 1e9 / lines as f64,
        body.len() as f64 / per.as_secs_f64() / 1e6
    );
}

#[test]
#[ignore]
fn parser_throughput() {
    let fixture =
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/kubelet/metrics-resource-kind-70pods.prom")).expect("fixture");
    bench_parse("kind 70-pod fixture", &fixture);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let body = rt.block_on(async {
        let fleet = Fleet::start(FleetConfig { nodes: 1, pods_per_node: 30, containers_per_pod: 2, ..FleetConfig::default() }).await.expect("fleet");
        let body = fleet.render_metrics_resource(&fleet.node_names()[0]).expect("render");
        fleet.shutdown().await;
        body
    });
    bench_parse("simulated 1.29 node, 30 pods x 2 containers", &body);
}

fn synthetic(node: usize, round: i64, containers: usize) -> kubemetrics::scrape::NodeScrape {
    let ts = 1_700_000_000_000_000_000 + round * 15_000_000_000;
    let mut b = NodeScrapeBuilder::new();
    b.set_node(NodeSample { cpu_ns: 1_000_000_000_000 + round as u64 * 3_000_000_000, memory_bytes: 8 << 30, swap_bytes: None, timestamp_ns: ts });
    for c in 0..containers {
        let pod = format!("app-{node:05}-{:03}-x7k2p", c / 2);
        let sample = ContainerSample {
            cpu_ns: 5_000_000_000 + (round as u64) * (c as u64 + 1) * 10_000_000,
            memory_bytes: 100 << 20,
            swap_bytes: Some(0),
            start_time_ns: Some(1_690_000_000_000_000_000),
            timestamp_ns: ts,
        };
        b.push_container(["default", "web", "batch", "monitoring"][(c / 2) % 4], &pod, ["app", "sidecar"][c % 2], sample, 0);
    }
    b.build()
}

#[test]
#[ignore]
fn store_at_scale() {
    let nodes = env_usize("KM_PERF_STORE_NODES", 20_000);
    let containers = 60;
    let rss0 = rss_mib();
    let mut store = MetricsStore::new(StoreConfig::default());
    let at = |round: i64| kubemetrics::scrape::to_timestamp(1_700_000_000_000_000_000 + round * 15_000_000_000 + 1_000_000_000);
    for round in 0..3 {
        // Build scrapes outside the timed part (they come from parsing in real life).
        let scrapes: Vec<_> = (0..nodes).map(|n| synthetic(n, round, containers)).collect();
        let start = Instant::now();
        for (n, s) in scrapes.iter().enumerate() {
            store.store(&format!("node-{n:05}"), s, at(round));
        }
        let took = start.elapsed();
        println!(
            "store round {round}: {nodes} nodes x {containers} containers in {:.0} ms ({:.0} ns/series)",
            took.as_secs_f64() * 1e3,
            took.as_secs_f64() * 1e9 / (nodes * containers) as f64
        );
    }
    let stats = store.stats();
    println!(
        "store stats: {stats:?}; memory estimate {:.0} MiB; RSS grew {:.0} MiB (includes the last round's scrapes)",
        store.memory_estimate() as f64 / 1048576.0,
        rss_mib() - rss0
    );
    let start = Instant::now();
    let node_metrics = store.node_metrics(None, at(2));
    println!("node_metrics(all): {} in {:.1} ms", node_metrics.len(), start.elapsed().as_secs_f64() * 1e3);
    let start = Instant::now();
    let pods = store.pod_metrics(None, at(2));
    println!("pod_metrics(all): {} in {:.0} ms", pods.len(), start.elapsed().as_secs_f64() * 1e3);
    let start = Instant::now();
    let mut visited = 0usize;
    store.visit_pods(None, at(2), |p| visited += p.containers().count());
    println!("visit_pods(all): {visited} containers in {:.0} ms", start.elapsed().as_secs_f64() * 1e3);
    let start = Instant::now();
    let web = store.pod_metrics(Some("web"), at(2));
    println!("pod_metrics(web): {} in {:.0} ms", web.len(), start.elapsed().as_secs_f64() * 1e3);
    let start = Instant::now();
    let one = store.pod_metric("default", "app-00042-000-x7k2p", at(2));
    println!("pod_metric(one): {:?} in {:.1} ms", one.map(|p| p.containers.len()), start.elapsed().as_secs_f64() * 1e3);
    assert_eq!(node_metrics.len(), nodes);
    assert_eq!(pods.len(), nodes * containers / 2);
}

#[test]
#[ignore]
fn fleet_at_scale() {
    let nodes = env_usize("KM_PERF_NODES", 10_000);
    let pods = env_usize("KM_PERF_PODS", 30);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        let rss0 = rss_mib();
        let start = Instant::now();
        let fleet = Fleet::start(FleetConfig { nodes, pods_per_node: pods, containers_per_pod: 1, ..FleetConfig::default() }).await.expect("fleet");
        println!("fleet: {nodes} nodes x {pods} pods bound in {:.1} s; RSS {:.0} MiB (+{:.0} MiB)", start.elapsed().as_secs_f64(), rss_mib(), rss_mib() - rss0);
        let client: Arc<Client<_, Empty<Bytes>>> = Arc::new(Client::builder(TokioExecutor::new()).pool_max_idle_per_host(0).build_http());
        for round in 0..2 {
            let start = Instant::now();
            let addrs = fleet.addrs();
            let sem = Arc::new(tokio::sync::Semaphore::new(64));
            let mut tasks = tokio::task::JoinSet::new();
            for (_, addr) in addrs {
                let client = client.clone();
                let permit = sem.clone().acquire_owned().await.expect("semaphore");
                tasks.spawn(async move {
                    let _permit = permit;
                    let uri: http::Uri = format!("http://{addr}/metrics/resource").parse().expect("uri");
                    let resp = tokio::time::timeout(Duration::from_secs(30), client.get(uri)).await.expect("in time").expect("response");
                    let body = resp.into_body().collect().await.expect("body").to_bytes();
                    let scrape = Parser::default().parse(&body, 0).expect("parses");
                    (body.len(), scrape.len())
                });
            }
            let (mut bytes, mut containers) = (0usize, 0usize);
            while let Some(r) = tasks.join_next().await {
                let (b, c) = r.expect("task");
                bytes += b;
                containers += c;
            }
            let took = start.elapsed();
            println!(
                "scrape round {round}: {nodes} nodes, {containers} containers, {:.0} MB in {:.2} s ({:.0} nodes/s, client and servers sharing 2 cores); RSS {:.0} MiB",
                bytes as f64 / 1e6,
                took.as_secs_f64(),
                nodes as f64 / took.as_secs_f64(),
                rss_mib()
            );
            assert_eq!(containers, nodes * pods);
        }
        fleet.shutdown().await;
    });
}
