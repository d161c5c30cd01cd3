//! The `/stats/summary` decoder on the captured kind v1.17 body, whose broken pods must each cost
//! only themselves.

use kubemetrics::scrape::{IssueKind, decode_summary};
use kubemetrics::scrape::{ParseOptions, parse_metrics_resource};
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/kubelet").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn ts(rfc3339: &str) -> i64 {
    let t: jiff::Timestamp = rfc3339.parse().expect("timestamp");
    i64::try_from(t.as_nanosecond()).expect("fits")
}

#[test]
fn kind_v1_17_summary() {
    let (s, node_name) = decode_summary(&fixture("stats-summary-kind-v1.17.json"), 0, &ParseOptions::default()).expect("decodes");
    assert_eq!(node_name, "e2e-v1.17.0-control-plane");
    let node = s.node().expect("node");
    assert_eq!(node.cpu_ns, 519_978_197_128);
    assert_eq!(node.memory_bytes, 1_417_551_872);
    assert_eq!(node.timestamp_ns, ts("2020-04-16T20:25:28Z"));
    assert_eq!(node.swap_bytes, None);

    // Only the pod with every field survives; each broken one is an issue of its own.
    assert_eq!(s.len(), 1);
    let c = s.container("default", "all-fields", "container").expect("all-fields");
    assert_eq!(c.sample.cpu_ns, 29_328_792);
    assert_eq!(c.sample.memory_bytes, 1_449_984);
    assert_eq!(c.sample.timestamp_ns, ts("2020-04-16T20:25:30Z"));
    assert_eq!(c.sample.start_time_ns, Some(ts("2020-04-16T20:17:46Z")));

    let issues: Vec<_> = s.issues().iter().map(|i| (i.kind, i.message.as_str())).collect();
    let broken = ["zero usageCoreNanoSeconds", "no usageCoreNanoSeconds", "no CPU", "zero workingSetBytes", "no workingSetBytes", "no memory"];
    assert_eq!(issues.len(), broken.len(), "{issues:#?}");
    for pod in broken {
        assert!(
            issues.iter().any(|(k, m)| *k == IssueKind::Incomplete && m.contains(&format!("default/{pod}/container left out"))),
            "no issue for {pod}: {issues:#?}"
        );
    }
}

#[test]
fn summary_and_prometheus_agree_on_the_same_node() {
    // The same numbers written both ways decode to the same scrape.
    let json = br#"{"node":{"nodeName":"n","cpu":{"time":"2021-10-03T09:36:49.720Z","usageCoreNanoSeconds":357354910000},"memory":{"time":"2021-10-03T09:36:49.720Z","workingSetBytes":1616273408}},
      "pods":[{"podRef":{"name":"coredns-558bd4d5db-4dpjz","namespace":"kube-system"},"containers":[{"name":"coredns","startTime":"2021-10-03T09:18:32Z",
      "cpu":{"time":"2021-10-03T09:36:52.125Z","usageCoreNanoSeconds":4710169000},"memory":{"time":"2021-10-03T09:36:52.125Z","workingSetBytes":12533760}}]}]}"#;
    let (from_json, _) = decode_summary(json, 0, &ParseOptions::default()).expect("json");
    let from_prom = parse_metrics_resource(&fixture("metrics-resource-with-start-time.prom"), 0).expect("prom");
    assert_eq!(from_json.node(), from_prom.node());
    assert!(from_json.containers().eq(from_prom.containers()));
}
