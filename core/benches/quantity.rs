//! Parse + format of the values metrics-server and kubelets emit, in ns per value.
//! Run: `cargo bench -p kubemetrics --bench quantity`.

use criterion::{Criterion, criterion_group, criterion_main};
use kubemetrics::Quantity;
use std::hint::black_box;

const VALUES: &[&str] = &["250264852n", "8318172Ki", "1500m", "969654n", "15012Ki", "1630534153n", "13280692Ki", "100m", "2Gi", "1.5"];

fn bench(c: &mut Criterion) {
    c.bench_function("parse (10 metrics-server values)", |b| {
        b.iter(|| {
            for v in VALUES {
                black_box(Quantity::parse(black_box(v)).ok());
            }
        })
    });
    let parsed: Vec<Quantity> = VALUES.iter().filter_map(|v| v.parse().ok()).collect();
    c.bench_function("format (10 values)", |b| {
        b.iter(|| {
            for q in &parsed {
                black_box(q.to_string());
            }
        })
    });
    c.bench_function("parse + format + milli (10 values)", |b| {
        b.iter(|| {
            for v in VALUES {
                if let Ok(q) = Quantity::parse(black_box(v)) {
                    black_box((q.to_string(), q.milli_value()));
                }
            }
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
