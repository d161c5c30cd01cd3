//! `NodeMetrics`, `PodMetrics`, `ContainerMetrics`: the `metrics.k8s.io` types.

use crate::convert::*;
use crate::quantity::{PyQuantity, QuantityLike};
use kubemetrics::metrics::ObjectMeta;
use kubemetrics::metrics::to_wire_json;
use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::collections::BTreeMap;

const API_VERSION: &str = <kubemetrics::NodeMetrics as k8s_openapi::Resource>::API_VERSION;

fn meta_hash(m: &ObjectMeta, extra: i128) -> u64 {
    hash_of(&(m.namespace.as_deref(), m.name.as_deref(), extra))
}

/// The resource usage of one node (`metrics.k8s.io` `NodeMetrics`).
///
/// `NodeMetrics(name, usage, timestamp, window, labels=None)` builds one (for tests); clients
/// return them from `list_node_metrics` and `get_node_metrics`. Immutable, hashable, pickles;
/// `to_dict()` gives the Kubernetes JSON shape.
#[pyclass(frozen, module = "kubemetrics", name = "NodeMetrics")]
#[derive(Clone, Debug)]
pub struct PyNodeMetrics(pub kubemetrics::NodeMetrics);

#[pymethods]
impl PyNodeMetrics {
    #[new]
    #[pyo3(signature = (name, usage, timestamp, window, labels = None))]
    fn new(
        name: String,
        usage: BTreeMap<String, QuantityLike>,
        timestamp: &Bound<'_, PyAny>,
        window: &Bound<'_, PyAny>,
        labels: Option<BTreeMap<String, String>>,
    ) -> PyResult<Self> {
        Ok(PyNodeMetrics(kubemetrics::NodeMetrics {
            metadata: ObjectMeta { name: Some(name), labels, ..Default::default() },
            timestamp: time_from_py(timestamp)?,
            window: duration_from_py(window)?,
            usage: usage_from_py(usage),
        }))
    }

    /// The node name (empty if unset).
    #[getter]
    fn name(&self) -> &str {
        self.0.name()
    }

    /// Labels, copied from the Node.
    #[getter]
    fn labels<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        labels_to_py(py, &self.0.metadata.labels)
    }

    /// The end of the interval the usage was measured over (an aware `datetime` in UTC).
    #[getter]
    fn timestamp<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        time_to_py(py, &self.0.timestamp)
    }

    /// The length of that interval.
    #[getter]
    fn window<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        duration_to_py(py, self.0.window)
    }

    /// Usage by resource name (`cpu`, `memory`, `swap`, ...); CPU in cores, memory in bytes.
    #[getter]
    fn usage<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        usage_to_py(py, &self.0.usage)
    }

    /// The object as a Kubernetes server sends it (`kind` and `apiVersion` first, Go field
    /// order, canonical quantities), as dicts and lists.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.to_json())
    }

    /// The object as JSON, exactly as a Kubernetes server would write it.
    fn to_json(&self) -> String {
        to_wire_json(&self.0, API_VERSION)
    }

    /// Reads a `NodeMetrics` from its Kubernetes JSON (`ApiError` when it cannot be decoded).
    #[staticmethod]
    fn from_json(json: &str) -> PyResult<Self> {
        from_json("NodeMetrics", json).map(PyNodeMetrics)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "NodeMetrics(name={}, usage={}, timestamp={}, window={}, labels={})",
            repr_of(py, self.name())?,
            repr_of(py, self.usage(py)?)?,
            repr_of(py, self.timestamp(py)?)?,
            repr_of(py, self.window(py)?)?,
            repr_of(py, self.labels(py)?)?,
        ))
    }

    fn __richcmp__(&self, other: PyRef<'_, Self>, op: CompareOp, py: Python<'_>) -> Py<PyAny> {
        richcmp_eq(py, &self.0, &other.0, op)
    }

    fn __hash__(&self) -> u64 {
        meta_hash(&self.0.metadata, self.0.timestamp.0.as_nanosecond())
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        reduce_from_json::<Self>(py, self.to_json())
    }
}

/// The resource usage of one container of a pod.
///
/// `ContainerMetrics(name, usage)`; immutable, hashable, pickles; `to_dict()` gives the
/// Kubernetes JSON shape.
#[pyclass(frozen, module = "kubemetrics", name = "ContainerMetrics")]
#[derive(Clone, Debug)]
pub struct PyContainerMetrics(pub kubemetrics::ContainerMetrics);

#[pymethods]
impl PyContainerMetrics {
    #[new]
    fn new(name: String, usage: BTreeMap<String, QuantityLike>) -> Self {
        PyContainerMetrics(kubemetrics::ContainerMetrics { name, usage: usage_from_py(usage) })
    }

    /// Container name.
    #[getter]
    fn name(&self) -> &str {
        &self.0.name
    }

    /// Usage by resource name.
    #[getter]
    fn usage<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        usage_to_py(py, &self.0.usage)
    }

    /// The container's usage as in the Kubernetes JSON (`{"name": ..., "usage": {...}}`).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.to_json()?)
    }

    /// The container's usage as Kubernetes JSON.
    fn to_json(&self) -> PyResult<String> {
        to_json(&self.0)
    }

    /// Reads a `ContainerMetrics` from its Kubernetes JSON (`ApiError` when it cannot be decoded).
    #[staticmethod]
    fn from_json(json: &str) -> PyResult<Self> {
        from_json("ContainerMetrics", json).map(PyContainerMetrics)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("ContainerMetrics(name={}, usage={})", repr_of(py, self.name())?, repr_of(py, self.usage(py)?)?))
    }

    fn __richcmp__(&self, other: PyRef<'_, Self>, op: CompareOp, py: Python<'_>) -> Py<PyAny> {
        richcmp_eq(py, &self.0, &other.0, op)
    }

    fn __hash__(&self) -> u64 {
        hash_of(&(&self.0.name, &self.0.usage))
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        reduce_from_json::<Self>(py, self.to_json()?)
    }
}

/// The resource usage of one pod, per container (`metrics.k8s.io` `PodMetrics`).
///
/// `PodMetrics(namespace, name, containers, timestamp, window, labels=None)` builds one (for
/// tests); clients return them from `list_pod_metrics` and `get_pod_metrics`. Immutable,
/// hashable, pickles; `to_dict()` gives the Kubernetes JSON shape.
#[pyclass(frozen, module = "kubemetrics", name = "PodMetrics")]
#[derive(Clone, Debug)]
pub struct PyPodMetrics(pub kubemetrics::PodMetrics);

#[pymethods]
impl PyPodMetrics {
    #[new]
    #[pyo3(signature = (namespace, name, containers, timestamp, window, labels = None))]
    fn new(
        namespace: String,
        name: String,
        containers: Vec<PyRef<'_, PyContainerMetrics>>,
        timestamp: &Bound<'_, PyAny>,
        window: &Bound<'_, PyAny>,
        labels: Option<BTreeMap<String, String>>,
    ) -> PyResult<Self> {
        Ok(PyPodMetrics(kubemetrics::PodMetrics {
            metadata: ObjectMeta { name: Some(name), namespace: Some(namespace), labels, ..Default::default() },
            timestamp: time_from_py(timestamp)?,
            window: duration_from_py(window)?,
            containers: containers.iter().map(|c| c.0.clone()).collect(),
        }))
    }

    /// The pod namespace (empty if unset).
    #[getter]
    fn namespace(&self) -> &str {
        self.0.namespace()
    }

    /// The pod name (empty if unset).
    #[getter]
    fn name(&self) -> &str {
        self.0.name()
    }

    /// Labels, copied from the Pod.
    #[getter]
    fn labels<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        labels_to_py(py, &self.0.metadata.labels)
    }

    /// The end of the interval the usage was measured over (the earliest container's), an
    /// aware `datetime` in UTC.
    #[getter]
    fn timestamp<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        time_to_py(py, &self.0.timestamp)
    }

    /// The length of that interval.
    #[getter]
    fn window<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        duration_to_py(py, self.0.window)
    }

    /// Usage per container.
    #[getter]
    fn containers(&self) -> Vec<PyContainerMetrics> {
        self.0.containers.iter().cloned().map(PyContainerMetrics).collect()
    }

    /// The sum over containers of one resource's usage (zero if no container reports it).
    fn total(&self, resource: &str) -> PyQuantity {
        PyQuantity(self.0.total(resource))
    }

    /// The object as a Kubernetes server sends it (`kind` and `apiVersion` first, Go field
    /// order, canonical quantities), as dicts and lists.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.to_json())
    }

    /// The object as JSON, exactly as a Kubernetes server would write it.
    fn to_json(&self) -> String {
        to_wire_json(&self.0, API_VERSION)
    }

    /// Reads a `PodMetrics` from its Kubernetes JSON (`ApiError` when it cannot be decoded).
    #[staticmethod]
    fn from_json(json: &str) -> PyResult<Self> {
        from_json("PodMetrics", json).map(PyPodMetrics)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "PodMetrics(namespace={}, name={}, containers={}, timestamp={}, window={}, labels={})",
            repr_of(py, self.namespace())?,
            repr_of(py, self.name())?,
            repr_of(py, self.containers())?,
            repr_of(py, self.timestamp(py)?)?,
            repr_of(py, self.window(py)?)?,
            repr_of(py, self.labels(py)?)?,
        ))
    }

    fn __richcmp__(&self, other: PyRef<'_, Self>, op: CompareOp, py: Python<'_>) -> Py<PyAny> {
        richcmp_eq(py, &self.0, &other.0, op)
    }

    fn __hash__(&self) -> u64 {
        meta_hash(&self.0.metadata, self.0.timestamp.0.as_nanosecond())
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        reduce_from_json::<Self>(py, self.to_json())
    }
}
