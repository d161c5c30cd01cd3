//! Custom and external metrics: serving them for the HPA from a provider (Rust, or Python and
//! Node through the bindings, which implement the provider traits), and [`PushProvider`] for
//! values pushed by applications.

pub mod provider;
pub mod routes;
mod serve;

pub use crate::metrics::custom::{ObjectRef, described_kind};
pub use provider::{BoxFuture, CustomMetricInfo, CustomMetricsProvider, ExternalMetricsProvider, PushProvider};
pub use serve::serve;

#[cfg(test)]
mod tests;
