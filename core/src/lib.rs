//! # kubemetrics
//!
//! Read and serve Kubernetes resource metrics, exactly.
//!
//! - [`Quantity`]: the exact Kubernetes `resource.Quantity` (parse, canonical form, arithmetic).
//! - [`metrics`]: `metrics.k8s.io` types ([`NodeMetrics`], [`PodMetrics`], ...) that work with
//!   `kube::Api`, plus the custom and external metrics types.
//! - [`Error`] / [`ErrorKind`]: the one error model every binding maps.

pub mod client;
pub mod collector;
pub mod custom;
pub mod error;
pub mod loopback_api;
pub mod metrics;
pub mod quantity;
pub mod scrape;
pub mod selector;
pub mod server;
pub mod simulate;
pub mod top;

pub use client::{Client, ConnectionSettings, ListOptions};
pub use error::{Error, ErrorKind, Result};
pub use metrics::{ContainerMetrics, GoDuration, NodeMetrics, NodeMetricsList, PodMetrics, PodMetricsList};
pub use quantity::{Format, Quantity};
