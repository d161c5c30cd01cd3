//! Node.js binding of kubemetrics (napi-rs): exact Kubernetes quantities, typed Metrics API
//! reads, kubectl-identical `top`, custom and external metrics reads, and custom/external
//! metrics servers whose providers are written in JavaScript.
//!
//! Every function here converts its arguments, calls one core function, converts the result and
//! maps the error with [`to_js_error`]; all logic lives in the `kubemetrics` crate.

#![deny(clippy::unwrap_used)]

mod client;
mod columns;
mod convert;
mod custom;
mod quantity;
mod raw;
mod selector;
mod serve;
mod wire;

pub use client::Client;
pub use columns::{PodRowUsageColumns, PodUsageColumns};
pub use convert::{ContainerMetrics, ContainerRow, NodeMetrics, NodeRow, ObjectMeta, PodMetrics, PodRow, TopPods};
pub use custom::{
    CustomMetricOptions, CustomMetricsListOptions, DescribedObject, ExternalMetricOptions, ExternalMetricValue, MetricIdentifier, MetricObject, MetricValue,
};
pub use quantity::{Quantity, QuantityFormat};
pub use selector::LabelSelector;
pub use serve::{
    CustomMetricInfo, CustomMetricsProvider, CustomMetricsServer, ExternalMetricSeries, ExternalMetricsProvider, NamedMetricValue, QuantityLike,
    ServeCustomMetricsOptions, serve_custom_metrics,
};

use kubemetrics::ErrorKind;
use napi::JsValue;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::future::Future;

/// The `code` of every error kubemetrics throws or rejects with, one per error kind.
///
/// Errors are plain JavaScript `Error`s with `code` set to one of these values, `message` set to
/// the human-readable message (the server's own message when a server answered) and `status` set
/// to the HTTP status code when a server answered.
#[napi(string_enum)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// No usable configuration: kubeconfig missing or invalid, unknown context, bad option value.
    #[napi(value = "ERR_KM_CONFIG")]
    Config,
    /// The server refused who we are or what we asked (HTTP 401 or 403).
    #[napi(value = "ERR_KM_AUTH")]
    Auth,
    /// The named object does not exist (HTTP 404 from the server, or an unknown name locally).
    #[napi(value = "ERR_KM_NOT_FOUND")]
    NotFound,
    /// No Metrics API is served by the cluster (kubectl: "Metrics API not available").
    #[napi(value = "ERR_KM_METRICS_UNAVAILABLE")]
    MetricsUnavailable,
    /// The server answered with an error or with a body that could not be decoded.
    #[napi(value = "ERR_KM_API")]
    Api,
    /// A quantity string is not a valid Kubernetes quantity, or a value does not fit.
    #[napi(value = "ERR_KM_QUANTITY")]
    Quantity,
    /// Network or file I/O failed: connection refused, timeout, unreadable file.
    #[napi(value = "ERR_KM_IO")]
    Io,
    /// A bug or an invariant broken inside kubemetrics.
    #[napi(value = "ERR_KM_INTERNAL")]
    Internal,
}

impl ErrorCode {
    /// The code of a core error kind.
    fn of(kind: ErrorKind) -> ErrorCode {
        match kind {
            ErrorKind::Config => ErrorCode::Config,
            ErrorKind::Auth => ErrorCode::Auth,
            ErrorKind::NotFound => ErrorCode::NotFound,
            ErrorKind::MetricsUnavailable => ErrorCode::MetricsUnavailable,
            ErrorKind::Api => ErrorCode::Api,
            ErrorKind::Quantity => ErrorCode::Quantity,
            ErrorKind::Io => ErrorCode::Io,
            _ => ErrorCode::Internal,
        }
    }

    /// The string JavaScript sees in `error.code`.
    fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Config => "ERR_KM_CONFIG",
            ErrorCode::Auth => "ERR_KM_AUTH",
            ErrorCode::NotFound => "ERR_KM_NOT_FOUND",
            ErrorCode::MetricsUnavailable => "ERR_KM_METRICS_UNAVAILABLE",
            ErrorCode::Api => "ERR_KM_API",
            ErrorCode::Quantity => "ERR_KM_QUANTITY",
            ErrorCode::Io => "ERR_KM_IO",
            ErrorCode::Internal => "ERR_KM_INTERNAL",
        }
    }
}

/// The one mapping of a core error to JavaScript: an `Error` with `code`, `message` and, when a
/// server answered, `status`. The returned napi error carries that very object, so throwing or
/// rejecting with it hands JavaScript the object unchanged.
pub(crate) fn to_js_error(env: &Env, e: &kubemetrics::Error) -> Error {
    let code = ErrorCode::of(e.kind()).as_str();
    let build = || -> Result<Error> {
        let unknown = JsError::from(Error::new(code, e.message())).into_unknown(*env);
        if let Some(status) = e.status() {
            let mut object = unknown.coerce_to_object()?;
            object.set_named_property("status", u32::from(status))?;
        }
        Ok(Error::from(unknown))
    };
    // If the environment cannot build the object (it is shutting down), fall back to napi's
    // own error with the same message.
    build().unwrap_or_else(|_| Error::new(Status::GenericFailure, format!("{code}: {}", e.message())))
}

/// Runs `fut` on napi's tokio runtime and returns a Promise of its result: `convert` turns the
/// value into JavaScript on the main thread; an error rejects with [`to_js_error`].
pub(crate) fn spawn<'env, T, V, F, C>(env: &'env Env, fut: F, convert: C) -> Result<PromiseRaw<'env, V>>
where
    T: Send + 'static,
    V: ToNapiValue,
    F: Future<Output = kubemetrics::Result<T>> + Send + 'static,
    C: FnOnce(&Env, T) -> Result<V> + 'static,
{
    env.spawn_future_with_callback(async move { Ok(fut.await) }, move |env, result| match result {
        Ok(value) => convert(env, value),
        Err(e) => Err(to_js_error(env, &e)),
    })
}
