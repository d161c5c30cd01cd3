//! `Client` (blocking; releases the GIL) and `AsyncClient` (asyncio awaitables): thin shells over
//! `kubemetrics::Client` on the binding's one tokio runtime.

use crate::custom::{PyExternalMetricValue, PyMetricValue};
use crate::errors::to_py_err;
use crate::metrics::{PyNodeMetrics, PyPodMetrics, PyPodMetricsList};
use crate::top::{PyNodeRow, PyPodRequests, PyTopPods};
use kubemetrics::metrics::custom::ObjectRef;
use kubemetrics::top::{SortBy, TopNodeOptions, TopPodOptions};
use kubemetrics::{Client, ConnectionSettings, ListOptions};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyType;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

/// The one tokio runtime of the process (shared with asyncio through pyo3-async-runtimes).
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// Runs a core future to completion with the GIL released.
fn block<F, T>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = kubemetrics::Result<T>> + Send,
    T: Send,
{
    py.detach(|| runtime().block_on(fut)).map_err(to_py_err)
}

/// Wraps a core future as an asyncio awaitable.
fn spawn<'py, F, T, R>(py: Python<'py>, fut: F, convert: fn(T) -> R) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = kubemetrics::Result<T>> + Send + 'static,
    T: Send + 'static,
    R: for<'a> IntoPyObject<'a> + Send + 'static,
{
    pyo3_async_runtimes::tokio::future_into_py(py, async move { fut.await.map(convert).map_err(to_py_err) })
}

fn timeout_of(timeout: Option<f64>) -> PyResult<Option<Duration>> {
    timeout
        .map(|t| Duration::try_from_secs_f64(t).map_err(|_| PyValueError::new_err(format!("timeout must be a non-negative number of seconds, not {t}"))))
        .transpose()
}

fn with_timeout(client: Client, timeout: Option<Duration>) -> Client {
    match timeout {
        Some(t) => client.with_timeout(t),
        None => client,
    }
}

/// Builds a core client like kubectl does: an explicit kubeconfig and/or context, else inferred.
fn connect(py: Python<'_>, kubeconfig: Option<PathBuf>, context: Option<String>, timeout: Option<f64>) -> PyResult<Client> {
    let timeout = timeout_of(timeout)?;
    let client = block(py, async move {
        if kubeconfig.is_none() && context.is_none() {
            Client::try_default().await
        } else {
            Client::from_kubeconfig(kubeconfig.as_deref(), context.as_deref()).await
        }
    })?;
    Ok(with_timeout(client, timeout))
}

fn in_cluster(py: Python<'_>, timeout: Option<f64>) -> PyResult<Client> {
    let timeout = timeout_of(timeout)?;
    // kube needs a runtime to build its client.
    let client = block(py, async { Client::in_cluster() })?;
    Ok(with_timeout(client, timeout))
}

/// Reads the connection details of a `kubernetes.client.Configuration` (or of the
/// `configuration` of a `kubernetes.client.ApiClient`).
fn settings_of(configuration: &Bound<'_, PyAny>) -> PyResult<ConnectionSettings> {
    let cfg = if configuration.hasattr("configuration")? && !configuration.hasattr("host")? {
        configuration.getattr("configuration")?
    } else {
        configuration.clone()
    };
    let opt_str = |name: &str| -> PyResult<Option<String>> {
        match cfg.getattr(name) {
            Ok(v) if !v.is_none() => Ok(Some(v.str()?.to_string()).filter(|s| !s.is_empty())),
            _ => Ok(None),
        }
    };
    let server: String = cfg.getattr("host")?.extract()?;
    // kubernetes >= 31 stores the token under "BearerToken" (alias "authorization"); older
    // releases under "authorization". get_api_key_with_prefix also runs refresh_api_key_hook.
    let kwargs = pyo3::types::PyDict::new(cfg.py());
    kwargs.set_item("alias", "authorization")?;
    let key = match cfg.call_method("get_api_key_with_prefix", ("BearerToken",), Some(&kwargs)) {
        Ok(v) => v,
        Err(_) => cfg.call_method1("get_api_key_with_prefix", ("authorization",))?,
    };
    let token: Option<String> = if key.is_none() { None } else { Some(key.extract()?) };
    let token = token
        .map(|t| match t.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.to_string(),
            _ => t,
        })
        .filter(|t| !t.is_empty());
    let verify_ssl = match cfg.getattr("verify_ssl") {
        Ok(v) => v.is_truthy()?,
        Err(_) => true,
    };
    Ok(ConnectionSettings {
        server,
        token,
        certificate_authority: opt_str("ssl_ca_cert")?,
        client_certificate: opt_str("cert_file")?,
        client_key: opt_str("key_file")?,
        insecure_skip_tls_verify: !verify_ssl,
        namespace: None,
    })
}

fn from_configuration(py: Python<'_>, configuration: &Bound<'_, PyAny>, timeout: Option<f64>) -> PyResult<Client> {
    let timeout = timeout_of(timeout)?;
    let settings = settings_of(configuration)?;
    let client = block(py, async move { Client::from_settings(&settings).await })?;
    Ok(with_timeout(client, timeout))
}

fn list_options(label_selector: Option<String>, field_selector: Option<String>) -> ListOptions {
    ListOptions { label_selector, field_selector }
}

/// `--sort-by`: None, "cpu" or "memory".
fn sort_order(sort_by: Option<&str>) -> PyResult<SortBy> {
    sort_by.unwrap_or_default().parse().map_err(to_py_err)
}

fn node_list(v: Vec<kubemetrics::NodeMetrics>) -> Vec<PyNodeMetrics> {
    v.into_iter().map(PyNodeMetrics).collect()
}

fn node_rows(v: Vec<kubemetrics::top::NodeRow>) -> Vec<PyNodeRow> {
    v.into_iter().map(PyNodeRow).collect()
}

fn requests_list(v: Vec<kubemetrics::top::PodRequests>) -> Vec<PyPodRequests> {
    v.into_iter().map(PyPodRequests).collect()
}

fn metric_values(v: Vec<kubemetrics::metrics::custom::MetricValue>) -> Vec<PyMetricValue> {
    v.into_iter().map(PyMetricValue).collect()
}

fn external_values(v: Vec<kubemetrics::metrics::custom::ExternalMetricValue>) -> Vec<PyExternalMetricValue> {
    v.into_iter().map(PyExternalMetricValue).collect()
}

fn object_ref(namespace: Option<String>, resource: String, name: String) -> ObjectRef {
    ObjectRef { namespace, resource, name }
}

/// A client of the Kubernetes Metrics API; every call blocks and releases the GIL.
///
/// `Client(kubeconfig=None, context=None, timeout=None)` is built like kubectl builds its
/// configuration: the kubeconfig file (`KUBECONFIG` or `~/.kube/config` when `kubeconfig` is
/// None) with its current context or `context`, else the in-cluster service account. `timeout`
/// is the time limit of each request in seconds (default 30). One `Client` may be shared by
/// any number of threads.
#[pyclass(frozen, module = "kubemetrics", name = "Client")]
#[derive(Debug)]
pub struct PyClient {
    inner: Client,
}

/// A client of the Kubernetes Metrics API whose calls return asyncio awaitables.
///
/// Built like `Client` (`AsyncClient(kubeconfig=None, context=None, timeout=None)`,
/// `AsyncClient.in_cluster()`, `AsyncClient.from_configuration(cfg)`); the methods are the
/// same and are awaited.
#[pyclass(frozen, module = "kubemetrics", name = "AsyncClient")]
#[derive(Debug)]
pub struct PyAsyncClient {
    inner: Client,
}

macro_rules! client_class {
    ($ty:ident, { $($methods:tt)* }) => {
        #[pymethods]
        impl $ty {
            $($methods)*

            #[new]
            #[pyo3(signature = (kubeconfig = None, context = None, *, timeout = None))]
            fn new(py: Python<'_>, kubeconfig: Option<PathBuf>, context: Option<String>, timeout: Option<f64>) -> PyResult<Self> {
                Ok($ty { inner: connect(py, kubeconfig, context, timeout)? })
            }

            /// From the in-cluster service account (`KUBERNETES_SERVICE_HOST`, the mounted
            /// token and CA); `ConfigError` when not running in a cluster.
            #[classmethod]
            #[pyo3(signature = (*, timeout = None))]
            fn in_cluster(_cls: &Bound<'_, PyType>, py: Python<'_>, timeout: Option<f64>) -> PyResult<Self> {
                Ok($ty { inner: in_cluster(py, timeout)? })
            }

            /// From the connection details of an official-client `kubernetes.client.Configuration`
            /// or `kubernetes.client.ApiClient`: `host`, the bearer token (API key `BearerToken` or
            /// `authorization`), `ssl_ca_cert`, `cert_file`, `key_file` and `verify_ssl`.
            #[classmethod]
            #[pyo3(signature = (configuration, *, timeout = None))]
            fn from_configuration(_cls: &Bound<'_, PyType>, py: Python<'_>, configuration: &Bound<'_, PyAny>, timeout: Option<f64>) -> PyResult<Self> {
                Ok($ty { inner: from_configuration(py, configuration, timeout)? })
            }

            /// The namespace of the kubeconfig context (or `default`).
            #[getter]
            fn default_namespace(&self) -> &str {
                self.inner.default_namespace()
            }

            fn __repr__(&self) -> String {
                format!("<kubemetrics.{}>", format!("{:?}", self.inner).replacen("Client", stringify!($ty).trim_start_matches("Py"), 1))
            }
        }
    };
}

/// Generates the methods of both clients from one description each (`fn name(args) -> Python
/// result => convert, |client| { ...; core future }`): `Client`'s blocks on the core future with
/// the GIL released, `AsyncClient`'s returns it as an asyncio awaitable; both convert the result
/// with the same function. The arguments are owned (the awaitable outlives the call).
macro_rules! client_methods {
    ($(
        $(#[$attr:meta])*
        fn $name:ident($($arg:ident : $argty:ty),* $(,)?) -> $ret:ty => $convert:expr, |$client:ident| $body:block
    )*) => {
        client_class!(PyClient, {
            $(
                $(#[$attr])*
                fn $name(&self, py: Python<'_>, $($arg: $argty),*) -> PyResult<$ret> {
                    let $client = &self.inner;
                    block(py, $body).map($convert)
                }
            )*
        });

        client_class!(PyAsyncClient, {
            $(
                $(#[$attr])*
                fn $name<'py>(&self, py: Python<'py>, $($arg: $argty),*) -> PyResult<Bound<'py, PyAny>> {
                    let $client = self.inner.clone();
                    spawn(py, $body, $convert)
                }
            )*
        });
    };
}

client_methods! {
    /// Lists node metrics (label and field selectors apply).
    #[pyo3(signature = (label_selector = None, field_selector = None))]
    fn list_node_metrics(label_selector: Option<String>, field_selector: Option<String>) -> Vec<PyNodeMetrics> => node_list, |client| {
        let options = list_options(label_selector, field_selector);
        async move { client.list_node_metrics(&options).await }
    }

    /// Gets the metrics of one node; `NotFoundError` carries the server's message.
    fn get_node_metrics(name: String) -> PyNodeMetrics => PyNodeMetrics, |client| {
        async move { client.get_node_metrics(&name).await }
    }

    /// Lists pod metrics in `namespace`, or in all namespaces when None, as a `PodMetricsList`
    /// (a sequence whose `PodMetrics` are made when read).
    #[pyo3(signature = (namespace = None, label_selector = None, field_selector = None))]
    fn list_pod_metrics(namespace: Option<String>, label_selector: Option<String>, field_selector: Option<String>) -> PyPodMetricsList => PyPodMetricsList::from_core, |client| {
        let options = list_options(label_selector, field_selector);
        async move { client.list_pod_metrics_whole_table(namespace.as_deref(), &options).await }
    }

    /// Gets the metrics of one pod.
    fn get_pod_metrics(namespace: String, name: String) -> PyPodMetrics => PyPodMetrics::from_core, |client| {
        async move { client.get_pod_metrics(&namespace, &name).await }
    }

    /// `kubectl top node`: usage, allocatable (or capacity with `show_capacity`) and
    /// percentages of every node (or the one named), nodes without metrics included as rows
    /// without usage. `sort_by` is None, "cpu" or "memory".
    ///
    /// Errors: `MetricsUnavailableError` when no Metrics API is served or it returned no node
    /// ("metrics not available yet"); `NotFoundError` for an unknown node name.
    #[pyo3(signature = (name = None, label_selector = None, show_capacity = false, sort_by = None))]
    fn top_nodes(name: Option<String>, label_selector: Option<String>, show_capacity: bool, sort_by: Option<String>) -> Vec<PyNodeRow> => node_rows, |client| {
        let options = TopNodeOptions { name, label_selector, show_capacity, sort_by: sort_order(sort_by.as_deref())? };
        async move { client.top_nodes(&options).await }
    }

    /// `kubectl top pod`: usage of the pods of one namespace (the client's default when None),
    /// or of all namespaces, summed per pod and per container, in kubectl's order, with the
    /// total. `sort_by` is None, "cpu" or "memory". The result is a `TopPods`, a sequence whose
    /// rows are made when read.
    ///
    /// When the Metrics API returns no pod, kubectl's rules apply: `MetricsUnavailableError`
    /// naming the first pod older than two minutes ("Metrics not available for pod ns/name,
    /// age: ..."), "metrics not available yet" when all are younger, and an empty result when
    /// no pod matches at all.
    #[pyo3(signature = (namespace = None, all_namespaces = false, name = None, label_selector = None, field_selector = None, containers = false, sort_by = None, sum = false))]
    #[allow(clippy::too_many_arguments)]
    fn top_pods(
        namespace: Option<String>,
        all_namespaces: bool,
        name: Option<String>,
        label_selector: Option<String>,
        field_selector: Option<String>,
        containers: bool,
        sort_by: Option<String>,
        sum: bool,
    ) -> PyTopPods => PyTopPods::from_core, |client| {
        let sort_by = sort_order(sort_by.as_deref())?;
        let options = TopPodOptions { name, namespace, all_namespaces, label_selector, field_selector, containers, sort_by, sum };
        async move { client.top_pods_table_any_names(&options).await }
    }

    /// The CPU and memory requests of the pods in `namespace` (all namespaces when None)
    /// matching the selectors, summed over each pod's containers. Compare usage with
    /// `PodRequests.cpu_percent(row.cpu)` / `memory_percent(row.memory)`.
    #[pyo3(signature = (namespace = None, label_selector = None, field_selector = None))]
    fn pod_requests(namespace: Option<String>, label_selector: Option<String>, field_selector: Option<String>) -> Vec<PyPodRequests> => requests_list, |client| {
        let options = list_options(label_selector, field_selector);
        async move { client.pod_requests(namespace.as_deref(), &options).await }
    }

    /// The `custom.metrics.k8s.io` version read: "v1beta2" when offered, else "v1beta1";
    /// `MetricsUnavailableError` when the cluster serves no custom metrics API.
    fn custom_metrics_version() -> String => std::convert::identity, |client| {
        async move { client.custom_metrics_version().await }
    }

    /// The value of custom `metric` for one object: `resource` is plural (`pods`,
    /// `services`, ...), `namespace` None for cluster-scoped objects (a namespace's own metrics:
    /// `get_custom_metric(None, "namespaces", ns, metric)`). `metric_selector` selects the
    /// metric's own labels (`queue=jobs`).
    ///
    /// Errors: `NotFoundError` with the server's message for an unknown metric or object,
    /// `MetricsUnavailableError` when no custom metrics API is served.
    #[pyo3(signature = (namespace, resource, name, metric, metric_selector = None))]
    fn get_custom_metric(namespace: Option<String>, resource: String, name: String, metric: String, metric_selector: Option<String>) -> PyMetricValue => PyMetricValue, |client| {
        let object = object_ref(namespace, resource, name);
        async move { client.get_custom_metric(&object, &metric, metric_selector.as_deref()).await }
    }

    /// The values of custom `metric` for the objects of `resource` in `namespace` (None for
    /// cluster-scoped resources) matching `label_selector` (`pods/*/{metric}`), as the
    /// HorizontalPodAutoscaler reads them.
    #[pyo3(signature = (namespace, resource, metric, label_selector = None, metric_selector = None))]
    fn list_custom_metrics(
        namespace: Option<String>,
        resource: String,
        metric: String,
        label_selector: Option<String>,
        metric_selector: Option<String>,
    ) -> Vec<PyMetricValue> => metric_values, |client| {
        async move {
            client.list_custom_metrics(namespace.as_deref(), &resource, label_selector.as_deref(), &metric, metric_selector.as_deref()).await
        }
    }

    /// The series of external `metric` in `namespace` whose labels match `label_selector`;
    /// `MetricsUnavailableError` when no external metrics API is served.
    #[pyo3(signature = (namespace, metric, label_selector = None))]
    fn get_external_metric(namespace: String, metric: String, label_selector: Option<String>) -> Vec<PyExternalMetricValue> => external_values, |client| {
        async move { client.get_external_metric(&namespace, &metric, label_selector.as_deref()).await }
    }

    /// Discovery: the custom metrics served, as `resource/metric` (`pods/http_requests`).
    fn list_custom_metric_names() -> Vec<String> => std::convert::identity, |client| {
        async move { client.list_custom_metric_names().await }
    }

    /// Discovery: the external metrics served.
    fn list_external_metric_names() -> Vec<String> => std::convert::identity, |client| {
        async move { client.list_external_metric_names().await }
    }
}
