//! Python binding of kubemetrics: the native module `kubemetrics._native`, re-exported by the
//! `kubemetrics` package. Every function converts its arguments, calls one core function,
//! converts the result and maps the error (see `errors`); all logic lives in the core crate.

mod client;
mod convert;
mod custom;
mod errors;
mod lazy;
mod methods;
mod metrics;
mod provider;
mod quantity;
mod seq;
mod top;

use pyo3::prelude::*;

/// Parses a quantity string: the same as `Quantity(s)`.
#[pyfunction]
fn parse_quantity(s: quantity::QuantityLike) -> quantity::PyQuantity {
    quantity::PyQuantity(s.0)
}

/// Exact Kubernetes quantities, typed metrics.k8s.io types, a Metrics API client,
/// kubectl-identical `top`, pod requests, custom/external metric reads, and custom/external
/// metrics servers for the HorizontalPodAutoscaler with providers written in Python.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    m.add_class::<quantity::PyQuantity>()?;
    m.add_class::<metrics::PyNodeMetrics>()?;
    m.add_class::<metrics::PyPodMetrics>()?;
    m.add_class::<metrics::PyContainerMetrics>()?;
    m.add_class::<metrics::PyPodMetricsList>()?;
    m.add_class::<top::PyNodeRow>()?;
    m.add_class::<top::PyPodRow>()?;
    m.add_class::<top::PyContainerRow>()?;
    m.add_class::<top::PyTopPods>()?;
    m.add_class::<top::PyPodRequests>()?;
    m.add_class::<custom::PyMetricValue>()?;
    m.add_class::<custom::PyExternalMetricValue>()?;
    m.add_class::<client::PyClient>()?;
    m.add_class::<client::PyAsyncClient>()?;
    m.add_class::<provider::PyObjectRef>()?;
    m.add_class::<provider::PyLabelSelector>()?;
    m.add_class::<provider::PyCustomMetricInfo>()?;
    m.add_class::<provider::PyCustomMetricsServer>()?;
    m.add_function(wrap_pyfunction!(parse_quantity, m)?)?;
    m.add_function(wrap_pyfunction!(provider::serve_custom_metrics, m)?)?;
    Ok(())
}
