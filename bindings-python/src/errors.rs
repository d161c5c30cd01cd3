//! The one error model, mapped once: every `kubemetrics::Error` becomes an instance of
//! `KubeMetricsError` or of the subclass of its `ErrorKind`, carrying `.kind`, `.status` and
//! `.message`.

use kubemetrics::{Error, ErrorKind};
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

/// The exception classes, created once per process when the module is first imported.
pub(crate) struct ErrorTypes {
    pub base: Py<PyType>,
    /// `(kind name, class)` for every `ErrorKind`, in `KINDS` order.
    pub by_kind: Vec<(&'static str, Py<PyType>)>,
}

const BASE_DOC: &str = "The base class of every kubemetrics error.\n\n\
The error type of every fallible kubemetrics operation. The message is meant for people: it says \
what was wrong and shows the offending input or the server's own message. The HTTP status is set \
when a server answered.\n\n\
Attributes:\n    kind: the stable kind of this error (\"Config\", \"Auth\", \"NotFound\", \
\"MetricsUnavailable\", \"Api\", \"Quantity\", \"Io\", \"Internal\").\n    \
status: the HTTP status code, when a server answered; else None.\n    \
message: the human-readable message (also what str() gives).";

/// `(class name, ErrorKind, doc)`: the doc of each kind is the core `ErrorKind` doc.
const KINDS: [(&str, ErrorKind, &str); 8] = [
    ("ConfigError", ErrorKind::Config, "No usable configuration: kubeconfig missing or invalid, unknown context, bad flag value."),
    ("AuthError", ErrorKind::Auth, "The server refused who we are or what we asked (HTTP 401 or 403)."),
    ("NotFoundError", ErrorKind::NotFound, "The named object does not exist (HTTP 404 from the server, or an unknown name locally)."),
    ("MetricsUnavailableError", ErrorKind::MetricsUnavailable, "No Metrics API is served by the cluster (kubectl: \"Metrics API not available\")."),
    ("ApiError", ErrorKind::Api, "The server answered with an error or with a body that could not be decoded."),
    ("QuantityError", ErrorKind::Quantity, "A quantity string is not a valid Kubernetes quantity, or a value does not fit. Also a ValueError."),
    ("IoError", ErrorKind::Io, "Network or file I/O failed: connection refused, timeout, unreadable file."),
    ("InternalError", ErrorKind::Internal, "A bug or an invariant broken inside kubemetrics."),
];

static TYPES: PyOnceLock<ErrorTypes> = PyOnceLock::new();

fn make_type<'py>(py: Python<'py>, name: &str, bases: Bound<'py, PyTuple>, doc: &str, kind: Option<&str>) -> PyResult<Py<PyType>> {
    let dict = PyDict::new(py);
    dict.set_item("__module__", "kubemetrics")?;
    dict.set_item("__doc__", doc)?;
    dict.set_item("kind", kind)?;
    dict.set_item("status", py.None())?;
    dict.set_item("message", "")?;
    let ty = py.get_type::<PyType>().call1((name, bases, dict))?;
    Ok(ty.cast_into::<PyType>()?.unbind())
}

/// The exception classes (created on first use).
pub(crate) fn types(py: Python<'_>) -> PyResult<&ErrorTypes> {
    TYPES.get_or_try_init(py, || {
        let exception = py.get_type::<PyException>();
        let base = make_type(py, "KubeMetricsError", PyTuple::new(py, [exception])?, BASE_DOC, None)?;
        let mut by_kind = Vec::with_capacity(KINDS.len());
        for (name, kind, doc) in KINDS {
            let bases = if kind == ErrorKind::Quantity {
                PyTuple::new(py, [base.bind(py).clone(), py.get_type::<PyValueError>()])?
            } else {
                PyTuple::new(py, [base.bind(py).clone()])?
            };
            by_kind.push((kind.as_str(), make_type(py, name, bases, doc, Some(kind.as_str()))?));
        }
        Ok(ErrorTypes { base, by_kind })
    })
}

/// Adds `KubeMetricsError` and its subclasses to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let t = types(py)?;
    m.add("KubeMetricsError", t.base.bind(py))?;
    for ((name, _, _), (_, ty)) in KINDS.iter().zip(&t.by_kind) {
        m.add(*name, ty.bind(py))?;
    }
    Ok(())
}

/// Maps a core error to the Python exception of its kind (the one place errors are mapped).
pub(crate) fn to_py_err(e: Error) -> PyErr {
    Python::attach(|py| build(py, &e).unwrap_or_else(|err| err))
}

fn build(py: Python<'_>, e: &Error) -> PyResult<PyErr> {
    let t = types(py)?;
    let kind = e.kind().as_str();
    let ty = t.by_kind.iter().find(|(k, _)| *k == kind).map(|(_, ty)| ty).unwrap_or(&t.base);
    let value = ty.bind(py).call1((e.message(),))?;
    value.setattr("message", e.message())?;
    value.setattr("status", e.status())?;
    if ty.is(&t.base) {
        // A kind added to the core after this binding was built: keep its name.
        value.setattr("kind", kind)?;
    }
    Ok(PyErr::from_value(value))
}

/// The `ErrorKind` named `name` (`"NotFound"`), as in the `kind` attribute of the exceptions.
pub(crate) fn kind_named(name: &str) -> Option<ErrorKind> {
    KINDS.iter().map(|(_, kind, _)| *kind).find(|k| k.as_str() == name)
}

/// A `QuantityError` with `message` (for conversions the binding itself refuses).
pub(crate) fn quantity_error(message: impl Into<String>) -> PyErr {
    to_py_err(Error::new(ErrorKind::Quantity, message))
}
