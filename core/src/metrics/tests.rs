use super::custom::MetricValueListV1Beta1;
use super::*;
use std::path::PathBuf;

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/api").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Decodes a fixture into `T` and encodes it back: the bytes must be identical.
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize + MetricsKind>(name: &str) -> T {
    let text = fixture(name);
    let text = text.trim_end();
    let value: serde_json::Value = serde_json::from_str(text).expect("json");
    let api_version = value["apiVersion"].as_str().expect("apiVersion").to_string();
    assert_eq!(value["kind"], T::KIND);
    let typed: T = serde_json::from_str(text).expect(name);
    assert_eq!(to_wire_json(&typed, &api_version), text, "{name} round trip");
    typed
}

#[test]
fn node_metrics_fixtures_round_trip_byte_for_byte() {
    let list: NodeMetricsList = round_trip("node-metrics-list-3-nodes.json");
    assert_eq!(list.items.len(), 3);
    assert_eq!(list.items[0].name(), "10.42.8.102");
    assert_eq!(list.items[0].usage["cpu"].milli_value(), Some(251));
    assert_eq!(list.items[0].usage["memory"].value(), Some(8318172 * 1024));
    assert_eq!(list.items[0].window, GoDuration::from_secs(30));
    let one: NodeMetrics = round_trip("node-metrics-docker-desktop.json");
    assert!(!one.usage.is_empty());
}

#[test]
fn pod_metrics_fixtures_round_trip_byte_for_byte() {
    let pod: PodMetrics = round_trip("pod-metrics-redis.json");
    assert_eq!((pod.namespace(), pod.name()), ("default", "redis-master-fsx46"));
    assert_eq!(pod.total("cpu").to_string(), "969654n");
    assert_eq!(pod.total("memory").to_string(), "15012Ki");
    let _: PodMetrics = round_trip("pod-metrics-metrics-server.json");
}

#[test]
fn custom_metrics_fixture_round_trips_byte_for_byte() {
    let list: MetricValueListV1Beta1 = round_trip("custom-metric-value-list-v1beta1.json");
    assert_eq!(list.items[0].metric_name, "pod_aa_100m");
    assert_eq!(list.items[0].value.to_string(), "10");
    assert_eq!(list.items[0].described_object.api_version, "/v1");
}

#[test]
fn null_items_and_usage_read_as_empty() {
    let list: NodeMetricsList =
        serde_json::from_str(r#"{"kind":"NodeMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":null}"#).expect("null items");
    assert!(list.items.is_empty());
    let pod: PodMetrics =
        serde_json::from_str(r#"{"metadata":{"name":"p"},"timestamp":"2024-01-01T00:00:00Z","window":"1m0s","containers":null}"#).expect("null containers");
    assert!(pod.containers.is_empty());
    assert_eq!(pod.window, GoDuration::from_secs(60));
}

#[test]
fn bad_quantities_in_a_body_name_the_value() {
    let e =
        serde_json::from_str::<NodeMetrics>(r#"{"metadata":{},"timestamp":"2024-01-01T00:00:00Z","window":"30s","usage":{"cpu":"12x"}}"#).expect_err("bad cpu");
    assert!(e.to_string().contains(r#"invalid quantity "12x""#), "{e}");
}

#[test]
fn borrowed_lists_serialize_like_owned_ones_and_stamp_creation() {
    let list: NodeMetricsList = serde_json::from_str(&fixture("node-metrics-list-3-nodes.json")).expect("fixture");
    let refs: Vec<&NodeMetrics> = list.items.iter().collect();
    let owned = to_wire_json(&NodeMetricsList { metadata: Default::default(), items: list.items.clone() }, "metrics.k8s.io/v1beta1");
    assert_eq!(list_to_wire_json("NodeMetricsList", "metrics.k8s.io/v1beta1", &refs, None), owned);
    let now = crate::metrics::Time("2026-11-22T10:00:00Z".parse().expect("time"));
    let stamped = list_to_wire_json("NodeMetricsList", "metrics.k8s.io/v1beta1", &refs, Some(&now));
    assert_eq!(stamped, owned.replace("2019-11-26T06:23:17Z", "2026-11-22T10:00:00Z"));
}
