//! `NodeRow`, `PodRow`, `ContainerRow`, `TopPods`: the rows of `kubectl top`; `PodRequests`: what
//! pods request, and usage in percent of it.

use crate::convert::*;
use crate::lazy::Lazy;
use crate::methods::{CpuMemory, py_methods};
use crate::quantity::{PyQuantity, QuantityLike};
use crate::seq::{self, LazySeq};
use kubemetrics::Quantity;
use kubemetrics::top::{ContainerRow, NodeRow, PodRequests, PodRow, TopPods, TopPodsTable, TopPodsTableRow};
use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use std::sync::Arc;

fn q(v: Option<kubemetrics::Quantity>) -> Option<PyQuantity> {
    v.map(PyQuantity)
}

/// A row of a `TopPods` (or an owned one).
pub(crate) type LazyRow = Lazy<PodRow, TopPodsTable>;

/// The namespace and name of a row (what the `namespace_name` getters read).
pub(crate) trait RowNames {
    /// Namespace.
    fn namespace(&self) -> &str;
    /// Name.
    fn name(&self) -> &str;
}

impl RowNames for PodRequests {
    fn namespace(&self) -> &str {
        &self.namespace
    }
    fn name(&self) -> &str {
        &self.name
    }
}

impl CpuMemory for ContainerRow {
    fn cpu(&self) -> Quantity {
        self.cpu
    }
    fn memory(&self) -> Quantity {
        self.memory
    }
}

impl LazyRow {
    fn row(&self) -> Option<TopPodsTableRow<'_>> {
        self.source().and_then(|(table, i)| table.get(i))
    }
}

/// Read from the table, with no `PodRow`.
impl RowNames for LazyRow {
    fn namespace(&self) -> &str {
        self.row().map_or_else(|| self.namespace.as_str(), |r| r.namespace().as_str())
    }
    fn name(&self) -> &str {
        self.row().map_or_else(|| self.name.as_str(), |r| r.name().as_str())
    }
}

impl CpuMemory for LazyRow {
    fn cpu(&self) -> Quantity {
        self.row().map_or_else(|| self.cpu, |r| r.cpu())
    }
    fn memory(&self) -> Quantity {
        self.row().map_or_else(|| self.memory, |r| r.memory())
    }
}

/// One row of `top node`.
///
/// Nodes without metrics (kubectl's `<unknown>` rows) have `cpu` and `memory` set to None.
/// Immutable, hashable, pickles; `to_dict()` gives the row as `kubemetrics top node -o json`
/// prints it.
#[pyclass(frozen, module = "kubemetrics", name = "NodeRow")]
#[derive(Clone, Debug)]
pub struct PyNodeRow(pub NodeRow);

py_methods!(PyNodeRow {
    #[new]
    #[pyo3(signature = (name, cpu = None, memory = None, cpu_available = None, memory_available = None, cpu_percent = None, memory_percent = None))]
    fn new(
        name: String,
        cpu: Option<QuantityLike>,
        memory: Option<QuantityLike>,
        cpu_available: Option<QuantityLike>,
        memory_available: Option<QuantityLike>,
        cpu_percent: Option<i64>,
        memory_percent: Option<i64>,
    ) -> Self {
        PyNodeRow(NodeRow {
            name,
            cpu: cpu.map(|v| v.0),
            memory: memory.map(|v| v.0),
            cpu_available: cpu_available.map(|v| v.0),
            memory_available: memory_available.map(|v| v.0),
            cpu_percent,
            memory_percent,
        })
    }

    /// CPU allocatable (or capacity), if the Node object states it.
    #[getter]
    fn cpu_available(&self) -> Option<PyQuantity> {
        q(self.0.cpu_available)
    }

    /// Memory allocatable (or capacity), if the Node object states it.
    #[getter]
    fn memory_available(&self) -> Option<PyQuantity> {
        q(self.0.memory_available)
    }

    /// CPU usage in percent of `cpu_available`, truncated like kubectl.
    #[getter]
    fn cpu_percent(&self) -> Option<i64> {
        self.0.cpu_percent
    }

    /// Memory usage in percent of `memory_available`, truncated like kubectl.
    #[getter]
    fn memory_percent(&self) -> Option<i64> {
        self.0.memory_percent
    }

    /// True when the node reported metrics.
    #[getter]
    fn has_metrics(&self) -> bool {
        self.0.has_metrics()
    }

    fn __hash__(&self) -> u64 {
        let r = &self.0;
        hash_of(&(&r.name, r.cpu, r.memory, r.cpu_available, r.memory_available, r.cpu_percent, r.memory_percent))
    }
}
    dict_eq,
    cpu_memory_optional,
    str_fields(name = "Node name."),
    ctor(name, cpu, memory, cpu_available, memory_available, cpu_percent, memory_percent),
);

/// One container's usage (a row of `top pod --containers`).
///
/// Immutable, hashable, pickles; `to_dict()` gives the row as `kubemetrics top pod -o json`
/// prints it.
#[pyclass(frozen, module = "kubemetrics", name = "ContainerRow")]
#[derive(Clone, Debug)]
pub struct PyContainerRow(pub ContainerRow);

py_methods!(PyContainerRow {
    #[new]
    fn new(name: String, cpu: QuantityLike, memory: QuantityLike) -> Self {
        PyContainerRow(ContainerRow { name, cpu: cpu.0, memory: memory.0 })
    }

    fn __hash__(&self) -> u64 {
        hash_of(&(&self.0.name, self.0.cpu, self.0.memory))
    }
} dict_eq, cpu_memory, str_fields(name = "Container name."), ctor(name, cpu, memory));

/// One pod's usage: the sum over its containers (a row of `top pod`).
///
/// Immutable, hashable, pickles; `to_dict()` gives the row as `kubemetrics top pod -o json`
/// prints it.
#[pyclass(frozen, module = "kubemetrics", name = "PodRow")]
#[derive(Clone, Debug)]
pub struct PyPodRow(pub(crate) LazyRow);

py_methods!(PyPodRow {
    #[new]
    #[pyo3(signature = (namespace, name, cpu, memory, containers = Vec::new()))]
    fn new(namespace: String, name: String, cpu: QuantityLike, memory: QuantityLike, containers: Vec<PyRef<'_, PyContainerRow>>) -> Self {
        PyPodRow(Lazy::owned(PodRow { namespace, name, cpu: cpu.0, memory: memory.0, containers: containers.iter().map(|c| c.0.clone()).collect() }))
    }

    /// Per-container usage, in kubectl's container order for the chosen sort.
    #[getter]
    fn containers(&self) -> Vec<PyContainerRow> {
        self.0.containers.iter().cloned().map(PyContainerRow).collect()
    }

    fn __hash__(&self) -> u64 {
        let r = &self.0;
        let containers: Vec<_> = r.containers.iter().map(|c| (&c.name, c.cpu, c.memory)).collect();
        hash_of(&(&r.namespace, &r.name, r.cpu, r.memory, containers))
    }
} namespace_name, dict_eq, cpu_memory, ctor(namespace, name, cpu, memory, containers));

/// The result of `top pod`: rows in kubectl's order and the totals (what `--sum` prints).
///
/// A sequence of its rows that stays Rust data: `len()`, indexes (negative too), slices (lists),
/// iteration; each `PodRow` (and its `Quantity` objects) is made only when it is read.
/// Immutable, hashable, pickles; `to_dict()` gives what `kubemetrics top pod -o json` prints.
#[pyclass(frozen, sequence, module = "kubemetrics", name = "TopPods")]
#[derive(Debug)]
pub struct PyTopPods {
    inner: Arc<TopPodsTable>,
}

impl PyTopPods {
    pub(crate) fn from_core(inner: TopPodsTable) -> Self {
        PyTopPods { inner: Arc::new(inner) }
    }
}

impl LazySeq for PyTopPods {
    const SEQ_NAME: &'static str = "TopPods";

    fn seq_len(&self) -> usize {
        self.inner.len()
    }

    fn item<'py>(&self, py: Python<'py>, i: usize) -> PyResult<Bound<'py, PyAny>> {
        Ok(Bound::new(py, PyPodRow(Lazy::at(Arc::clone(&self.inner), i)))?.into_any())
    }
}

seq::lazy_sequence!(PyTopPods, {
    #[new]
    #[pyo3(signature = (pods, total_cpu, total_memory, namespace = None))]
    fn new(pods: Vec<PyRef<'_, PyPodRow>>, total_cpu: QuantityLike, total_memory: QuantityLike, namespace: Option<String>) -> Self {
        let top = TopPods { pods: pods.iter().map(|p| (*p.0).clone()).collect(), total_cpu: total_cpu.0, total_memory: total_memory.0, namespace };
        PyTopPods::from_core(TopPodsTable::from(&top))
    }

    /// Rows in kubectl's order (a new list of new rows on each access; iterate or index the
    /// `TopPods` itself to make only the rows read).
    #[getter]
    fn pods<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        seq::to_list(self, py)
    }

    /// Total CPU over all rows (what `--sum` prints).
    #[getter]
    fn total_cpu(&self) -> PyQuantity {
        PyQuantity(self.inner.total_cpu())
    }

    /// Total memory over all rows.
    #[getter]
    fn total_memory(&self) -> PyQuantity {
        PyQuantity(self.inner.total_memory())
    }

    /// The namespace read (None for all namespaces).
    #[getter]
    fn namespace(&self) -> Option<&str> {
        self.inner.namespace()
    }

    /// What `kubemetrics top pod -o json` prints, as dicts and lists.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &to_json(&self.inner.to_top_pods())?)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "TopPods(pods={}, total_cpu={:?}, total_memory={:?}, namespace={})",
            repr_of(py, self.pods(py)?)?,
            self.inner.total_cpu(),
            self.inner.total_memory(),
            repr_of(py, self.namespace())?,
        ))
    }

    fn __richcmp__(&self, other: PyRef<'_, Self>, op: CompareOp, py: Python<'_>) -> Py<PyAny> {
        richcmp_eq(py, &self.inner, &other.inner, op)
    }

    fn __hash__(&self) -> u64 {
        let t = &self.inner;
        let rows: Vec<_> = t.iter().map(|r| (r.namespace().as_str(), r.name().as_str(), r.cpu(), r.memory())).collect();
        hash_of(&(rows, t.total_cpu(), t.total_memory(), t.namespace()))
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let args = (self.pods(py)?, self.total_cpu(), self.total_memory(), self.namespace());
        Ok((py.get_type::<Self>().into_any(), args.into_pyobject(py)?))
    }
});

/// The CPU and memory requests of one pod, summed over its containers.
///
/// Clients return them from `pod_requests`; `PodRequests(namespace, name, cpu=None,
/// memory=None)` builds one (for tests). `cpu_percent(used)` and `memory_percent(used)` give
/// usage (e.g. a `PodRow`'s `cpu` / `memory`) in percent of the request, truncated like kubectl.
/// Immutable, hashable, pickles; `to_dict()` gives `{"namespace", "name", "cpu", "memory"}`
/// with quantities as canonical strings (None without a request).
#[pyclass(frozen, module = "kubemetrics", name = "PodRequests")]
#[derive(Clone, Debug)]
pub struct PyPodRequests(pub PodRequests);

py_methods!(PyPodRequests {
    #[new]
    #[pyo3(signature = (namespace, name, cpu = None, memory = None))]
    fn new(namespace: String, name: String, cpu: Option<QuantityLike>, memory: Option<QuantityLike>) -> Self {
        PyPodRequests(PodRequests { namespace, name, cpu: cpu.map(|v| v.0), memory: memory.map(|v| v.0) })
    }

    /// CPU usage in percent of the request, truncated like kubectl (None without a request).
    fn cpu_percent(&self, used: QuantityLike) -> Option<i64> {
        self.0.cpu_percent(&used.0)
    }

    /// Memory usage in percent of the request, truncated like kubectl (None without a request).
    fn memory_percent(&self, used: QuantityLike) -> Option<i64> {
        self.0.memory_percent(&used.0)
    }

    fn __hash__(&self) -> u64 {
        let r = &self.0;
        hash_of(&(&r.namespace, &r.name, r.cpu, r.memory))
    }
} namespace_name, cpu_memory_optional, dict_eq, ctor(namespace, name, cpu, memory));
