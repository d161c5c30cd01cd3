use super::*;
use crate::metrics::PodMetricsList;

/// A body with what metrics servers write and what they rarely do: extra metadata, empty and
/// missing labels, resources other than CPU and memory, `null` usage and containers, a repeated
/// resource, escapes in strings.
const BODY: &str = r#"{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{"resourceVersion":"7"},"items":[
 {"metadata":{"name":"a","namespace":"ns","creationTimestamp":"2024-01-01T00:00:00Z","labels":{"z":"1","app":"x\"y"}},"timestamp":"2024-01-01T00:00:00Z","window":"15s",
  "containers":[{"name":"c1","usage":{"cpu":"250264852n","memory":"8318172Ki","nvidia.com/gpu":"1"}},{"name":"c2","usage":{"memory":"1Gi","cpu":"1500m","cpu":"2"}}]},
 {"metadata":{"name":"b","namespace":"ns","uid":"u-1","annotations":{"k":"v"},"labels":{}},"timestamp":"2024-01-01T00:00:01Z","window":"1m0s","containers":null},
 {"metadata":{"name":"c\u00e9","generateName":"c","managedFields":[]},"timestamp":"2024-01-01T00:00:02Z","window":"30s","containers":[{"name":"x","usage":null},{"name":"y"}]},
 {"timestamp":"2024-01-01T00:00:03Z","window":"0s"}
]}"#;

fn whole(body: &str) -> Vec<PodMetrics> {
    serde_json::from_str::<PodMetricsList>(body).expect("whole decode").items
}

#[test]
fn gives_back_the_objects_of_a_whole_decode() {
    let want = whole(BODY);
    let table = WholePodMetricsTable::from_json(BODY.as_bytes()).expect("table");
    assert_eq!(table.to_pods(), want);
    assert!(table == WholePodMetricsTable::from_pods(&want) && table != WholePodMetricsTable::from_pods(&want[1..]));
    for (view, pod) in table.iter().zip(&want) {
        assert_eq!((view.namespace(), view.name()), (pod.namespace(), pod.name()));
        assert_eq!((view.timestamp(), view.window()), (pod.timestamp, pod.window));
        for resource in ["cpu", "memory", "nvidia.com/gpu", "swap"] {
            assert_eq!(view.total(resource), pod.total(resource), "{resource}");
        }
        for (c, want) in view.containers().zip(&pod.containers) {
            assert_eq!(c.name(), want.name);
            assert_eq!(c.cpu(), want.usage.get("cpu").copied().unwrap_or_default());
            assert_eq!(c.memory(), want.usage.get("memory").copied().unwrap_or_default());
            assert_eq!(c.usage_of("nvidia.com/gpu"), want.usage.get("nvidia.com/gpu").copied());
        }
        let indexes = view.container_indexes();
        let by_index: Vec<_> = indexes.filter_map(|i| table.container(i)).map(|c| c.to_container_metrics()).collect();
        assert_eq!(by_index, pod.containers);
    }
}

#[test]
fn protobuf_and_objects_give_the_same_table() {
    let pods = whole(BODY);
    assert_eq!(WholePodMetricsTable::from_pods(&pods).to_pods(), pods);
    let list = PodMetricsList { items: pods.clone(), ..Default::default() };
    let pb = protobuf::encode_pod_metrics_list(&list, "metrics.k8s.io/v1beta1");
    let decoded = protobuf::decode_pod_metrics_list(&pb).expect("protobuf").items;
    assert_eq!(WholePodMetricsTable::from_protobuf(&pb).expect("protobuf").to_pods(), decoded);
    let json = crate::metrics::to_wire_json(&list, "metrics.k8s.io/v1beta1");
    assert_eq!(WholePodMetricsTable::from_json(json.as_bytes()).expect("json").to_pods(), pods);
}

#[test]
fn rejects_what_a_whole_decode_rejects() {
    for body in [
        r#"{"items":[{"window":"1s"}]}"#,
        r#"{"items":[{"timestamp":"2024-01-01T00:00:00Z"}]}"#,
        r#"{"items":[{"timestamp":"2024-01-01T00:00:00Z","window":"1s","containers":[{"usage":{}}]}]}"#,
        r#"{"items":[{"timestamp":"2024-01-01T00:00:00Z","window":"1s","containers":[{"name":"a","usage":{"cpu":"1K"}}]}]}"#,
        r#"{"items":[{"metadata":{"uid":7},"timestamp":"2024-01-01T00:00:00Z","window":"1s"}]}"#,
        r#"{"items":[] } trailing"#,
    ] {
        assert!(serde_json::from_str::<PodMetricsList>(body).is_err(), "{body}");
        let e = WholePodMetricsTable::from_json(body.as_bytes()).expect_err(body);
        assert_eq!(e.kind(), ErrorKind::Api, "{body}");
    }
    for body in [r#"{"items":null}"#, "{}"] {
        assert!(WholePodMetricsTable::from_json(body.as_bytes()).expect(body).is_empty());
    }
}
