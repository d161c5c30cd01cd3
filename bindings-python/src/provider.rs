//! Custom and external metrics providers written in Python, served for the
//! HorizontalPodAutoscaler by the core's `kubemetrics::custom::serve`: `serve_custom_metrics`,
//! `CustomMetricsServer`, and what providers are given (`ObjectRef`, `LabelSelector`) and may
//! return (`CustomMetricInfo`).
//!
//! Every provider call runs on tokio's blocking pool, attached to the interpreter, never on the
//! tokio worker threads that serve HTTP. When a method returns an awaitable (an `async def`
//! method), the awaitable runs on the one asyncio event loop this module owns (a daemon thread
//! started on first use) and its converted result comes back through a channel. Exceptions and
//! malformed results become core errors (which the core answers as Kubernetes `Status`es),
//! never panics. Providers return names and values; the core's `metric_value`, `SelectorQuery::values`
//! and `external_values` build the values served, as for the Node binding.

use crate::client::runtime;
use crate::convert::{hash_of, repr_of, richcmp_eq};
use crate::custom::{PyExternalMetricValue, PyMetricValue};
use crate::errors::{self, to_py_err};
use crate::methods::py_methods;
use crate::quantity::PyQuantity;
use kubemetrics::custom::{
    BoxFuture, CustomMetricInfo, CustomMetricsProvider, ExternalMetricsProvider, ObjectRef, ObjectValue, SelectorQuery, SeriesValue, external_metric_names,
    external_values, metric_value,
};
use kubemetrics::metrics::custom::{ExternalMetricValue, MetricValue};
use kubemetrics::selector::LabelSelector;
use kubemetrics::server::{AuthOptions, MetricsServer, ServeConfig};
use kubemetrics::{Error, ErrorKind, Format, Quantity};
use pyo3::basic::CompareOp;
use pyo3::exceptions::{PyKeyError, PyLookupError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyCFunction, PyDict, PyFloat, PyInt, PyList, PyMapping, PyModule, PyString, PyTuple, PyType};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

// ---------------------------------------------------------------------------------------------
// What providers are given and may return

/// The object a custom metric is asked for: `ObjectRef(namespace, resource, name)`.
///
/// `namespace` is None for cluster-scoped objects (`nodes`, and `namespaces` themselves: a
/// namespace's own metric is asked for `ObjectRef(None, "namespaces", "shop")`); `resource` is
/// the plural resource (`pods`, `services`, ...). Immutable, hashable, pickles.
#[pyclass(frozen, module = "kubemetrics", name = "ObjectRef")]
#[derive(Clone, Debug)]
pub struct PyObjectRef(pub ObjectRef);

py_methods!(PyObjectRef {
    #[new]
    fn new(namespace: Option<String>, resource: String, name: String) -> Self {
        PyObjectRef(ObjectRef { namespace, resource, name })
    }

    /// Namespace of the object; None for cluster-scoped objects.
    #[getter]
    fn namespace(&self) -> Option<&str> {
        self.0.namespace.as_deref()
    }
}
    str_fields(resource = "Plural resource of the object (`pods`).", name = "Name of the object."),
    eq_hash,
    ctor(namespace, resource, name),
);

/// A parsed Kubernetes label selector (`app=web,tier!=db`, `env in (a,b)`, `!canary`).
///
/// Providers receive the request's selectors as `LabelSelector`s (the empty selector, which
/// matches everything, when the request has none). `LabelSelector(selector="")` parses one
/// (`ConfigError` for invalid syntax); `s.matches(labels)` tells whether a label mapping
/// satisfies every requirement; `str(s)` is the selector in the same syntax; `bool(s)` is False
/// for the empty selector. Immutable, hashable, pickles.
#[pyclass(frozen, module = "kubemetrics", name = "LabelSelector")]
#[derive(Clone, Debug)]
pub struct PyLabelSelector(pub LabelSelector);

/// A label mapping (a dict or any `Mapping[str, str]`) as a map.
fn labels_of(labels: &Bound<'_, PyAny>) -> PyResult<BTreeMap<String, String>> {
    if let Ok(d) = labels.cast::<PyDict>() {
        return d.extract();
    }
    labels.py().get_type::<PyDict>().call1((labels,))?.extract()
}

#[pymethods]
impl PyLabelSelector {
    #[new]
    #[pyo3(signature = (selector = ""))]
    fn new(selector: &str) -> PyResult<Self> {
        LabelSelector::parse(selector).map(PyLabelSelector).map_err(to_py_err)
    }

    /// True when `labels` (a mapping of label names to values; None for no labels) satisfy every
    /// requirement of the selector.
    fn matches(&self, labels: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
        let labels = labels.filter(|l| !l.is_none()).map(labels_of).transpose()?;
        Ok(self.0.matches(labels.as_ref()))
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("LabelSelector({})", repr_of(py, self.0.to_string())?))
    }

    fn __bool__(&self) -> bool {
        !self.0.is_empty()
    }

    fn __richcmp__(&self, other: PyRef<'_, Self>, op: CompareOp, py: Python<'_>) -> Py<PyAny> {
        richcmp_eq(py, &self.0, &other.0, op)
    }

    fn __hash__(&self) -> u64 {
        hash_of(&self.0.to_string())
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyType>, (String,))> {
        Ok((slf.get_type(), (slf.get().0.to_string(),)))
    }
}

/// A custom metric a provider serves, for discovery: `CustomMetricInfo(resource, metric,
/// namespaced=True)`.
///
/// `resource` is the plural resource of the described objects (`pods`), `metric` the metric's
/// name; `namespaced` is False for metrics of cluster-scoped objects (`nodes`, `namespaces`).
/// Discovery lists it as `resource/metric`. Immutable, hashable, pickles.
#[pyclass(frozen, module = "kubemetrics", name = "CustomMetricInfo")]
#[derive(Clone, Debug)]
pub struct PyCustomMetricInfo(pub CustomMetricInfo);

py_methods!(PyCustomMetricInfo {
    #[new]
    #[pyo3(signature = (resource, metric, namespaced = true))]
    fn new(resource: String, metric: String, namespaced: bool) -> Self {
        PyCustomMetricInfo(CustomMetricInfo { resource, metric, namespaced })
    }

    /// Whether the described objects are namespaced.
    #[getter]
    fn namespaced(&self) -> bool {
        self.0.namespaced
    }
}
    str_fields(resource = "Plural resource of the described objects (`pods`).", metric = "The metric's name."),
    eq_hash,
    ctor(resource, metric, namespaced),
);

// ---------------------------------------------------------------------------------------------
// Calling provider methods

/// Why a provider's answer is not usable.
enum Bad {
    /// The result has the wrong shape: the text after "returned ".
    Result(String),
    /// The provider raised (also while its result was iterated).
    Raised(PyErr),
}

impl From<PyErr> for Bad {
    fn from(e: PyErr) -> Bad {
        Bad::Raised(e)
    }
}

fn internal(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Internal, message)
}

/// `repr(v)` (shortened) and its type, for messages about results.
fn describe(v: &Bound<'_, PyAny>) -> String {
    let mut repr = v.repr().map(|r| r.to_string()).unwrap_or_else(|_| "<unrepresentable>".into());
    if repr.chars().count() > 80 {
        repr = repr.chars().take(77).collect::<String>() + "...";
    }
    let ty = v.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
    format!("{repr} ({ty})")
}

fn bad(v: &Bound<'_, PyAny>, expected: &str) -> Bad {
    Bad::Result(format!("{}: expected {expected}", describe(v)))
}

const VALUE: &str = "a metric value (a Quantity, a quantity string, an int or a float)";

/// A metric value: a `Quantity`, a quantity string, an int or a float.
fn quantity_of(v: &Bound<'_, PyAny>) -> Result<Quantity, Bad> {
    if let Ok(q) = v.cast::<PyQuantity>() {
        return Ok(q.get().0);
    }
    let parsed = if v.is_instance_of::<PyBool>() {
        return Err(bad(v, VALUE));
    } else if let Ok(s) = v.cast::<PyString>() {
        Quantity::parse(&s.to_cow().map_err(|_| bad(v, VALUE))?)
    } else if let Ok(i) = v.cast::<PyInt>() {
        match i.extract::<i128>() {
            Ok(i) => Quantity::from_parts(i, 0, Format::DecimalSI),
            Err(_) => return Err(bad(v, "an integer that fits 128 bits")),
        }
    } else if let Ok(f) = v.cast::<PyFloat>() {
        let f = f.value();
        if !f.is_finite() {
            return Err(bad(v, "a finite number"));
        }
        // Rust prints the shortest decimal that reads back as the same float, without exponent.
        Quantity::parse(&format!("{f}"))
    } else {
        return Err(bad(v, VALUE));
    };
    parsed.map_err(|e| Bad::Result(format!("{}: {}", describe(v), e.message())))
}

/// A `Quantity`, str, int (not bool) or float: what `quantity_of` reads.
fn is_scalar(v: &Bound<'_, PyAny>) -> bool {
    v.cast::<PyQuantity>().is_ok()
        || v.is_instance_of::<PyString>()
        || (v.is_instance_of::<PyInt>() && !v.is_instance_of::<PyBool>())
        || v.is_instance_of::<PyFloat>()
}

/// Iterates `v` (not a string), with `expected` describing the wanted shape.
fn items_of<'py>(v: &Bound<'py, PyAny>, expected: &str) -> Result<Vec<Bound<'py, PyAny>>, Bad> {
    if v.is_instance_of::<PyString>() || v.is_instance_of::<PyBytes>() || v.is_none() {
        return Err(bad(v, expected));
    }
    let iter = v.try_iter().map_err(|_| bad(v, expected))?;
    let mut out = Vec::new();
    for item in iter {
        out.push(item?);
    }
    Ok(out)
}

/// A pair `(a, b)` (a tuple or list of two).
fn pair_of<'py>(item: &Bound<'py, PyAny>, expected: &str) -> Result<(Bound<'py, PyAny>, Bound<'py, PyAny>), Bad> {
    let pair = if let Ok(t) = item.cast::<PyTuple>() {
        (t.len() == 2).then(|| Ok::<_, PyErr>((t.get_item(0)?, t.get_item(1)?)))
    } else if let Ok(l) = item.cast::<PyList>() {
        (l.len() == 2).then(|| Ok::<_, PyErr>((l.get_item(0)?, l.get_item(1)?)))
    } else {
        None
    };
    match pair {
        Some(p) => Ok(p?),
        None => Err(item_error(item, expected)),
    }
}

fn item_error(item: &Bound<'_, PyAny>, expected: &str) -> Bad {
    Bad::Result(format!("an invalid item {}: expected {expected}", describe(item)))
}

const INFO: &str = "a CustomMetricInfo, a (resource, metric[, namespaced]) tuple or a \"resource/metric\" string";

fn metric_infos(v: &Bound<'_, PyAny>) -> Result<Vec<CustomMetricInfo>, Bad> {
    let mut out = Vec::new();
    for item in items_of(v, "an iterable of CustomMetricInfo")? {
        let (resource, metric, namespaced) = if let Ok(i) = item.cast::<PyCustomMetricInfo>() {
            let i = &i.get().0;
            (i.resource.clone(), i.metric.clone(), Some(i.namespaced))
        } else if let Ok(s) = item.extract::<String>() {
            match s.split_once('/') {
                Some((r, m)) => (r.to_string(), m.to_string(), None),
                None => return Err(item_error(&item, INFO)),
            }
        } else if let Ok((resource, metric, namespaced)) = item.extract::<(String, String, bool)>() {
            (resource, metric, Some(namespaced))
        } else if let Ok((resource, metric)) = item.extract::<(String, String)>() {
            (resource, metric, None)
        } else {
            return Err(item_error(&item, INFO));
        };
        let info = CustomMetricInfo::new(resource, metric, namespaced);
        out.push(info.map_err(|e| Bad::Result(format!("an invalid item {}: {}", describe(&item), e.message())))?);
    }
    Ok(out)
}

fn metric_names(v: &Bound<'_, PyAny>) -> Result<Vec<String>, Bad> {
    let mut names = Vec::new();
    for item in items_of(v, "an iterable of metric names (str)")? {
        names.push(item.extract::<String>().map_err(|_| item_error(&item, "a metric name (a str)"))?);
    }
    external_metric_names(names).map_err(|e| Bad::Result(format!("an invalid value: {}", e.message())))
}

/// What `metric_by_name` returned: a value (None when the provider returned None), or a
/// complete `MetricValue`.
enum OneValue {
    Value(Option<Quantity>),
    Complete(Box<MetricValue>),
}

fn one_value(v: &Bound<'_, PyAny>) -> Result<OneValue, Bad> {
    if let Ok(m) = v.cast::<PyMetricValue>() {
        return Ok(OneValue::Complete(Box::new(m.get().0.clone())));
    }
    if v.is_none() {
        return Ok(OneValue::Value(None));
    }
    if !is_scalar(v) {
        return Err(bad(v, &format!("{VALUE}, None or a MetricValue")));
    }
    Ok(OneValue::Value(Some(quantity_of(v)?)))
}

const BY_NAME: &str = "a (name, value) pair or a MetricValue";

fn object_values(v: &Bound<'_, PyAny>) -> Result<Vec<ObjectValue>, Bad> {
    let pairs = if let Ok(m) = v.cast::<PyMapping>() {
        items_of(&m.items()?.into_any(), "a mapping")?
    } else {
        items_of(v, "a mapping of object names to values, or an iterable of (name, value) pairs")?
    };
    let mut out = Vec::with_capacity(pairs.len());
    for item in pairs {
        if let Ok(m) = item.cast::<PyMetricValue>() {
            out.push(ObjectValue::Complete(Box::new(m.get().0.clone())));
            continue;
        }
        let (name, value) = pair_of(&item, BY_NAME)?;
        let name: String = name.extract().map_err(|_| item_error(&item, "an object name (str) with its value"))?;
        let value = quantity_of(&value).map_err(|e| match e {
            Bad::Result(why) => Bad::Result(format!("an invalid value for {name:?}: {why}")),
            raised => raised,
        })?;
        out.push(ObjectValue::Named { name, value });
    }
    Ok(out)
}

const SERIES: &str = "a (labels, value) pair or an ExternalMetricValue";

fn series_values(v: &Bound<'_, PyAny>) -> Result<Vec<SeriesValue>, Bad> {
    if let Ok(e) = v.cast::<PyExternalMetricValue>() {
        return Ok(vec![SeriesValue::Complete(e.get().0.clone())]);
    }
    if is_scalar(v) {
        return Ok(vec![SeriesValue::Labelled { labels: BTreeMap::new(), value: quantity_of(v)? }]);
    }
    if v.cast::<PyMapping>().is_ok() {
        return Err(bad(v, "a value, or an iterable of (labels, value) pairs (not a mapping)"));
    }
    let mut out = Vec::new();
    for item in items_of(v, "a value, or an iterable of (labels, value) pairs")? {
        if let Ok(e) = item.cast::<PyExternalMetricValue>() {
            out.push(SeriesValue::Complete(e.get().0.clone()));
            continue;
        }
        let (labels, value) = pair_of(&item, SERIES)?;
        let labels = if labels.is_none() { Ok(BTreeMap::new()) } else { labels_of(&labels) };
        let labels = labels.map_err(|_| item_error(&item, "labels as a mapping of str to str, with a value"))?;
        out.push(SeriesValue::Labelled { labels, value: quantity_of(&value)? });
    }
    Ok(out)
}

/// The message of an exception: a `KeyError`'s key as written, else `str(e)`, else its type.
fn exception_message(value: &Bound<'_, PyAny>) -> String {
    let text = if value.is_instance_of::<PyKeyError>() {
        match value.getattr("args").and_then(|a| a.extract::<(Bound<'_, PyAny>,)>()) {
            Ok((arg,)) => arg.str().map(|s| s.to_string()).unwrap_or_default(),
            Err(_) => value.str().map(|s| s.to_string()).unwrap_or_default(),
        }
    } else {
        value.str().map(|s| s.to_string()).unwrap_or_default()
    };
    if text.is_empty() { value.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "exception".into()) } else { text }
}

/// Logs to the `kubemetrics` logger (with the traceback when an exception is given).
fn log_error(py: Python<'_>, message: &str, exception: Option<&Bound<'_, PyAny>>) {
    static GET_LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let _ = (|| -> PyResult<()> {
        let logger = GET_LOGGER.import(py, "logging", "getLogger")?.call1(("kubemetrics",))?;
        let kwargs = PyDict::new(py);
        if let Some(e) = exception {
            kwargs.set_item("exc_info", e)?;
        }
        logger.call_method("error", ("%s", message), Some(&kwargs))?;
        Ok(())
    })();
}

/// A provider's exception as a core error: `NotFoundError` and `LookupError` (`KeyError`) are
/// `NotFound` (404), `ValueError` is `Config` (400), other kubemetrics errors keep their kind,
/// anything else is `Internal` (500, logged with its traceback).
fn from_exception(py: Python<'_>, what: &str, err: &PyErr) -> Error {
    let value = err.value(py).as_any();
    let mut kind = if err.is_instance_of::<PyLookupError>(py) {
        ErrorKind::NotFound
    } else if err.is_instance_of::<PyValueError>(py) {
        ErrorKind::Config
    } else {
        ErrorKind::Internal
    };
    let mut message = exception_message(value);
    let is_ours = errors::types(py).is_ok_and(|t| value.is_instance(t.base.bind(py)).unwrap_or(false));
    if is_ours {
        kind = value.getattr("kind").ok().and_then(|k| k.extract::<String>().ok()).and_then(|k| errors::kind_named(&k)).unwrap_or(ErrorKind::Internal);
        if let Some(m) = value.getattr("message").and_then(|m| m.extract::<String>()).ok().filter(|m| !m.is_empty()) {
            message = m;
        }
    }
    if !matches!(kind, ErrorKind::NotFound | ErrorKind::Config | ErrorKind::Quantity) {
        log_error(py, &format!("{what} raised {}", describe(value)), Some(value));
    }
    Error::new(kind, message)
}

fn from_bad(py: Python<'_>, what: &str, bad: Bad) -> Error {
    match bad {
        Bad::Raised(e) => from_exception(py, what, &e),
        Bad::Result(why) => {
            let message = format!("{what} returned {why}");
            log_error(py, &message, None);
            internal(message)
        }
    }
}

/// The one asyncio event loop provider coroutines run on (a daemon thread, started on first use).
fn event_loop(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    LOOP.get_or_try_init(py, || {
        let event_loop = py.import("asyncio")?.call_method0("new_event_loop")?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("target", event_loop.getattr("run_forever")?)?;
        kwargs.set_item("name", "kubemetrics-provider-loop")?;
        kwargs.set_item("daemon", true)?;
        py.import("threading")?.getattr("Thread")?.call((), Some(&kwargs))?.call_method0("start")?;
        Ok(event_loop.unbind())
    })
    .map(|l| l.bind(py))
}

/// A coroutine awaiting any awaitable (`run_coroutine_threadsafe` takes coroutines only).
fn as_coroutine<'py>(awaitable: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    static IS_COROUTINE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    static AWAIT_ANY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let py = awaitable.py();
    if IS_COROUTINE.import(py, "asyncio", "iscoroutine")?.call1((&awaitable,))?.is_truthy()? {
        return Ok(awaitable);
    }
    let await_any = AWAIT_ANY.get_or_try_init(py, || {
        let module = PyModule::from_code(py, c"async def await_any(awaitable):\n    return await awaitable\n", c"<kubemetrics>", c"kubemetrics._await_any")?;
        Ok::<_, PyErr>(module.getattr("await_any")?.unbind())
    })?;
    await_any.bind(py).call1((awaitable,))
}

/// Cancels the provider's coroutine when the request stops waiting for it (the core's provider
/// timeout, a closed connection).
struct CancelOnDrop(Option<Py<PyAny>>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let (Some(future), Ok(handle)) = (self.0.take(), tokio::runtime::Handle::try_current()) {
            handle.spawn_blocking(move || {
                Python::try_attach(|py| {
                    let _ = future.bind(py).call_method0("cancel");
                    drop(future);
                })
            });
        }
    }
}

enum Started<T> {
    Done(kubemetrics::Result<T>),
    /// A coroutine scheduled on the provider loop: its converted result, and its
    /// `concurrent.futures.Future` (to cancel it).
    Pending(oneshot::Receiver<kubemetrics::Result<T>>, Py<PyAny>),
}

type Sent<T, C> = Mutex<Option<(oneshot::Sender<kubemetrics::Result<T>>, C)>>;

/// A provider object and its class name (for messages).
struct PythonProvider {
    object: Arc<Py<PyAny>>,
    class: String,
}

impl PythonProvider {
    fn new(object: &Bound<'_, PyAny>, role: &str, methods: &[&str]) -> PyResult<Self> {
        let missing: Vec<&str> = methods.iter().copied().filter(|m| !object.getattr(*m).map(|a| a.is_callable()).unwrap_or(false)).collect();
        if !missing.is_empty() {
            return Err(PyTypeError::new_err(format!(
                "{role} provider {} has no method {}: a {role} provider has the methods {}",
                describe(object),
                missing.join(", "),
                methods.join(", ")
            )));
        }
        let class = object.get_type().qualname().map(|n| n.to_string()).unwrap_or_else(|_| role.to_string());
        Ok(PythonProvider { object: Arc::new(object.clone().unbind()), class })
    }

    /// Calls `method(*args)` on tokio's blocking pool; awaits a returned awaitable on the
    /// provider loop; converts the result while attached.
    async fn call<T, A, C>(&self, method: &'static str, args: A, convert: C) -> kubemetrics::Result<T>
    where
        T: Send + 'static,
        A: for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyTuple>> + Send + 'static,
        C: for<'py> FnOnce(&Bound<'py, PyAny>) -> Result<T, Bad> + Send + 'static,
    {
        let object = self.object.clone();
        let what: Arc<str> = format!("{}.{method}()", self.class).into();
        let started = {
            let what = what.clone();
            tokio::task::spawn_blocking(move || Python::try_attach(|py| start(py, &object, method, what, args, convert)))
        };
        let started = match started.await {
            Ok(Some(s)) => s,
            Ok(None) => return Err(internal(format!("{what} cannot be called: the Python interpreter is shutting down"))),
            Err(e) => return Err(internal(format!("{what} failed inside kubemetrics: {e}"))),
        };
        match started {
            Started::Done(result) => result,
            Started::Pending(receiver, future) => {
                let mut guard = CancelOnDrop(Some(future));
                let result = receiver.await.unwrap_or_else(|_| Err(internal(format!("{what}: its coroutine ended without a result"))));
                // Done: nothing to cancel (pyo3 releases the reference when next attached).
                guard.0 = None;
                result
            }
        }
    }
}

fn start<T, A, C>(py: Python<'_>, object: &Py<PyAny>, method: &str, what: Arc<str>, args: A, convert: C) -> Started<T>
where
    T: Send + 'static,
    A: for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyTuple>>,
    C: for<'py> FnOnce(&Bound<'py, PyAny>) -> Result<T, Bad> + Send + 'static,
{
    static IS_AWAITABLE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let returned = match args(py).and_then(|a| object.bind(py).call_method1(method, a)) {
        Ok(v) => v,
        Err(e) => return Started::Done(Err(from_exception(py, &what, &e))),
    };
    let awaitable = match IS_AWAITABLE.import(py, "inspect", "isawaitable").and_then(|f| f.call1((&returned,))?.is_truthy()) {
        Ok(a) => a,
        Err(e) => return Started::Done(Err(internal(format!("{what}: cannot inspect its result: {e}")))),
    };
    if !awaitable {
        return Started::Done(convert(&returned).map_err(|b| from_bad(py, &what, b)));
    }
    match schedule(py, what.clone(), returned, convert) {
        Ok((receiver, future)) => Started::Pending(receiver, future),
        Err(e) => Started::Done(Err(internal(format!("{what}: cannot run its coroutine: {e}")))),
    }
}

/// Runs `awaitable` on the provider loop; its converted result arrives on the receiver.
fn schedule<T, C>(py: Python<'_>, what: Arc<str>, awaitable: Bound<'_, PyAny>, convert: C) -> PyResult<(oneshot::Receiver<kubemetrics::Result<T>>, Py<PyAny>)>
where
    T: Send + 'static,
    C: for<'py> FnOnce(&Bound<'py, PyAny>) -> Result<T, Bad> + Send + 'static,
{
    static RUN: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let coroutine = as_coroutine(awaitable)?;
    let future = RUN.import(py, "asyncio", "run_coroutine_threadsafe")?.call1((coroutine, event_loop(py)?))?;
    let (sender, receiver) = oneshot::channel();
    let pending: Sent<T, C> = Mutex::new(Some((sender, convert)));
    let on_done = PyCFunction::new_closure(py, None, None, move |args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>| -> PyResult<()> {
        let Some((sender, convert)) = pending.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return Ok(());
        };
        let py = args.py();
        let future = args.get_item(0)?;
        let result = if future.call_method0("cancelled")?.is_truthy()? {
            Err(internal(format!("{what} was cancelled")))
        } else {
            let exception = future.call_method0("exception")?;
            if exception.is_none() {
                convert(&future.call_method0("result")?).map_err(|b| from_bad(py, &what, b))
            } else {
                Err(from_exception(py, &what, &PyErr::from_value(exception)))
            }
        };
        let _ = sender.send(result);
        Ok(())
    })?;
    future.call_method1("add_done_callback", (on_done,))?;
    Ok((receiver, future.unbind()))
}

// ---------------------------------------------------------------------------------------------
// The core provider traits, implemented by calling the Python objects

const CUSTOM_METHODS: [&str; 3] = ["list_metrics", "metric_by_name", "metrics_by_selector"];
const EXTERNAL_METHODS: [&str; 2] = ["list_external_metrics", "external_metric"];

struct PyCustomProvider(PythonProvider);
struct PyExternalProvider(PythonProvider);

/// What a provider method answers: the core result, later.
type Answer<'a, T> = BoxFuture<'a, kubemetrics::Result<T>>;

impl CustomMetricsProvider for PyCustomProvider {
    fn list_metrics(&self) -> Answer<'_, Vec<CustomMetricInfo>> {
        Box::pin(self.0.call("list_metrics", |py| Ok(PyTuple::empty(py)), metric_infos))
    }

    fn metric_by_name<'a>(&'a self, object: &'a ObjectRef, metric: &'a str, metric_selector: &'a LabelSelector) -> Answer<'a, MetricValue> {
        let (o, m, sel) = (object.clone(), metric.to_string(), metric_selector.clone());
        Box::pin(async move {
            match self.0.call("metric_by_name", move |py| (PyObjectRef(o), m, PyLabelSelector(sel)).into_pyobject(py), one_value).await? {
                OneValue::Value(value) => metric_value(object, metric, metric_selector, value),
                OneValue::Complete(v) => Ok(*v),
            }
        })
    }

    fn metrics_by_selector<'a>(&'a self, q: SelectorQuery<'a>) -> Answer<'a, Vec<MetricValue>> {
        let args = (q.namespace.map(str::to_string), q.resource.to_string(), q.selector.clone(), q.metric.to_string(), q.metric_selector.clone());
        Box::pin(async move {
            let (ns, res, sel, m, msel) = args;
            let answer = self
                .0
                .call("metrics_by_selector", move |py| (ns, res, PyLabelSelector(sel), m, PyLabelSelector(msel)).into_pyobject(py), object_values)
                .await?;
            Ok(q.values(answer))
        })
    }
}

impl ExternalMetricsProvider for PyExternalProvider {
    fn list_external_metrics(&self) -> Answer<'_, Vec<String>> {
        Box::pin(self.0.call("list_external_metrics", |py| Ok(PyTuple::empty(py)), metric_names))
    }

    fn external_metric<'a>(&'a self, namespace: &'a str, metric: &'a str, selector: &'a LabelSelector) -> Answer<'a, Vec<ExternalMetricValue>> {
        let (ns, m, sel) = (namespace.to_string(), metric.to_string(), selector.clone());
        Box::pin(async move {
            let answer = self.0.call("external_metric", move |py| (ns, m, PyLabelSelector(sel)).into_pyobject(py), series_values).await?;
            Ok(external_values(metric, answer))
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The server

/// A running custom/external metrics server started by `serve_custom_metrics`.
///
/// `address` is the bound `host:port` (`"127.0.0.1:6443"`), `port` the port, `url` the HTTPS
/// URL to reach it (`https://127.0.0.1:6443`; loopback when bound to `0.0.0.0` or `::`).
/// `stop()` stops accepting connections and closes open ones (idempotent); the server also
/// stops when this object is garbage-collected, so keep a reference while it should serve.
/// A context manager: `with serve_custom_metrics(...) as server:` stops it on exit.
#[pyclass(frozen, module = "kubemetrics", name = "CustomMetricsServer")]
#[derive(Debug)]
pub struct PyCustomMetricsServer {
    server: MetricsServer,
    addr: SocketAddr,
    running: AtomicBool,
    custom: bool,
    external: bool,
}

#[pymethods]
impl PyCustomMetricsServer {
    /// The bound address, `host:port` (`"127.0.0.1:6443"`, `"[::1]:6443"`).
    #[getter]
    fn address(&self) -> String {
        self.addr.to_string()
    }

    /// The bound port.
    #[getter]
    fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `https://host:port` (the loopback address when bound to all addresses).
    #[getter]
    fn url(&self) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() { IpAddr::from([127, 0, 0, 1]) } else { IpAddr::from(std::net::Ipv6Addr::LOCALHOST) });
        }
        format!("https://{addr}")
    }

    /// False once `stop()` was called.
    #[getter]
    fn running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// Stops serving: no new connections, open ones are closed. Calling it again does nothing.
    fn stop(&self) {
        self.running.store(false, Ordering::SeqCst);
        self.server.shutdown();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (exc_type, exc_value, traceback))]
    fn __exit__(&self, exc_type: Option<&Bound<'_, PyAny>>, exc_value: Option<&Bound<'_, PyAny>>, traceback: Option<&Bound<'_, PyAny>>) -> bool {
        let _ = (exc_type, exc_value, traceback);
        self.stop();
        false
    }

    fn __repr__(&self) -> String {
        let served: Vec<&str> = [("custom", self.custom), ("external", self.external)].into_iter().filter(|(_, on)| *on).map(|(n, _)| n).collect();
        let state = if self.running() { "running" } else { "stopped" };
        format!("<kubemetrics.CustomMetricsServer {} {} {state}>", self.url(), served.join("+"))
    }
}

fn config_error(message: String) -> PyErr {
    to_py_err(Error::new(ErrorKind::Config, message))
}

/// Serves custom metrics (`custom.metrics.k8s.io` v1beta1 and v1beta2) from the `custom`
/// provider and/or external metrics (`external.metrics.k8s.io` v1beta1) from the `external`
/// provider, for the HorizontalPodAutoscaler, over HTTPS with the delegated authentication and
/// authorization of an aggregated API server; returns the running `CustomMetricsServer`.
///
/// The keyword arguments are metrics-server's flags in snake_case (`bind_address` is
/// `--bind-address`); None keeps metrics-server's default: `cert_dir`
/// ("apiserver.local.config/certificates", where a self-signed serving certificate is written
/// when `tls_cert_file`/`tls_private_key_file` are not given), `requestheader_username_headers`
/// (["x-remote-user"]), `requestheader_group_headers` (["x-remote-group"]),
/// `requestheader_extra_headers_prefix` (["x-remote-extra-"]),
/// `authorization_always_allow_paths` (["/healthz", "/readyz", "/livez"]),
/// `max_requests_inflight` (400), `request_timeout` (60 seconds). When neither `client_ca_file`
/// nor `requestheader_client_ca_file` is given, the CAs and allowed names are read from
/// `kube-system/extension-apiserver-authentication`, as every aggregated API server does.
/// `kubeconfig` names the cluster asked for TokenReviews and SubjectAccessReviews (None: in-cluster,
/// then `KUBECONFIG` / `~/.kube/config`). The call blocks (GIL released) until the server listens;
/// from asyncio code use `await asyncio.to_thread(serve_custom_metrics, ...)`.
///
/// A custom provider is any object with the methods
///
/// - `list_metrics()` -> iterable of `CustomMetricInfo` (or `(resource, metric)` /
///   `(resource, metric, namespaced)` tuples, or `"resource/metric"` strings): discovery, asked
///   on every discovery request.
/// - `metric_by_name(object: ObjectRef, metric: str, metric_selector: LabelSelector)` -> the
///   value of `metric` for one object, or None when it has none (404 NotFound).
/// - `metrics_by_selector(namespace: str | None, resource: str, selector: LabelSelector, metric:
///   str, metric_selector: LabelSelector)` -> the values of `metric` for the objects of
///   `resource` in `namespace` (None for cluster-scoped resources) whose labels match `selector`
///   (what the HPA asks for a Pods metric): a mapping `{object_name: value}` or an iterable of
///   `(object_name, value)` pairs.
///
/// An external provider is any object with the methods
///
/// - `list_external_metrics()` -> iterable of metric names (str).
/// - `external_metric(namespace: str, metric: str, selector: LabelSelector)` -> the series of
///   `metric` whose labels match `selector`: an iterable of `(labels: Mapping[str, str], value)`
///   pairs, or a single value (one series without labels).
///
/// A value is a `Quantity`, a quantity string (`"250m"`), an int or a float; kubemetrics fills in
/// the described object (without a namespace for cluster-scoped objects such as namespaces and
/// nodes, whatever path asked), the metric, the selector and the timestamp (now). Return a
/// `MetricValue` / `ExternalMetricValue` instead of a value to control every field. Selectors
/// are `LabelSelector`s (`selector.matches(labels)`, `str(selector)`); the empty one, which
/// matches everything, when the request has none. The provider filters by them.
///
/// Each method may be a plain `def` or an `async def`. Plain methods run on a pool of threads,
/// never on the server's own, so a slow one delays only its own request; coroutines run on one
/// asyncio event loop owned by kubemetrics (a daemon thread, whatever loop the caller runs).
///
/// Errors: raising `LookupError` (`KeyError`) or `NotFoundError` answers 404 NotFound with the
/// exception's message; `ValueError` answers 400 BadRequest; any other exception 500 "Internal
/// error occurred: <message>" (logged with its traceback on the `kubemetrics` logger); a method
/// that has not answered after 10 seconds 504 (a coroutine is then cancelled). A result of the
/// wrong shape answers 500 naming the method and what was wrong. `TypeError` here when a
/// provider lacks a method; `ConfigError` for bad settings or when neither provider is given;
/// `IoError` when the port cannot be bound.
#[pyfunction]
#[pyo3(signature = (
    custom = None, external = None, *, bind_address = "0.0.0.0", secure_port = 6443, cert_dir = None,
    tls_cert_file = None, tls_private_key_file = None, client_ca_file = None, requestheader_client_ca_file = None,
    requestheader_allowed_names = None, requestheader_username_headers = None, requestheader_group_headers = None,
    requestheader_extra_headers_prefix = None, authorization_always_allow_paths = None, anonymous_auth = false,
    authorization_always_allow_authenticated = false, max_requests_inflight = None, request_timeout = None, kubeconfig = None
))]
#[allow(clippy::too_many_arguments)]
pub fn serve_custom_metrics(
    py: Python<'_>,
    custom: Option<&Bound<'_, PyAny>>,
    external: Option<&Bound<'_, PyAny>>,
    bind_address: &str,
    secure_port: u16,
    cert_dir: Option<PathBuf>,
    tls_cert_file: Option<PathBuf>,
    tls_private_key_file: Option<PathBuf>,
    client_ca_file: Option<PathBuf>,
    requestheader_client_ca_file: Option<PathBuf>,
    requestheader_allowed_names: Option<Vec<String>>,
    requestheader_username_headers: Option<Vec<String>>,
    requestheader_group_headers: Option<Vec<String>>,
    requestheader_extra_headers_prefix: Option<Vec<String>>,
    authorization_always_allow_paths: Option<Vec<String>>,
    anonymous_auth: bool,
    authorization_always_allow_authenticated: bool,
    max_requests_inflight: Option<usize>,
    request_timeout: Option<f64>,
    kubeconfig: Option<PathBuf>,
) -> PyResult<PyCustomMetricsServer> {
    let custom = custom.filter(|c| !c.is_none()).map(|c| PythonProvider::new(c, "custom", &CUSTOM_METHODS)).transpose()?;
    let external = external.filter(|e| !e.is_none()).map(|e| PythonProvider::new(e, "external", &EXTERNAL_METHODS)).transpose()?;
    let defaults = ServeConfig::default();
    let config = ServeConfig {
        bind_address: bind_address.parse().map_err(|_| config_error(format!("bind_address {bind_address:?} is not an IP address")))?,
        secure_port,
        cert_dir: cert_dir.unwrap_or(defaults.cert_dir),
        tls_cert_file,
        tls_private_key_file,
        client_ca_file,
        requestheader_client_ca_file,
        auth: AuthOptions {
            requestheader_allowed_names: requestheader_allowed_names.unwrap_or(defaults.auth.requestheader_allowed_names),
            username_headers: requestheader_username_headers.unwrap_or(defaults.auth.username_headers),
            group_headers: requestheader_group_headers.unwrap_or(defaults.auth.group_headers),
            extra_headers_prefix: requestheader_extra_headers_prefix.unwrap_or(defaults.auth.extra_headers_prefix),
            always_allow_paths: authorization_always_allow_paths.unwrap_or(defaults.auth.always_allow_paths),
            anonymous: anonymous_auth,
            always_allow_authenticated: authorization_always_allow_authenticated,
            ..defaults.auth
        },
        max_requests_inflight: max_requests_inflight.unwrap_or(defaults.max_requests_inflight),
        request_timeout: match request_timeout {
            Some(t) => Duration::try_from_secs_f64(t)
                .map_err(|_| PyValueError::new_err(format!("request_timeout must be a non-negative number of seconds, not {t}")))?,
            None => defaults.request_timeout,
        },
        ..defaults
    };
    let (has_custom, has_external) = (custom.is_some(), external.is_some());
    let custom: Option<Arc<dyn CustomMetricsProvider>> = custom.map(|p| Arc::new(PyCustomProvider(p)) as _);
    let external: Option<Arc<dyn ExternalMetricsProvider>> = external.map(|p| Arc::new(PyExternalProvider(p)) as _);
    let server = py.detach(|| runtime().block_on(kubemetrics::custom::serve(&config, kubeconfig.as_deref(), custom, external))).map_err(to_py_err)?;
    Ok(PyCustomMetricsServer { addr: server.addr(), server, running: AtomicBool::new(true), custom: has_custom, external: has_external })
}
