//! # kubemetrics
//!
//! Read and serve Kubernetes resource metrics, exactly.
//!
//! ## The map of the crate
//!
//! Pure data (always built, no I/O: no tokio, hyper, kube or TLS in the dependency tree):
//! - [`quantity`] — [`Quantity`], the exact Kubernetes `resource.Quantity`: parse, canonical form,
//!   exact integer accessors, arithmetic.
//! - [`metrics`] — the wire types of `metrics.k8s.io` ([`NodeMetrics`], [`PodMetrics`], ...) and of
//!   `custom.metrics.k8s.io` / `external.metrics.k8s.io` ([`metrics::custom`]), byte-compatible
//!   with the Kubernetes JSON.
//! - [`selector`] — label and field selectors (`app=web,tier!=db`), parsed and matched.
//! - [`error`] — [`Error`] and its small, stable [`ErrorKind`]: the one error model every binding
//!   maps.
//!
//! Feature `client` (default) — reading a cluster:
//! - [`client`] — [`Client`]: typed reads of the Metrics API, custom and external metrics, Nodes
//!   and Pods, with kubectl's configuration inference.
//! - [`top`] — `kubectl top` as data rows and as kubectl's table, byte for byte; also from the
//!   kubelets directly ([`top::KubeletSource`]).
//! - [`scrape`] — decoders of the kubelet `/metrics/resource` and `/stats/summary` bodies.
//! - [`store`] — the two-point series store that turns cumulative counters into usage.
//!
//! Feature `server` — a drop-in metrics-server (`kubemetrics serve`):
//! - [`collector`] — the node/pod inventory and the scrape scheduler.
//! - [`server`] — the HTTPS server: routes, delegated authentication and authorization, TLS,
//!   health checks and self-metrics.
//! - [`custom`] — serving custom and external metrics from providers.
//! - the kubelet HTTPS client lives in [`scrape`] (`scrape::kubelet`).
//!
//! Feature `testkit` (off by default, for tests, benchmarks and the CLI's `demo`): a loopback API
//! server and a simulated kubelet fleet. Not part of the supported API.
//!
//! ```
//! use kubemetrics::Quantity;
//! let cpu: Quantity = "250264852n".parse()?;
//! assert_eq!(cpu.milli_value(), Some(251)); // kubectl top shows 251m
//! # Ok::<(), kubemetrics::Error>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
// The map above links to rooms that only exist with their features.
#![cfg_attr(not(feature = "server"), allow(rustdoc::broken_intra_doc_links))]

pub mod error;
pub mod metrics;
pub mod quantity;
pub mod selector;

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
pub mod scrape;
#[cfg(feature = "client")]
pub mod store;
#[cfg(feature = "client")]
pub mod top;

#[cfg(feature = "server")]
pub mod collector;
#[cfg(feature = "server")]
pub mod custom;
#[cfg(feature = "server")]
pub mod server;

#[cfg(feature = "testkit")]
#[doc(hidden)]
pub mod testkit;

#[cfg(feature = "client")]
pub use client::{Client, ConnectionSettings, ListOptions};
pub use error::{Error, ErrorKind, Result};
pub use metrics::{ContainerMetrics, GoDuration, NodeMetrics, NodeMetricsList, PodMetrics, PodMetricsList};
pub use quantity::{Format, Quantity};
