//! `MetricValue`, `ExternalMetricValue`: the `custom.metrics.k8s.io` and
//! `external.metrics.k8s.io` values (what the HorizontalPodAutoscaler reads).

use crate::convert::*;
use crate::methods::py_methods;
use crate::quantity::{PyQuantity, QuantityLike};
use kubemetrics::metrics::custom::{DescribedObject, ExternalMetricValue, MetricIdentifier, MetricValue};
use kubemetrics::metrics::meta::LabelSelector;
use pyo3::basic::CompareOp;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::collections::BTreeMap;

/// A label selector dict in the Kubernetes JSON shape (`{"matchLabels": {...}}`) as a `LabelSelector`.
fn selector_from_py(selector: Option<&Bound<'_, PyAny>>) -> PyResult<Option<LabelSelector>> {
    let Some(selector) = selector.filter(|s| !s.is_none()) else {
        return Ok(None);
    };
    serde_json::from_str(&py_to_json_text(selector)?).map(Some).map_err(|e| {
        PyValueError::new_err(format!("metric_selector is not a Kubernetes LabelSelector ({{\"matchLabels\": {{...}}, \"matchExpressions\": [...]}}): {e}"))
    })
}

/// One custom metric value (`custom.metrics.k8s.io/v1beta2` `MetricValue`): the value of one
/// metric for one object.
///
/// Clients return them from `get_custom_metric` and `list_custom_metrics` (v1beta1 servers'
/// values are read into the same shape). `object_kind`, `object_namespace`, `object_name`,
/// `object_uid`, `object_api_version` are the fields of the `describedObject`;
/// `metric_name` and `metric_selector` those of the `metric`. `MetricValue(object_kind,
/// object_namespace, object_name, metric_name, value, timestamp, window_seconds=None,
/// metric_selector=None, object_uid="", object_api_version="")` builds one (for tests).
/// Immutable, hashable, pickles; `to_dict()` gives the Kubernetes JSON shape (an item of a
/// v1beta2 `MetricValueList`).
#[pyclass(frozen, module = "kubemetrics", name = "MetricValue")]
#[derive(Clone, Debug)]
pub struct PyMetricValue(pub MetricValue);

py_methods!(PyMetricValue {
    #[new]
    #[pyo3(signature = (object_kind, object_namespace, object_name, metric_name, value, timestamp, window_seconds = None, metric_selector = None, object_uid = String::new(), object_api_version = String::new()))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        object_kind: String,
        object_namespace: String,
        object_name: String,
        metric_name: String,
        value: QuantityLike,
        timestamp: &Bound<'_, PyAny>,
        window_seconds: Option<i64>,
        metric_selector: Option<&Bound<'_, PyAny>>,
        object_uid: String,
        object_api_version: String,
    ) -> PyResult<Self> {
        Ok(PyMetricValue(MetricValue {
            described_object: DescribedObject {
                kind: object_kind,
                namespace: object_namespace,
                name: object_name,
                uid: object_uid,
                api_version: object_api_version,
            },
            metric: MetricIdentifier { name: metric_name, selector: selector_from_py(metric_selector)? },
            timestamp: time_from_py(timestamp)?,
            window_seconds,
            value: value.0,
        }))
    }

    /// The metric label selector the value was selected with, as a Kubernetes `LabelSelector`
    /// dict (`{"matchLabels": {...}}`), or None when none was given.
    #[getter]
    fn metric_selector<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.0.metric.selector.as_ref().map(|s| json_to_py(py, &to_json(s)?)).transpose()
    }

    fn __hash__(&self) -> u64 {
        let (o, v) = (&self.0.described_object, &self.0);
        hash_of(&(&o.kind, &o.namespace, &o.name, &v.metric.name, v.timestamp.0.as_nanosecond(), v.value))
    }
}
    json("MetricValue", to_json),
    measured,
    str_fields(
        object_kind(described_object.kind) = "Kind of the described object (`Pod`, `Service`, `Namespace`, ...).",
        object_namespace(described_object.namespace) = "Namespace of the described object; empty for cluster-scoped objects.",
        object_name(described_object.name) = "Name of the described object.",
        object_uid(described_object.uid) = "UID of the described object, when known (else empty).",
        object_api_version(described_object.api_version) =
            "API version of the described object (`/v1` for core objects, as custom-metrics-apiserver writes it; empty when unknown).",
        metric_name(metric.name) = "The metric's name.",
    ),
    repr(object_kind, object_namespace, object_name, metric_name, value, timestamp, window_seconds, metric_selector, object_uid, object_api_version),
);

/// One external metric value (`external.metrics.k8s.io/v1beta1` `ExternalMetricValue`): one
/// series of a metric not tied to any Kubernetes object (a queue's depth, ...).
///
/// Clients return them from `get_external_metric`. `ExternalMetricValue(metric_name,
/// metric_labels, value, timestamp, window_seconds=None)` builds one (for tests). Immutable,
/// hashable, pickles; `to_dict()` gives the Kubernetes JSON shape (an item of an
/// `ExternalMetricValueList`).
#[pyclass(frozen, module = "kubemetrics", name = "ExternalMetricValue")]
#[derive(Clone, Debug)]
pub struct PyExternalMetricValue(pub ExternalMetricValue);

py_methods!(PyExternalMetricValue {
    #[new]
    #[pyo3(signature = (metric_name, metric_labels, value, timestamp, window_seconds = None))]
    fn new(
        metric_name: String,
        metric_labels: BTreeMap<String, String>,
        value: QuantityLike,
        timestamp: &Bound<'_, PyAny>,
        window_seconds: Option<i64>,
    ) -> PyResult<Self> {
        Ok(PyExternalMetricValue(ExternalMetricValue { metric_name, metric_labels, timestamp: time_from_py(timestamp)?, window_seconds, value: value.0 }))
    }

    /// The labels of this series of the metric.
    #[getter]
    fn metric_labels<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        string_map_to_py(py, &self.0.metric_labels)
    }

    fn __hash__(&self) -> u64 {
        let v = &self.0;
        hash_of(&(&v.metric_name, &v.metric_labels, v.timestamp.0.as_nanosecond(), v.value))
    }
}
    json("ExternalMetricValue", to_json),
    measured,
    str_fields(metric_name = "The metric's name."),
    repr(metric_name, metric_labels, value, timestamp, window_seconds),
);
