//! End to end over loopback: a simulated fleet, a hyper client, the parser and the store.
//! Every fault mode is observed from the client side.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kubemetrics::scrape::{IssueKind, NodeScrape, decode_summary, parse_metrics_resource};
use kubemetrics::scrape::{ParseOptions, Parser};
use kubemetrics::store::{MetricsStore, StoreConfig};
use kubemetrics::testkit::simulate::{Faults, Fleet, FleetConfig, SimContainer, SimPod};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

async fn get(client: &HttpClient, addr: SocketAddr, path: &str) -> (u16, Vec<u8>) {
    let uri: http::Uri = format!("http://{addr}{path}").parse().expect("uri");
    let resp = client.get(uri).await.expect("request");
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.expect("body").to_bytes().to_vec();
    (status, body)
}

async fn scrape(client: &HttpClient, addr: SocketAddr) -> NodeScrape {
    let (status, body) = get(client, addr, "/metrics/resource").await;
    assert_eq!(status, 200);
    parse_metrics_resource(&body, 0).expect("parses")
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

fn config() -> FleetConfig {
    FleetConfig { nodes: 3, pods_per_node: 4, containers_per_pod: 2, namespaces: 3, seed: 7, ..FleetConfig::default() }
}

#[tokio::test]
async fn three_nodes_serve_what_the_inventory_says() {
    let fleet = Fleet::start(config()).await.expect("fleet");
    let client = client();
    let inventory = fleet.inventory();
    assert_eq!(inventory.len(), 3);
    let mut ports: Vec<u16> = inventory.iter().map(|n| n.addr.port()).collect();
    ports.dedup();
    assert_eq!(ports.len(), 3, "distinct ports");
    for node in &inventory {
        assert!(node.addr.ip().is_loopback(), "{}", node.addr);
        let s = scrape(&client, node.addr).await;
        assert!(s.issues().is_empty(), "{:?}", s.issues());
        assert_eq!(s.len(), 8);
        let ts = s.node().expect("node").timestamp_ns;
        for pod in &node.pods {
            for c in &pod.containers {
                let got = s.container(&pod.namespace, &pod.name, &c.name).expect("container served");
                assert_eq!(got.sample.memory_bytes, c.memory_bytes);
                assert_eq!(got.sample.swap_bytes, Some(0));
                let start = i64::try_from(c.started.as_nanosecond()).expect("fits");
                // Start times travel as float64(UnixNano) / 1e9, exactly as a kubelet computes
                // them, which loses a few hundred nanoseconds.
                let got_start = got.sample.start_time_ns.expect("start time");
                assert!((got_start - start).abs() < 1000, "{got_start} vs {start}");
                // The counter is exactly the rate times the age at the body's timestamp.
                assert_eq!(i128::from(got.sample.cpu_ns), i128::from(c.cpu_millicores) * i128::from(got.sample.timestamp_ns - start) / 1000);
                assert_eq!(got.sample.timestamp_ns, ts);
            }
        }
    }
    // Node and Pod objects for a fake API server.
    let nodes = fleet.nodes();
    assert_eq!(nodes.len(), 3);
    let port = nodes[0].status.as_ref().and_then(|s| s.daemon_endpoints.as_ref()).and_then(|d| d.kubelet_endpoint.as_ref()).map(|e| e.port);
    assert_eq!(port, Some(i32::from(inventory[0].addr.port())));
    let pods = fleet.pods();
    assert_eq!(pods.len(), 12);
    assert!(pods.iter().all(|p| {
        p.spec.as_ref().and_then(|s| s.containers[0].resources.as_ref()).and_then(|r| r.requests.as_ref()).is_some_and(|r| r.contains_key("cpu"))
    }));
    fleet.shutdown().await;
}

#[tokio::test]
async fn explicit_ports_are_used_and_skipped_when_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let fleet = Fleet::start(FleetConfig { nodes: 2, first_port: Some(port), ..config() }).await.expect("fleet");
    let ports: Vec<u16> = fleet.addrs().iter().map(|(_, a)| a.port()).collect();
    assert!(ports[0] > port && ports[1] > ports[0], "{port} {ports:?}");
    let s = scrape(&client(), fleet.addrs()[1].1).await;
    assert_eq!(s.len(), 8);
    fleet.shutdown().await;
}

#[tokio::test]
async fn the_store_recovers_the_configured_rates() {
    let fleet = Fleet::start(config()).await.expect("fleet");
    let client = client();
    let mut store = MetricsStore::new(StoreConfig::default());
    for round in 0..2 {
        if round == 1 {
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
        for (name, addr) in fleet.addrs() {
            let s = scrape(&client, addr).await;
            store.store(&name, &s, now());
        }
    }
    let inventory = fleet.inventory();
    let cfg = fleet.config();
    let nodes = store.node_metrics(None, now());
    assert_eq!(nodes.len(), 3);
    for (m, n) in nodes.iter().zip(&inventory) {
        assert_eq!(m.name(), n.name);
        let expected: u32 = cfg.node_overhead_millicores + n.pods.iter().flat_map(|p| &p.containers).map(|c| c.cpu_millicores).sum::<u32>();
        assert_eq!(m.usage["cpu"].milli_value(), Some(i128::from(expected)), "{}", m.usage["cpu"]);
        assert_eq!(m.usage["cpu"].scaled_value(-9), Some(i128::from(expected) * 1_000_000), "exact");
        assert!(m.window.as_nanos() >= 1_000_000_000);
    }
    let pods = store.pod_metrics(None, now());
    assert_eq!(pods.len(), 12);
    for n in &inventory {
        for p in &n.pods {
            let m = store.pod_metric(&p.namespace, &p.name, now()).expect("served");
            for c in &p.containers {
                let u = &m.containers.iter().find(|x| x.name == c.name).expect("container").usage;
                assert_eq!(u["cpu"].scaled_value(-9), Some(i128::from(c.cpu_millicores) * 1_000_000));
                assert_eq!(u["memory"].value(), Some(i128::from(c.memory_bytes)));
            }
        }
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn pods_start_restart_and_go_away() {
    let fleet = Fleet::start(FleetConfig { nodes: 1, pods_per_node: 2, ..config() }).await.expect("fleet");
    let client = client();
    let (node, addr) = fleet.addrs().remove(0);
    let victim = fleet.inventory()[0].pods[0].clone();
    let mut store = MetricsStore::new(StoreConfig::default());
    store.store(&node, &scrape(&client, addr).await, now());

    let spec = SimContainer {
        name: "app".into(),
        cpu_millicores: 300,
        memory_bytes: 64 << 20,
        swap_bytes: 0,
        cpu_request_millicores: 250,
        memory_request_bytes: 64 << 20,
    };
    fleet.add_pod(&node, SimPod { namespace: "new".into(), name: "fresh-pod".into(), app: "fresh".into(), containers: vec![spec] }).expect("add");
    assert!(fleet.add_pod(&node, SimPod { namespace: "new".into(), name: "fresh-pod".into(), app: "x".into(), containers: vec![] }).is_err());
    fleet.restart_container(&node, &victim.namespace, &victim.name, &victim.containers[0].name).expect("restart");
    tokio::time::sleep(Duration::from_millis(20)).await;

    let s = scrape(&client, addr).await;
    let fresh = s.container("new", "fresh-pod", "app").expect("new pod served");
    assert_eq!(fresh.sample.memory_bytes, 64 << 20);
    let restarted = s.container(&victim.namespace, &victim.name, &victim.containers[0].name).expect("restarted");
    assert!(restarted.sample.start_time_ns > victim.containers[0].started.as_nanosecond().try_into().ok());
    let report = store.store(&node, &s, now());
    assert_eq!((report.new_series, report.restarts), (1, 1), "{report:?}");
    assert_eq!(fleet.inventory()[0].pods.iter().find(|p| p.name == victim.name).map(|p| p.containers[0].restarts), Some(1));

    fleet.remove_pod(&node, "new", "fresh-pod").expect("remove");
    assert!(fleet.remove_pod(&node, "new", "fresh-pod").is_err());
    let s = scrape(&client, addr).await;
    assert!(s.container("new", "fresh-pod", "app").is_none());
    assert_eq!(store.store(&node, &s, now()).removed_series, 1);
    assert!(fleet.set_usage(&node, &victim.namespace, &victim.name, "nope", 1, 1).is_err());
    fleet.shutdown().await;
}

#[tokio::test]
async fn faults_are_observable() {
    let fleet = Fleet::start(FleetConfig { nodes: 3, ..config() }).await.expect("fleet");
    let client = client();
    let names = fleet.node_names();
    let addr = |i: usize| fleet.addr(&names[i]).expect("addr");

    // HTTP 500.
    fleet.set_faults(&names[0], Faults { status: Some(500), ..Faults::default() }).expect("faults");
    assert_eq!(get(&client, addr(0), "/metrics/resource").await.0, 500);

    // Garbage lines: every real series still parses, the garbage is reported.
    fleet.set_faults(&names[0], Faults { garbage_every: Some(3), ..Faults::default() }).expect("faults");
    let s = scrape(&client, addr(0)).await;
    assert_eq!(s.len(), 8);
    assert!(s.node().is_some());
    assert!(s.issues().iter().any(|i| i.kind == IssueKind::Value) && s.issues().iter().any(|i| i.kind == IssueKind::Syntax), "{:?}", s.issues());

    // Slow answers.
    fleet.set_faults(&names[1], Faults { delay: Some(Duration::from_millis(300)), ..Faults::default() }).expect("faults");
    let start = Instant::now();
    assert_eq!(get(&client, addr(1), "/metrics/resource").await.0, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));

    // Hang: the client's own timeout fires.
    fleet.set_faults(&names[1], Faults { hang: true, ..Faults::default() }).expect("faults");
    let hung = tokio::time::timeout(Duration::from_millis(300), get(&client, addr(1), "/metrics/resource")).await;
    assert!(hung.is_err(), "no answer");

    // Huge body: over the parser's limit, a clear error.
    fleet.set_faults(&names[2], Faults { body_bytes: Some(11 << 20), ..Faults::default() }).expect("faults");
    let (status, body) = get(&client, addr(2), "/metrics/resource").await;
    assert_eq!(status, 200);
    assert!(body.len() >= 11 << 20);
    let err = Parser::new(ParseOptions::default()).parse(&body, 0).expect_err("too big");
    assert!(err.message().contains("limit"), "{}", err.message());
    // Below the limit the padding is only comments.
    fleet.set_faults(&names[2], Faults { body_bytes: Some(200_000), ..Faults::default() }).expect("faults");
    let s = scrape(&client, addr(2)).await;
    assert_eq!((s.len(), s.issues().len()), (8, 0));

    // A kubelet without /metrics/resource: 404 there, the summary still answers.
    fleet.set_faults(&names[2], Faults { no_resource_endpoint: true, ..Faults::default() }).expect("faults");
    assert_eq!(get(&client, addr(2), "/metrics/resource").await.0, 404);
    let (status, body) = get(&client, addr(2), "/stats/summary?only_cpu_and_memory=true").await;
    assert_eq!(status, 200);
    let (s, name) = decode_summary(&body, 0, &ParseOptions::default()).expect("summary");
    assert_eq!((name.as_str(), s.len()), (names[2].as_str(), 8));

    // Clearing faults restores normal service; requests were counted.
    fleet.set_faults(&names[0], Faults::default()).expect("faults");
    assert_eq!(scrape(&client, addr(0)).await.issues().len(), 0);
    assert!(fleet.requests(&names[0]).expect("count") >= 3);
    assert!(fleet.set_faults("no-such-node", Faults::default()).is_err());
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_failing_node_stays_served_through_its_grace_period() {
    let fleet = Fleet::start(FleetConfig { nodes: 1, ..config() }).await.expect("fleet");
    let client = client();
    let (node, addr) = fleet.addrs().remove(0);
    let mut store = MetricsStore::new(StoreConfig::default());
    store.store(&node, &scrape(&client, addr).await, now());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    store.store(&node, &scrape(&client, addr).await, now());
    fleet.set_faults(&node, Faults { status: Some(503), ..Faults::default() }).expect("faults");
    let (status, _) = get(&client, addr, "/metrics/resource").await;
    assert_eq!(status, 503);
    assert!(store.mark_failed(&node, now()));
    assert_eq!(store.node_metrics(None, now()).len(), 1, "last good value kept");
    let later = now() + jiff::SignedDuration::from_secs(120);
    assert!(store.node_metrics(None, later).is_empty(), "gone after the grace period");
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_fleet_spreads_over_several_loopback_addresses() {
    // Three addresses, each with its own ports from the same first port: a listener count one
    // address cannot hold (65,000 nodes) fits on several, all inside 127.0.0.0/8.
    let first = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr").port()
    };
    let fleet = Fleet::start(FleetConfig { nodes: 5, first_port: Some(first), loopback_addresses: 3, ..config() }).await.expect("fleet");
    let inventory = fleet.inventory();
    let ips: Vec<String> = inventory.iter().map(|n| n.addr.ip().to_string()).collect();
    assert_eq!(ips, ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.1", "127.0.0.2"]);
    assert_eq!(inventory[0].addr.port(), inventory[1].addr.port(), "every address counts its own ports");
    let client = client();
    for (node, object) in inventory.iter().zip(fleet.nodes()) {
        // What a metrics server dials: the Node object's InternalIP and kubelet port.
        let status = object.status.expect("status");
        let ip = status.addresses.expect("addresses").into_iter().find(|a| a.type_ == "InternalIP").expect("InternalIP").address;
        let port = status.daemon_endpoints.and_then(|d| d.kubelet_endpoint).map(|e| e.port).expect("port");
        let addr: SocketAddr = format!("{ip}:{port}").parse().expect("addr");
        assert_eq!(addr, node.addr);
        let s = scrape(&client, addr).await;
        assert!(s.issues().is_empty(), "{:?}", s.issues());
        for pod in &node.pods {
            for c in &pod.containers {
                assert_eq!(s.container(&pod.namespace, &pod.name, &c.name).expect("served").sample.memory_bytes, c.memory_bytes);
            }
        }
    }
    let host_ips: std::collections::BTreeSet<String> = fleet.pods().into_iter().filter_map(|p| p.status.and_then(|s| s.host_ip)).collect();
    assert_eq!(host_ips.into_iter().collect::<Vec<_>>(), ["127.0.0.1", "127.0.0.2", "127.0.0.3"]);
    fleet.shutdown().await;
    // Outside 1..=254 addresses is refused, never bound.
    let err = Fleet::start(FleetConfig { nodes: 1, loopback_addresses: 0, ..config() }).await.expect_err("0 addresses");
    assert_eq!(err.kind(), kubemetrics::ErrorKind::Config);
}
