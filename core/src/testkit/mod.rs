//! The test kit (feature `testkit`, off by default; not part of the supported API): a loopback
//! Kubernetes API server and a simulated kubelet fleet that speaks the real kubelet wire format.
//!
//! It exists for the tests, the benchmarks and the CLI's `demo`, `simulate` and `loopback-api`
//! commands. The production server never imports it (a test checks this).

pub mod loopback_api;
pub mod simulate;
