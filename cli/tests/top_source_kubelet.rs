//! `top --source kubelet` (no metrics server: kubelets read through the node proxy) gives the
//! same rows as the Metrics API served by the collector, on a simulated fleet.

use kubemetrics::collector::{AddressOptions, Collector, CollectorOptions, Inventory, KubeletOptions, NodeTarget};
use kubemetrics::server::{MetricsProvider, ServerMetrics};
use kubemetrics::testkit::loopback_api::{ClusterState, LoopbackApiServer, MetricsSource};
use kubemetrics::testkit::simulate::{Fleet, FleetConfig};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

fn cpu_column(stdout: &str) -> Vec<(String, u64)> {
    stdout
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split_whitespace();
            let name = cols.next()?.to_string();
            let cpu = cols.next()?.strip_suffix('m')?.parse().ok()?;
            Some((name, cpu))
        })
        .collect()
}

#[test]
fn kubelet_source_matches_the_metrics_api() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (fleet, api, collector) = rt.block_on(async {
        let fleet = Fleet::start(FleetConfig { nodes: 2, pods_per_node: 3, node_name_prefix: "src-".into(), ..Default::default() }).await.expect("fleet");
        let inventory = Inventory::new();
        let address = AddressOptions { preferred_types: vec!["InternalIP".into()], port: 10250, use_node_status_port: true };
        inventory.replace_nodes(fleet.nodes().iter().map(|n| NodeTarget::from_node(n, &address)));
        inventory.mark_synced();
        let collector = Collector::new(
            CollectorOptions {
                resolution: Duration::from_secs(1),
                kubelet: KubeletOptions { scheme: "http".into(), ..Default::default() },
                ..Default::default()
            },
            inventory,
            Arc::new(ServerMetrics::default()),
        )
        .expect("collector");
        tokio::spawn(collector.clone().run());
        let state = ClusterState {
            nodes: fleet.nodes(),
            pods: fleet.pods(),
            metrics_api: true,
            metrics_source: Some(MetricsSource(Arc::new(collector.clone()))),
            kubelet_proxy: fleet.addrs().into_iter().collect(),
            ..Default::default()
        };
        let api = LoopbackApiServer::start(state).await.expect("api");
        (fleet, api, collector)
    });
    let dir = std::env::temp_dir().join(format!("km-source-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, api.kubeconfig("default")).expect("kubeconfig");
    for _ in 0..100 {
        if collector.snapshot().nodes.len() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let run = |source: &str| {
        let out =
            Command::new(env!("CARGO_BIN_EXE_kubemetrics")).args(["top", "node", "--source", source, "--kubeconfig"]).arg(&kubeconfig).output().expect("run");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        cpu_column(&String::from_utf8_lossy(&out.stdout))
    };
    let from_api = run("metrics-api");
    let from_kubelet = run("kubelet");
    assert_eq!(from_api.len(), 2, "{from_api:?}");
    assert_eq!(from_api.iter().map(|r| &r.0).collect::<Vec<_>>(), from_kubelet.iter().map(|r| &r.0).collect::<Vec<_>>());
    for ((name, a), (_, k)) in from_api.iter().zip(&from_kubelet) {
        let diff = (*a as f64 - *k as f64).abs() / (*a as f64);
        assert!(diff < 0.05, "{name}: metrics API {a}m vs kubelet {k}m");
    }
    let expected: Vec<u64> = fleet
        .inventory()
        .iter()
        .map(|n| {
            u64::from(fleet.config().node_overhead_millicores) + n.pods.iter().flat_map(|p| &p.containers).map(|c| u64::from(c.cpu_millicores)).sum::<u64>()
        })
        .collect();
    for ((name, k), want) in from_kubelet.iter().zip(expected) {
        let diff = (*k as f64 - want as f64).abs() / want as f64;
        assert!(diff < 0.05, "{name}: kubelet source {k}m vs simulated {want}m");
    }
    drop(api);
    rt.block_on(fleet.shutdown());
    let _ = std::fs::remove_dir_all(&dir);
}
