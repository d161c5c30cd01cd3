//! Parsing kubelet `/metrics/resource` bodies, as a scrape does: the real kind fixture (70 pods)
//! and a simulated kubelet 1.29+ body of 30 pods × 2 containers (what the benchmark fleet
//! serves), fed in 16 KiB pieces (a TLS record's plaintext), per body.
//! Run: `cargo bench -p kubemetrics --bench scrape`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kubemetrics::scrape::Parser;
use kubemetrics::testkit::simulate::{Fleet, FleetConfig};
use std::hint::black_box;
use std::path::PathBuf;

fn simulated_body() -> Vec<u8> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let fleet = Fleet::start(FleetConfig { nodes: 1, pods_per_node: 30, containers_per_pod: 2, ..FleetConfig::default() }).await.expect("fleet");
        let body = fleet.render_metrics_resource(&fleet.node_names()[0]).expect("render");
        fleet.shutdown().await;
        body
    })
}

fn bench(c: &mut Criterion) {
    let fixture =
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/kubelet/metrics-resource-kind-70pods.prom")).expect("fixture");
    let bodies = [("kind fixture, 70 pods", fixture), ("simulated kubelet, 30 pods x 2 containers", simulated_body())];
    let mut group = c.benchmark_group("parse /metrics/resource");
    for (name, body) in &bodies {
        let mut parser = Parser::default();
        let containers = parser.parse(body, 0).expect("parses").len();
        assert!(containers > 0, "{name}: no container parsed");
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(*name, |b| {
            b.iter(|| {
                parser.begin(0);
                for piece in black_box(body).chunks(16 * 1024) {
                    parser.feed(piece).expect("feeds");
                }
                black_box(parser.finish().expect("parses"))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
