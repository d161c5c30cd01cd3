//! `NodeMetrics`, `PodMetrics`, `ContainerMetrics`: the `metrics.k8s.io` types.

use crate::convert::*;
use crate::lazy::Lazy;
use crate::methods::{CpuMemory, py_methods};
use crate::quantity::{PyQuantity, QuantityLike};
use crate::seq::{self, LazySeq};
use kubemetrics::metrics::ObjectMeta;
use kubemetrics::metrics::whole_table::{WholeContainerView, WholePodMetricsTable, WholePodView};
use kubemetrics::metrics::{MetricsKind, to_wire_json};
use kubemetrics::{ContainerMetrics, PodMetrics, Quantity};
use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use std::collections::BTreeMap;
use std::sync::Arc;

const API_VERSION: &str = <kubemetrics::NodeMetrics as k8s_openapi::Resource>::API_VERSION;

fn meta_hash(m: &ObjectMeta, extra: i128) -> u64 {
    hash_of(&(m.namespace.as_deref(), m.name.as_deref(), extra))
}

/// The Kubernetes JSON of a `metrics.k8s.io` object (`kind` and `apiVersion` first).
fn wire_json<T: serde::Serialize + MetricsKind>(object: &T) -> PyResult<String> {
    Ok(to_wire_json(object, API_VERSION))
}

/// A pod of a `PodMetricsList` (or an owned one).
pub(crate) type LazyPod = Lazy<PodMetrics, WholePodMetricsTable>;
/// A container of a pod of a `PodMetricsList` (or an owned one).
pub(crate) type LazyContainer = Lazy<ContainerMetrics, WholePodMetricsTable>;

impl PyPodMetrics {
    pub(crate) fn from_core(pod: PodMetrics) -> Self {
        PyPodMetrics(Lazy::owned(pod))
    }
}

fn pod_wire_json(pod: &LazyPod) -> PyResult<String> {
    wire_json(&**pod)
}

/// What the getters read straight from the table, with no whole `PodMetrics`.
impl LazyPod {
    fn view(&self) -> Option<WholePodView<'_>> {
        self.source().and_then(|(table, i)| table.get(i))
    }

    /// The pod name (empty if unset).
    pub(crate) fn name(&self) -> &str {
        self.view().map_or_else(|| (**self).name(), |v| v.name())
    }

    /// The pod namespace (empty if unset).
    pub(crate) fn namespace(&self) -> &str {
        self.view().map_or_else(|| (**self).namespace(), |v| v.namespace())
    }

    /// The sum over containers of one resource's usage.
    pub(crate) fn total(&self, resource: &str) -> Quantity {
        self.view().map_or_else(|| (**self).total(resource), |v| v.total(resource))
    }

    /// The containers, each made when read.
    fn containers(&self) -> Vec<PyContainerMetrics> {
        match self.source().zip(self.view()) {
            Some(((table, _), view)) => view.container_indexes().map(|c| PyContainerMetrics(Lazy::at(Arc::clone(table), c))).collect(),
            None => self.containers.iter().cloned().map(|c| PyContainerMetrics(Lazy::owned(c))).collect(),
        }
    }
}

impl LazyContainer {
    fn view(&self) -> Option<WholeContainerView<'_>> {
        self.source().and_then(|(table, i)| table.container(i))
    }

    /// Container name.
    pub(crate) fn name(&self) -> &str {
        self.view().map_or_else(|| self.name.as_str(), |v| v.name())
    }

    /// Usage of one resource, zero when not reported.
    fn usage_or_zero(&self, resource: &str) -> Quantity {
        self.view().map_or_else(|| self.usage.get(resource).copied(), |v| v.usage_of(resource)).unwrap_or_default()
    }
}

impl CpuMemory for LazyPod {
    fn cpu(&self) -> Quantity {
        self.total("cpu")
    }
    fn memory(&self) -> Quantity {
        self.total("memory")
    }
}

impl CpuMemory for LazyContainer {
    fn cpu(&self) -> Quantity {
        self.usage_or_zero("cpu")
    }
    fn memory(&self) -> Quantity {
        self.usage_or_zero("memory")
    }
}

/// The resource usage of one node (`metrics.k8s.io` `NodeMetrics`).
///
/// `NodeMetrics(name, usage, timestamp, window, labels=None)` builds one (for tests); clients
/// return them from `list_node_metrics` and `get_node_metrics`. Immutable, hashable, pickles;
/// `to_dict()` gives the Kubernetes JSON shape.
#[pyclass(frozen, module = "kubemetrics", name = "NodeMetrics")]
#[derive(Clone, Debug)]
pub struct PyNodeMetrics(pub kubemetrics::NodeMetrics);

py_methods!(PyNodeMetrics {
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

    /// Usage by resource name (`cpu`, `memory`, `swap`, ...); CPU in cores, memory in bytes.
    #[getter]
    fn usage<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        usage_to_py(py, &self.0.usage)
    }

    fn __hash__(&self) -> u64 {
        meta_hash(&self.0.metadata, self.0.timestamp.0.as_nanosecond())
    }
} json("NodeMetrics", wire_json), metrics_meta, repr(name, usage, timestamp, window, labels));

/// The resource usage of one container of a pod.
///
/// `ContainerMetrics(name, usage)`; immutable, hashable, pickles; `to_dict()` gives the
/// Kubernetes JSON shape.
#[pyclass(frozen, module = "kubemetrics", name = "ContainerMetrics")]
#[derive(Clone, Debug)]
pub struct PyContainerMetrics(pub(crate) LazyContainer);

py_methods!(PyContainerMetrics {
    #[new]
    fn new(name: String, usage: BTreeMap<String, QuantityLike>) -> Self {
        PyContainerMetrics(Lazy::owned(ContainerMetrics { name, usage: usage_from_py(usage) }))
    }

    /// Container name.
    #[getter]
    fn name(&self) -> &str {
        self.0.name()
    }

    /// Usage by resource name.
    #[getter]
    fn usage<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        usage_to_py(py, &self.0.usage)
    }

    fn __hash__(&self) -> u64 {
        hash_of(&(&self.0.name, &self.0.usage))
    }
} json("ContainerMetrics", to_json), usage_ints, repr(name, usage));

/// The resource usage of one pod, per container (`metrics.k8s.io` `PodMetrics`).
///
/// `PodMetrics(namespace, name, containers, timestamp, window, labels=None)` builds one (for
/// tests); clients return them from `list_pod_metrics` and `get_pod_metrics`. Immutable,
/// hashable, pickles; `to_dict()` gives the Kubernetes JSON shape.
#[pyclass(frozen, module = "kubemetrics", name = "PodMetrics")]
#[derive(Clone, Debug)]
pub struct PyPodMetrics(pub(crate) LazyPod);

py_methods!(PyPodMetrics {
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
        Ok(PyPodMetrics(Lazy::owned(PodMetrics {
            metadata: ObjectMeta { name: Some(name), namespace: Some(namespace), labels, ..Default::default() },
            timestamp: time_from_py(timestamp)?,
            window: duration_from_py(window)?,
            containers: containers.iter().map(|c| (*c.0).clone()).collect(),
        })))
    }

    /// The pod namespace (empty if unset).
    #[getter]
    fn namespace(&self) -> &str {
        self.0.namespace()
    }

    /// Usage per container.
    #[getter]
    fn containers(&self) -> Vec<PyContainerMetrics> {
        self.0.containers()
    }

    /// The sum over containers of one resource's usage (zero if no container reports it).
    fn total(&self, resource: &str) -> PyQuantity {
        PyQuantity(self.0.total(resource))
    }

    fn __hash__(&self) -> u64 {
        meta_hash(&self.0.metadata, self.0.timestamp.0.as_nanosecond())
    }
} json("PodMetrics", pod_wire_json), metrics_meta, usage_ints, repr(namespace, name, containers, timestamp, window, labels));

/// The result of `list_pod_metrics`: a sequence of `PodMetrics` that stays Rust data.
///
/// Behaves like the list it replaces (`len`, indexes, negative indexes, slices giving lists,
/// iteration in the server's order, `==` with lists, a list's `repr`, pickles as a list), but each
/// `PodMetrics` object (and its `Quantity` objects) is made only when it is read.
#[pyclass(frozen, sequence, module = "kubemetrics", name = "PodMetricsList")]
#[derive(Debug)]
pub struct PyPodMetricsList(pub Arc<WholePodMetricsTable>);

impl PyPodMetricsList {
    pub(crate) fn from_core(table: WholePodMetricsTable) -> Self {
        PyPodMetricsList(Arc::new(table))
    }
}

impl LazySeq for PyPodMetricsList {
    const SEQ_NAME: &'static str = "PodMetricsList";

    fn seq_len(&self) -> usize {
        self.0.len()
    }

    fn item<'py>(&self, py: Python<'py>, i: usize) -> PyResult<Bound<'py, PyAny>> {
        Ok(Bound::new(py, PyPodMetrics(Lazy::at(Arc::clone(&self.0), i)))?.into_any())
    }
}

seq::lazy_sequence!(PyPodMetricsList, {
    fn __richcmp__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
        seq::richcmp(slf, other, op, |a, b| Arc::ptr_eq(&a.0, &b.0) || a.0 == b.0)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(py, seq::to_list(self, py)?)
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyList>,))> {
        Ok((py.get_type::<PyList>().into_any(), (seq::to_list(self, py)?,)))
    }
});
