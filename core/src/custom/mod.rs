//! Custom and external metrics: serving them for the HPA from a provider (Rust, or Python and
//! Node through the bindings, which implement the provider traits), and [`PushProvider`] for
//! values pushed by applications.

mod provider;
pub(crate) mod routes;
mod serve;

pub use crate::metrics::custom::{ObjectRef, ObjectValue, SelectorQuery, SeriesValue, cluster_scoped, described_kind, external_values, metric_value};
pub use provider::{BoxFuture, CustomMetricInfo, CustomMetricsProvider, ExternalMetricsProvider, PushProvider, external_metric_names};
pub use routes::PROVIDER_TIMEOUT;
pub use serve::serve;

#[cfg(test)]
mod tests;
