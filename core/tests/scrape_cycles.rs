//! How scrape cycles share the concurrency limit, with the real collector and simulated kubelets
//! over loopback HTTP that answer slowly: at startup the second cycle follows the first node by
//! node (each node's second scrape one window after its first, while the first cycle is still
//! going); in steady state a cycle that starts while the previous one is still starting scrapes
//! waits for it, so cycles stay in order.

use kubemetrics::collector::{AddressOptions, Collector, CollectorOptions, Inventory, KubeletOptions, NodeTarget};
use kubemetrics::server::ServerMetrics;
use kubemetrics::testkit::simulate::{Faults, Fleet, FleetConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

const NODES: usize = 8;
const DELAY: Duration = Duration::from_millis(150);

/// A fleet of slow kubelets and a collector that scrapes one at a time.
async fn setup(resolution: Duration, delay: Duration) -> (Fleet, Collector, Vec<String>) {
    let (fleet, collector, names, _) = setup_with_stats(resolution, delay).await;
    (fleet, collector, names)
}

async fn setup_with_stats(resolution: Duration, delay: Duration) -> (Fleet, Collector, Vec<String>, Arc<ServerMetrics>) {
    let fleet = Fleet::start(FleetConfig { nodes: NODES, pods_per_node: 1, containers_per_pod: 1, namespaces: 1, seed: 3, ..FleetConfig::default() })
        .await
        .expect("fleet");
    let names = fleet.node_names();
    for n in &names {
        fleet.set_faults(n, Faults { delay: Some(delay), ..Faults::default() }).expect("faults");
    }
    let inventory = Inventory::new();
    let address = AddressOptions { preferred_types: vec!["InternalIP".into()], port: 10250, use_node_status_port: true };
    inventory.replace_nodes(fleet.nodes().iter().map(|n| NodeTarget::from_node(n, &address)));
    inventory.mark_synced();
    let options = CollectorOptions {
        resolution,
        concurrency: 1,
        kubelet: KubeletOptions { scheme: "http".into(), request_timeout: Duration::from_secs(5), ..Default::default() },
        ..Default::default()
    };
    let stats = Arc::new(ServerMetrics::default());
    let collector = Collector::new(options, inventory, stats.clone()).expect("collector");
    (fleet, collector, names, stats)
}

fn counts(fleet: &Fleet, names: &[String]) -> Vec<u64> {
    names.iter().map(|n| fleet.requests(n).expect("count")).collect()
}

/// Polls until `done(counts)`, failing after `within`.
async fn until(fleet: &Fleet, names: &[String], within: Duration, what: &str, done: impl Fn(&[u64]) -> bool) -> Vec<u64> {
    let deadline = Instant::now() + within;
    loop {
        let c = counts(fleet, names);
        if done(&c) {
            return c;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?} (requests per node: {c:?})");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_startup_the_second_cycle_follows_the_first_node_by_node() {
    // A one-second resolution makes the startup window one second; the first cycle takes 1.6 s.
    let delay = Duration::from_millis(200);
    let (fleet, collector, names) = setup(Duration::from_secs(1), delay).await;
    let started = Instant::now();
    let run = tokio::spawn(collector.clone().run());
    let c = until(&fleet, &names, Duration::from_secs(3), "the first node's second scrape", |c| c[0] >= 2).await;
    let e = started.elapsed();
    assert!(e >= Duration::from_secs(1), "one window after its first scrape, not before: {e:?}");
    assert_eq!(c[NODES - 1], 0, "the first node had its second scrape before the first cycle reached the last node: {c:?}");
    // Every node gets its second scrape about one window after its first.
    until(&fleet, &names, Duration::from_secs(4), "every node's second scrape", |c| c.iter().all(|&n| n >= 2)).await;
    assert!(started.elapsed() >= delay * (2 * NODES as u32 - 1), "one at a time: {:?}", started.elapsed());
    run.abort();
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overrunning_cycle_finishes_starting_its_scrapes_before_the_next_starts_any() {
    // Each cycle's scrapes all become due within 8 ms; they take 1.2 s one at a time.
    let (fleet, collector, names) = setup(Duration::from_millis(10), DELAY).await;
    let started = Instant::now();
    let first = collector.start_cycle();
    until(&fleet, &names, Duration::from_secs(1), "the first cycle's first scrape", |c| c[0] == 1).await;
    tokio::time::sleep(DELAY).await;
    let second = collector.start_cycle();
    let c = until(&fleet, &names, Duration::from_secs(3), "the second cycle's first scrape", |c| c[0] >= 2).await;
    assert!(c[NODES - 1] >= 1, "the second cycle started before the first had started its last scrape: {c:?}");
    first.await.expect("first cycle");
    second.await.expect("second cycle");
    assert_eq!(counts(&fleet, &names), vec![2; NODES]);
    // One at a time: 16 scrapes of 150 ms in sequence.
    assert!(started.elapsed() >= DELAY * (2 * NODES as u32), "{:?}", started.elapsed());
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycle_still_waiting_its_turn_when_a_newer_one_starts_is_dropped() {
    let (fleet, collector, names, stats) = setup_with_stats(Duration::from_millis(10), DELAY).await;
    let first = collector.start_cycle();
    until(&fleet, &names, Duration::from_secs(1), "the first cycle's first scrape", |c| c[0] == 1).await;
    let (second, third) = (collector.start_cycle(), collector.start_cycle());
    for cycle in [first, second, third] {
        cycle.await.expect("cycle");
    }
    assert_eq!(counts(&fleet, &names), vec![2; NODES], "the first and the third cycle scraped every node");
    assert!(stats.render().contains("kubemetrics_skipped_cycles_total 1\n"), "{}", stats.render());
    fleet.shutdown().await;
}
