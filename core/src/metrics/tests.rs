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

mod provider_answers {
    use super::super::custom::*;
    use crate::Quantity;
    use crate::selector::LabelSelector;

    fn q(s: &str) -> Quantity {
        s.parse().expect("quantity")
    }

    #[test]
    fn cluster_scoped_objects_never_carry_a_namespace() {
        for resource in ["namespaces", "nodes", "persistentvolumes"] {
            assert!(cluster_scoped(resource), "{resource}");
            let object = ObjectRef { namespace: Some("web".into()), resource: resource.into(), name: "x".into() };
            assert_eq!(DescribedObject::of(&object).namespace, "", "{resource}");
            assert_eq!(ObjectRef::new(Some("web"), resource, "x").namespace, None, "{resource}");
        }
        for resource in ["pods", "services", "deployments", "widgets.example.com"] {
            assert!(!cluster_scoped(resource), "{resource}");
            assert_eq!(ObjectRef::new(Some("web"), resource, "x").namespace.as_deref(), Some("web"));
        }
        let pod = DescribedObject::of(&ObjectRef::new(Some("web"), "pods", "web-1"));
        assert_eq!(pod, DescribedObject { kind: "Pod".into(), namespace: "web".into(), name: "web-1".into(), uid: String::new(), api_version: "/v1".into() });
        let widget = DescribedObject::of(&ObjectRef::new(None, "widgets", "w"));
        assert_eq!((widget.kind.as_str(), widget.namespace.as_str(), widget.api_version.as_str()), ("", "", ""));
    }

    #[test]
    fn named_values_become_metric_values_in_one_place() {
        let selector = LabelSelector::parse("sensor=cpu").expect("selector");
        let keep = MetricValue::for_object(&ObjectRef::new(Some("web"), "pods", "as-given"), "other", &LabelSelector::default(), q("1"));
        let answer = vec![
            ObjectValue::Named { name: "web".into(), value: q("500m") },
            ObjectValue::Complete(Box::new(keep.clone())),
            ObjectValue::Named { name: "shop".into(), value: q("2") },
        ];
        // What `namespaces/*/metrics/queue_total` asks for.
        let all = LabelSelector::default();
        let query = |namespace, resource, metric, metric_selector| SelectorQuery { namespace, resource, selector: &all, metric, metric_selector };
        let values = query(Some("*"), "namespaces", "queue_total", &selector).values(answer);
        assert_eq!(values.len(), 3);
        assert_eq!(values[1], keep);
        for (v, name, value) in [(&values[0], "web", "500m"), (&values[2], "shop", "2")] {
            assert_eq!(v.described_object, DescribedObject { kind: "Namespace".into(), name: name.into(), api_version: "/v1".into(), ..Default::default() });
            assert_eq!(v.metric.name, "queue_total");
            assert_eq!(v.metric.selector.as_ref().and_then(|s| s.match_labels.clone()), Some([("sensor".to_string(), "cpu".to_string())].into()));
            assert_eq!(v.value.to_string(), value);
            assert_eq!(v.window_seconds, None);
        }
        assert_eq!(values[0].timestamp, values[2].timestamp, "measured at one instant");
        let pods = query(Some("web"), "pods", "m", &all).values([ObjectValue::Named { name: "p".into(), value: q("1") }]);
        assert_eq!((pods[0].described_object.namespace.as_str(), pods[0].metric.selector.is_none()), ("web", true));
    }

    #[test]
    fn one_object_has_a_value_or_is_not_found() {
        let node = ObjectRef { namespace: Some("web".into()), resource: "nodes".into(), name: "node-a".into() };
        let v = metric_value(&node, "temperature", &LabelSelector::default(), Some(q("61500m"))).expect("a value");
        assert_eq!(serde_json::to_value(&v.described_object).expect("json"), serde_json::json!({"kind": "Node", "name": "node-a", "apiVersion": "/v1"}));
        let e = metric_value(&node, "temperature", &LabelSelector::default(), None).expect_err("no value");
        assert_eq!(
            (e.kind(), e.status(), e.message()),
            (crate::ErrorKind::NotFound, Some(404), "the server could not find the metric temperature for nodes node-a")
        );
    }

    #[test]
    fn labelled_series_become_external_values() {
        let keep = ExternalMetricValue::new("other", Default::default(), q("9"));
        let values = external_values(
            "queue",
            [
                SeriesValue::Labelled { labels: [("queue".to_string(), "jobs".to_string())].into(), value: q("42") },
                SeriesValue::Complete(keep.clone()),
                SeriesValue::Labelled { labels: Default::default(), value: q("7") },
            ],
        );
        assert_eq!(values[1], keep);
        assert_eq!((values[0].metric_name.as_str(), values[0].metric_labels.len(), values[0].value.to_string()), ("queue", 1, "42".to_string()));
        assert_eq!((values[2].metric_name.as_str(), values[2].metric_labels.len(), values[0].timestamp), ("queue", 0, values[2].timestamp));
    }
}
