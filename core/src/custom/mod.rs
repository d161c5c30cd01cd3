//! Custom and external metrics: serving them for the HPA from a provider (Rust today; the
//! provider traits are what the bindings implement), and [`PushProvider`] for values pushed by
//! applications.

pub mod provider;
pub mod routes;

pub use provider::{BoxFuture, CustomMetricInfo, CustomMetricsProvider, ExternalMetricsProvider, ObjectRef, PushProvider};

#[cfg(test)]
mod tests;
