//! Reading a pod list: a `PodMetricsList` of 100,000 pods (two containers each, as a
//! metrics-server serves them) decoded from JSON and from protobuf into what each reader keeps —
//! `PodMetricsTable` (`top`), `WholePodMetricsTable` (Python's lists), `PodMetricsColumns`
//! (Node's lists); each in 64 KiB pieces as the client reads bodies from the network, the last two
//! also from whole bodies — and
//! sorted and summed as `kubectl top pod -A` does. Run: `cargo bench -p kubemetrics --bench decode`.

use criterion::{Criterion, criterion_group, criterion_main};
use kubemetrics::metrics::table::PodMetricsTable;
use kubemetrics::metrics::table_columns::PodMetricsColumns;
use kubemetrics::metrics::whole_table::WholePodMetricsTable;
use kubemetrics::top::{TopPodOptions, TopPodsTable};
use std::fmt::Write as _;
use std::hint::black_box;

const PODS: usize = 100_000;

/// A list shaped like metrics-server's answer for a cluster of many small namespaces.
fn json_body() -> Vec<u8> {
    let mut s = String::from(r#"{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},"items":["#);
    for i in 0..PODS {
        if i > 0 {
            s.push(',');
        }
        let (ns, app) = (i % 97, i % 613);
        let cpu = 250_264_852 + (i as u64) * 7_919;
        let mem = 8_318_172 + (i as u64) * 4;
        write!(
            s,
            r#"{{"metadata":{{"name":"app-{app}-deployment-5d8f7c9b6-{i:06}","namespace":"team-{ns:02}","creationTimestamp":"2026-12-04T10:15:00Z","labels":{{"app":"app-{app}","pod-template-hash":"5d8f7c9b6"}}}},"timestamp":"2026-12-04T10:14:52Z","window":"15.012s","containers":[{{"name":"app","usage":{{"cpu":"{cpu}n","memory":"{mem}Ki"}}}},{{"name":"istio-proxy","usage":{{"cpu":"{}n","memory":"{}Ki"}}}}]}}"#,
            cpu / 40,
            mem / 30
        )
        .expect("write to a String");
    }
    s.push_str("]}");
    s.into_bytes()
}

fn bench(c: &mut Criterion) {
    let json = json_body();
    let table = PodMetricsTable::from_json(&json).expect("the generated list decodes");
    assert_eq!(table.len(), PODS);
    let list: kubemetrics::metrics::PodMetricsList = serde_json::from_slice(&json).expect("the generated list is a PodMetricsList");
    let protobuf = kubemetrics::metrics::protobuf::encode_pod_metrics_list(&list, "metrics.k8s.io/v1beta1");
    c.bench_function("JSON PodMetricsList -> table, 100,000 pods (64 KiB pieces)", |b| {
        b.iter(|| black_box(PodMetricsTable::from_json_chunks(black_box(&json).chunks(64 << 10)).expect("decodes")))
    });
    c.bench_function("protobuf PodMetricsList -> table, 100,000 pods (64 KiB pieces)", |b| {
        b.iter(|| black_box(PodMetricsTable::from_protobuf_chunks(black_box(&protobuf).chunks(64 << 10)).expect("decodes")))
    });
    c.bench_function("JSON PodMetricsList -> whole table (Python), 100,000 pods", |b| {
        b.iter(|| black_box(WholePodMetricsTable::from_json(black_box(&json)).expect("decodes")))
    });
    c.bench_function("protobuf PodMetricsList -> whole table (Python), 100,000 pods", |b| {
        b.iter(|| black_box(WholePodMetricsTable::from_protobuf(black_box(&protobuf)).expect("decodes")))
    });
    c.bench_function("JSON PodMetricsList -> whole table (Python), 100,000 pods (64 KiB pieces)", |b| {
        b.iter(|| black_box(WholePodMetricsTable::from_json_chunks(black_box(&json).chunks(64 << 10)).expect("decodes")))
    });
    c.bench_function("protobuf PodMetricsList -> whole table (Python), 100,000 pods (64 KiB pieces)", |b| {
        b.iter(|| black_box(WholePodMetricsTable::from_protobuf_chunks(black_box(&protobuf).chunks(64 << 10)).expect("decodes")))
    });
    c.bench_function("JSON PodMetricsList -> columns (Node), 100,000 pods (64 KiB pieces)", |b| {
        b.iter(|| black_box(PodMetricsColumns::from_json_chunks(black_box(&json).chunks(64 << 10)).expect("decodes")))
    });
    c.bench_function("protobuf PodMetricsList -> columns (Node), 100,000 pods (64 KiB pieces)", |b| {
        b.iter(|| black_box(PodMetricsColumns::from_protobuf_chunks(black_box(&protobuf).chunks(64 << 10)).expect("decodes")))
    });
    c.bench_function("JSON PodMetricsList -> columns (Node), 100,000 pods", |b| {
        b.iter(|| black_box(PodMetricsColumns::from_json(black_box(&json)).expect("decodes")))
    });
    c.bench_function("protobuf PodMetricsList -> columns (Node), 100,000 pods", |b| {
        b.iter(|| black_box(PodMetricsColumns::from_protobuf(black_box(&protobuf)).expect("decodes")))
    });
    let options = TopPodOptions { all_namespaces: true, ..Default::default() };
    c.bench_function("top pod -A: sort and sum the table, 100,000 pods", |b| {
        b.iter_batched(|| table.clone(), |t| black_box(TopPodsTable::from_table(t, &options).expect("sorts")), criterion::BatchSize::LargeInput)
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
