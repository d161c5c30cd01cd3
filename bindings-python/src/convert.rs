//! Conversions between core values and Python objects, shared by every class.

use crate::quantity::{PyQuantity, QuantityLike};
use kubemetrics::metrics::Time;
use kubemetrics::metrics::Usage;
use kubemetrics::{Error, ErrorKind, GoDuration};
use pyo3::IntoPyObjectExt;
use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple};
use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

/// `{"cpu": Quantity(...), ...}`
pub(crate) fn usage_to_py<'py>(py: Python<'py>, usage: &Usage) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in usage {
        d.set_item(k, PyQuantity(*v))?;
    }
    Ok(d)
}

/// A mapping of resource names to `Quantity` / quantity strings / ints.
pub(crate) fn usage_from_py(usage: BTreeMap<String, QuantityLike>) -> Usage {
    usage.into_iter().map(|(k, v)| (k, v.0)).collect()
}

/// Labels as a dict (empty when unset).
pub(crate) fn labels_to_py<'py>(py: Python<'py>, labels: &Option<BTreeMap<String, String>>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in labels.iter().flatten() {
        d.set_item(k, v)?;
    }
    Ok(d)
}

/// A string map as a dict.
pub(crate) fn string_map_to_py<'py>(py: Python<'py>, map: &BTreeMap<String, String>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in map {
        d.set_item(k, v)?;
    }
    Ok(d)
}

/// A `Time` as an aware `datetime` in UTC.
pub(crate) fn time_to_py<'py>(py: Python<'py>, t: &Time) -> PyResult<Bound<'py, PyAny>> {
    Ok(t.0.into_pyobject(py)?.into_any())
}

/// An aware `datetime` as a `Time`.
pub(crate) fn time_from_py(t: &Bound<'_, PyAny>) -> PyResult<Time> {
    Ok(Time(t.extract::<jiff::Timestamp>()?))
}

/// A Go duration as a `timedelta` (microsecond precision, as `timedelta` has).
pub(crate) fn duration_to_py<'py>(py: Python<'py>, d: GoDuration) -> PyResult<Bound<'py, PyAny>> {
    Ok(jiff::SignedDuration::from_nanos(d.as_nanos()).into_pyobject(py)?.into_any())
}

/// A `timedelta` as a Go duration.
pub(crate) fn duration_from_py(d: &Bound<'_, PyAny>) -> PyResult<GoDuration> {
    let d: jiff::SignedDuration = d.extract()?;
    i64::try_from(d.as_nanos()).map(GoDuration).map_err(|_| pyo3::exceptions::PyOverflowError::new_err("the duration does not fit 64-bit nanoseconds"))
}

/// `json.loads(text)`: the JSON the core serializes, as Python dicts and lists in wire order.
pub(crate) fn json_to_py<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    LOADS.import(py, "json", "loads")?.call1((text,))
}

/// `json.dumps(value)`: a Python value (dicts, lists, strings, ...) as JSON text.
pub(crate) fn py_to_json_text(value: &Bound<'_, PyAny>) -> PyResult<String> {
    static DUMPS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    DUMPS.import(value.py(), "json", "dumps")?.call1((value,))?.extract()
}

/// Serializes a core value with its serde implementation.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| crate::errors::to_py_err(Error::new(ErrorKind::Internal, e.to_string())))
}

/// Deserializes a core value with its serde implementation (`ApiError` for JSON it cannot decode).
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> PyResult<T> {
    serde_json::from_str(text).map_err(|e| crate::errors::to_py_err(Error::new(ErrorKind::Api, format!("cannot decode {what} JSON: {e}")).with_source(e)))
}

/// `__reduce__` through `T.from_json(json)` (for the types that have a Kubernetes JSON form).
pub(crate) fn reduce_from_json<'py, T: pyo3::PyTypeInfo>(py: Python<'py>, json: String) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
    Ok((py.get_type::<T>().getattr("from_json")?, PyTuple::new(py, [json])?))
}

/// `==` / `!=` from `PartialEq`; `NotImplemented` for orderings (the value types are unordered).
pub(crate) fn richcmp_eq<T: PartialEq>(py: Python<'_>, a: &T, b: &T, op: CompareOp) -> Py<PyAny> {
    match op {
        CompareOp::Eq => (a == b).into_pyobject(py).map(|b| b.to_owned().into_any().unbind()).unwrap_or_else(|_| py.None()),
        CompareOp::Ne => (a != b).into_pyobject(py).map(|b| b.to_owned().into_any().unbind()).unwrap_or_else(|_| py.None()),
        _ => py.NotImplemented(),
    }
}

/// A hash of anything hashable.
pub(crate) fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// `repr()` of a Python value, for constructor-call reprs.
pub(crate) fn repr_of<'py, T: IntoPyObject<'py>>(py: Python<'py>, value: T) -> PyResult<String> {
    Ok(value.into_bound_py_any(py)?.repr()?.to_string())
}

/// `Type(field=repr(obj.field), ...)`: the constructor-call `repr` of a value class, from its
/// getters.
pub(crate) fn repr_fields(obj: &Bound<'_, PyAny>, fields: &[&str]) -> PyResult<String> {
    let parts = fields.iter().map(|f| Ok(format!("{f}={}", obj.getattr(*f)?.repr()?))).collect::<PyResult<Vec<_>>>()?;
    Ok(format!("{}({})", obj.get_type().name()?, parts.join(", ")))
}

/// `__reduce__` as `(type(obj), (obj.field, ...))`: pickling through the constructor, whose
/// arguments are the getters named.
pub(crate) fn reduce_fields<'py>(obj: &Bound<'py, PyAny>, fields: &[&str]) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
    let args = fields.iter().map(|f| obj.getattr(*f)).collect::<PyResult<Vec<_>>>()?;
    Ok((obj.get_type().into_any(), PyTuple::new(obj.py(), args)?))
}
