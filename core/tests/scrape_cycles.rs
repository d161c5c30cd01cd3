//! Overlapping scrape cycles share the concurrency limit in turns: a later cycle (the second cycle
//! at startup, or the next one after an overrun) starts scraping while an earlier one is still
//! going, instead of waiting behind every node the earlier one has left. Real collector, simulated
//! kubelets over loopback HTTP answering slowly.

use kubemetrics::collector::{AddressOptions, Collector, CollectorOptions, Inventory, KubeletOptions, NodeTarget};
use kubemetrics::server::ServerMetrics;
use kubemetrics::testkit::simulate::{Faults, Fleet, FleetConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

const NODES: usize = 8;
const DELAY: Duration = Duration::from_millis(150);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_cycle_takes_turns_with_an_earlier_one() {
    let fleet = Fleet::start(FleetConfig { nodes: NODES, pods_per_node: 1, containers_per_pod: 1, namespaces: 1, seed: 3, ..FleetConfig::default() })
        .await
        .expect("fleet");
    let names = fleet.node_names();
    for n in &names {
        fleet.set_faults(n, Faults { delay: Some(DELAY), ..Faults::default() }).expect("faults");
    }
    let inventory = Inventory::new();
    let address = AddressOptions { preferred_types: vec!["InternalIP".into()], port: 10250, use_node_status_port: true };
    inventory.replace_nodes(fleet.nodes().iter().map(|n| NodeTarget::from_node(n, &address)));
    inventory.mark_synced();
    let options = CollectorOptions {
        // Each cycle's scrapes all become due within 8 ms; one scrape at a time.
        resolution: Duration::from_millis(10),
        concurrency: 1,
        kubelet: KubeletOptions { scheme: "http".into(), request_timeout: Duration::from_secs(5), ..Default::default() },
        ..Default::default()
    };
    let collector = Collector::new(options, inventory, Arc::new(ServerMetrics::default())).expect("collector");
    let requests = |i: usize| fleet.requests(&names[i]).expect("count");

    let started = Instant::now();
    let first = collector.start_cycle();
    // Let the first cycle get going (two or three of its eight scrapes), then start the second.
    tokio::time::sleep(DELAY * 2 + DELAY / 2).await;
    assert_eq!(requests(0), 1, "the first cycle scraped the first node");
    let second = collector.start_cycle();
    // The second cycle reaches the first node after at most two more scrapes (the one running and
    // the first cycle's next turn), long before the first cycle's remaining five or six are done.
    let deadline = Instant::now() + DELAY * 4;
    while requests(0) < 2 {
        assert!(
            Instant::now() < deadline,
            "the second cycle had not scraped the first node {:?} after it started (requests per node: {:?})",
            DELAY * 4,
            (0..NODES).map(requests).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!first.is_finished(), "the first cycle was still going when the second scraped its first node");
    first.await.expect("first cycle");
    second.await.expect("second cycle");
    // Both cycles scraped every node once, and one at a time: 16 scrapes of 150 ms in sequence.
    assert_eq!((0..NODES).map(requests).collect::<Vec<_>>(), vec![2; NODES]);
    assert!(started.elapsed() >= DELAY * (2 * NODES as u32), "{:?}", started.elapsed());
    fleet.shutdown().await;
}
