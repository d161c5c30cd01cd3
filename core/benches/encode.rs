//! Writing a served list: 10,000 snapshot pods (two containers, three labels each, usage as the
//! collector measures it) as a protobuf and as a JSON `PodMetricsList`, per list.
//! Run: `cargo bench -p kubemetrics --bench encode`.

use criterion::{Criterion, criterion_group, criterion_main};
use kubemetrics::metrics::{GoDuration, Time, list_to_wire_json, protobuf};
use kubemetrics::store::{ServedContainer, ServedPod, ServedUsage, SharedName};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;

fn pods() -> Vec<ServedPod> {
    let namespace = SharedName::from("namespace-07");
    let (app, sidecar) = (SharedName::from("app"), SharedName::from("sidecar-proxy"));
    let labels: Arc<BTreeMap<String, String>> =
        Arc::new([("app", "app-3"), ("pod-template-hash", "5d8f7c9b6"), ("tier", "backend")].map(|(k, v)| (k.to_string(), v.to_string())).into());
    let at = Time(jiff::Timestamp::from_second(1_700_000_000).expect("time"));
    (0..10_000u64)
        .map(|i| ServedPod {
            namespace: namespace.clone(),
            name: Arc::from(format!("app-3-deployment-5d8f7c9b6-{i:05}").as_str()),
            labels: Some(labels.clone()),
            timestamp: at,
            window: GoDuration(15_000_000_000),
            containers: vec![
                ServedContainer { name: app.clone(), usage: ServedUsage::measured(250_264_852 + i * 7_919, 8_517_808_128 + i * 4_096, Some(0)) },
                ServedContainer { name: sidecar.clone(), usage: ServedUsage::measured(1_264_852 + i, 17_808_128 + i * 1_024, Some(0)) },
            ]
            .into(),
            extra_metadata: None,
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let pods = pods();
    let items: Vec<&ServedPod> = pods.iter().collect();
    let now = Time(jiff::Timestamp::from_second(1_700_000_005).expect("time"));
    c.bench_function("protobuf PodMetricsList, 10,000 snapshot pods", |b| {
        b.iter(|| black_box(protobuf::encode_pod_list("metrics.k8s.io/v1beta1", black_box(&items), Some(&now))))
    });
    c.bench_function("JSON PodMetricsList, 10,000 snapshot pods", |b| {
        b.iter(|| black_box(list_to_wire_json("PodMetricsList", "metrics.k8s.io/v1beta1", black_box(&items), Some(&now))))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
