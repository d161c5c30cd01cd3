//! A built-in cluster for tests, examples and bindings: three nodes (one without metrics),
//! pods in three namespaces with multi-container pods, quantities in every suffix, and ties.

use super::ClusterState;
use crate::metrics::{ObjectMeta, Time};
use crate::{ContainerMetrics, GoDuration, NodeMetrics, PodMetrics, Quantity};
use k8s_openapi::api::core::v1::{Node, NodeStatus, Pod, PodSpec, PodStatus};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use std::collections::BTreeMap;

fn labels(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    Some(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

fn time(s: &str) -> Time {
    Time(s.parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH))
}

fn usage(cpu: &str, memory: &str) -> BTreeMap<String, Quantity> {
    [("cpu", cpu), ("memory", memory)].into_iter().map(|(k, v)| (k.to_string(), v.parse().unwrap_or_default())).collect()
}

fn rl(cpu: &str, memory: &str) -> Option<BTreeMap<String, K8sQuantity>> {
    Some([("cpu", cpu), ("memory", memory), ("pods", "110")].into_iter().map(|(k, v)| (k.to_string(), K8sQuantity(v.to_string()))).collect())
}

/// A Node with allocatable and capacity.
pub fn node(name: &str, alloc: (&str, &str), capacity: (&str, &str), l: &[(&str, &str)]) -> Node {
    Node {
        metadata: ObjectMeta { name: Some(name.into()), labels: labels(l), creation_timestamp: Some(time("2024-01-01T00:00:00Z")), ..Default::default() }
            .into(),
        status: Some(NodeStatus { allocatable: rl(alloc.0, alloc.1), capacity: rl(capacity.0, capacity.1), ..Default::default() }),
        ..Default::default()
    }
}

/// Node metrics with CPU and memory usage.
pub fn make_node_metrics(name: &str, cpu: &str, memory: &str, l: &[(&str, &str)]) -> NodeMetrics {
    NodeMetrics {
        metadata: ObjectMeta { name: Some(name.into()), labels: labels(l), creation_timestamp: Some(time("2024-01-01T00:10:00Z")), ..Default::default() },
        timestamp: time("2024-01-01T00:09:50Z"),
        window: GoDuration::from_secs(20),
        usage: usage(cpu, memory),
    }
}

/// A Running pod on node-a.
pub fn pod(ns: &str, name: &str, l: &[(&str, &str)], created: &str) -> Pod {
    pod_with_requests(ns, name, l, created, &[])
}

/// A Running pod on node-a whose containers (name, cpu request, memory request) request resources.
pub fn pod_with_requests(ns: &str, name: &str, l: &[(&str, &str)], created: &str, containers: &[(&str, &str, &str)]) -> Pod {
    let containers = containers
        .iter()
        .map(|(n, cpu, mem)| k8s_openapi::api::core::v1::Container {
            name: n.to_string(),
            resources: Some(k8s_openapi::api::core::v1::ResourceRequirements {
                requests: Some([("cpu".to_string(), K8sQuantity(cpu.to_string())), ("memory".to_string(), K8sQuantity(mem.to_string()))].into()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(ns.into()),
            labels: labels(l),
            creation_timestamp: Some(time(created)),
            ..Default::default()
        }
        .into(),
        spec: Some(PodSpec { node_name: Some("node-a".into()), containers, ..Default::default() }),
        status: Some(PodStatus { phase: Some("Running".into()), ..Default::default() }),
    }
}

/// Pod metrics with per-container (name, cpu, memory).
pub fn make_pod_metrics(ns: &str, name: &str, l: &[(&str, &str)], containers: &[(&str, &str, &str)]) -> PodMetrics {
    PodMetrics {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(ns.into()),
            labels: labels(l),
            creation_timestamp: Some(time("2024-01-01T00:10:00Z")),
            ..Default::default()
        },
        timestamp: time("2024-01-01T00:09:50Z"),
        window: GoDuration::from_millis(14982),
        containers: containers.iter().map(|(n, c, m)| ContainerMetrics { name: n.to_string(), usage: usage(c, m) }).collect(),
    }
}

/// The built-in cluster (see the module docs).
pub fn varied() -> ClusterState {
    let nodes = vec![
        node("node-a", ("3920m", "15Gi"), ("4", "16Gi"), &[("tier", "a"), ("zone", "z1")]),
        node("node-b", ("2", "8032120Ki"), ("2", "8132120Ki"), &[("tier", "b"), ("zone", "z1")]),
        node("node-c", ("8", "32Gi"), ("8", "32Gi"), &[("tier", "a"), ("zone", "z2")]),
    ];
    let node_metrics = vec![
        make_node_metrics("node-b", "551516196n", "13280692Ki", &[("tier", "b"), ("zone", "z1")]),
        make_node_metrics("node-a", "1630534153n", "8318172Ki", &[("tier", "a"), ("zone", "z1")]),
    ];
    let old = "2024-01-01T00:00:00Z";
    let mut pods = Vec::new();
    let mut pod_metrics = Vec::new();
    let spec: &[(&str, &str, &[(&str, &str)], &[(&str, &str, &str)])] = &[
        ("default", "web-7f9c-abcde", &[("app", "web")], &[("nginx", "969654n", "15012Ki"), ("sidecar", "1m", "2Mi")]),
        ("default", "web-7f9c-fghij", &[("app", "web")], &[("nginx", "1500m", "1.5Gi"), ("sidecar", "1m", "2Mi")]),
        ("default", "redis-master-fsx46", &[("app", "redis")], &[("master", "250264852n", "100M")]),
        ("default", "batch-1", &[("app", "batch")], &[("worker", "2", "12e6"), ("helper", "0.5", "1Gi"), ("init-copy", "0", "0")]),
        ("kube-system", "coredns-558bd4d5db-4dpjz", &[("k8s-app", "kube-dns")], &[("coredns", "4710169n", "12533760")]),
        ("kube-system", "etcd-node-a", &[("component", "etcd")], &[("etcd", "25m", "60Mi")]),
        ("kube-system", "kube-apiserver-node-a", &[("component", "kube-apiserver")], &[("kube-apiserver", "25m", "250Mi")]),
        ("monitoring", "prometheus-0", &[("app", "prometheus")], &[("prometheus", "120m", "1Gi"), ("config-reloader", "1m", "20Mi")]),
        ("monitoring", "alertmanager-0", &[("app", "alertmanager")], &[("alertmanager", "2m", "20Mi")]),
    ];
    for (ns, name, l, containers) in spec {
        // Each container requests 100m CPU and 64Mi memory (what release tooling compares usage with).
        let requests: Vec<(&str, &str, &str)> = containers.iter().map(|(c, _, _)| (*c, "100m", "64Mi")).collect();
        pods.push(pod_with_requests(ns, name, l, old, &requests));
        pod_metrics.push(make_pod_metrics(ns, name, l, containers));
    }
    ClusterState {
        nodes,
        pods,
        node_metrics,
        pod_metrics,
        metrics_api: true,
        tokens: [
            ("alice-token".to_string(), ("alice".to_string(), vec!["team-a".to_string()])),
            ("bob-token".to_string(), ("bob".to_string(), vec!["team-b".to_string()])),
        ]
        .into(),
        authorized_users: vec!["alice".into(), "system:kube-aggregator".into()],
        ..Default::default()
    }
}

/// A large cluster for benchmarks: `nodes` nodes and `pods` pods (two containers each) spread
/// over 20 namespaces, with deterministic usage values in nanocores and Ki.
pub fn scaled(nodes: usize, pods: usize) -> ClusterState {
    let mut state = ClusterState { metrics_api: true, ..Default::default() };
    for i in 0..nodes {
        let name = format!("node-{i:05}");
        state.nodes.push(node(&name, ("7910m", "31Gi"), ("8", "32Gi"), &[("pool", if i % 2 == 0 { "a" } else { "b" })]));
        let cpu = format!("{}n", 100_000_000 + (i as u64 * 7_919_993) % 7_000_000_000);
        let mem = format!("{}Ki", 1_000_000 + (i as u64 * 104_729) % 30_000_000);
        state.node_metrics.push(make_node_metrics(&name, &cpu, &mem, &[("pool", if i % 2 == 0 { "a" } else { "b" })]));
    }
    for i in 0..pods {
        let ns = format!("team-{:02}", i % 20);
        let name = format!("app-{i:06}");
        let app = format!("app-{}", i % 50);
        let l = [("app", app.as_str())];
        let c1 = format!("{}n", (i as u64 * 2_654_435_761) % 900_000_000);
        let m1 = format!("{}Ki", 10_000 + (i as u64 * 7_703) % 2_000_000);
        let c2 = format!("{}m", i % 7);
        let m2 = format!("{}Mi", 1 + i % 64);
        state.pods.push(pod(&ns, &name, &l, "2024-01-01T00:00:00Z"));
        state.pod_metrics.push(make_pod_metrics(&ns, &name, &l, &[("main", &c1, &m1), ("sidecar", &c2, &m2)]));
    }
    state
}
