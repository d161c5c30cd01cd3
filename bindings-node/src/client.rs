//! `Client`: typed reads of the Metrics API and kubectl-identical `top`.

use crate::convert::{NodeRow, ScopedArray, TopPods};
use crate::custom::{CustomMetricOptions, CustomMetricsListOptions, ExternalMetricOptions, MetricObject};
use crate::spawn;
use crate::wire::{self, RawValue, Shape};
use kubemetrics::top::{SortBy, TopNodeOptions, TopPodOptions};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::time::Duration;

/// Options of every client constructor.
#[napi(object, object_to_js = false)]
#[derive(Debug, Default)]
pub struct ClientOptions {
    /// The time limit of each request, in milliseconds (default 30 000). A request that gets no
    /// answer in time rejects with `code` `ERR_KM_IO`.
    pub timeout_ms: Option<u32>,
}

/// Explicit connection details, as another Kubernetes client would hold them.
#[napi(object, object_to_js = false)]
#[derive(Debug, Default)]
pub struct ConnectionSettings {
    /// API server URL (`https://host:6443`).
    pub server: String,
    /// Bearer token.
    pub token: Option<String>,
    /// Path of a PEM file with the CA that signs the server's certificate.
    pub certificate_authority: Option<String>,
    /// Path of a PEM client certificate.
    pub client_certificate: Option<String>,
    /// Path of the PEM client key.
    pub client_key: Option<String>,
    /// Skip server certificate verification (never in production).
    pub insecure_skip_tls_verify: Option<bool>,
    /// Default namespace (`default` when unset).
    pub namespace: Option<String>,
}

/// Label and field selectors of a node metrics list.
#[napi(object, object_to_js = false)]
#[derive(Debug, Default)]
pub struct NodeMetricsListOptions {
    /// A label selector (`tier=a,zone!=z2`).
    pub label_selector: Option<String>,
    /// A field selector (`metadata.name=node-a`).
    pub field_selector: Option<String>,
}

/// Namespace and selectors of a pod metrics list.
#[napi(object, object_to_js = false)]
#[derive(Debug, Default)]
pub struct PodMetricsListOptions {
    /// The namespace to list (absent: all namespaces).
    pub namespace: Option<String>,
    /// A label selector (`app=web,tier!=db`).
    pub label_selector: Option<String>,
    /// A field selector (`metadata.name=x`).
    pub field_selector: Option<String>,
}

/// What `topNodes` reads and how it sorts (kubectl's flags).
#[napi(object, object_to_js = false)]
#[derive(Debug, Default)]
pub struct TopNodesOptions {
    /// One node by name (kubectl's `NAME` argument).
    pub name: Option<String>,
    /// `-l`: a label selector.
    pub label_selector: Option<String>,
    /// `--show-capacity`: percentages of capacity instead of allocatable.
    pub show_capacity: Option<bool>,
    /// `--sort-by`: `"cpu"` (millicores, highest first), `"memory"` (bytes, highest first) or
    /// `"name"` (the default); anything else rejects with `ERR_KM_CONFIG`.
    #[napi(ts_type = "'name' | 'cpu' | 'memory' | ''")]
    pub sort_by: Option<String>,
}

/// What `topPods` reads and how it sorts and sums (kubectl's flags).
#[napi(object, object_to_js = false)]
#[derive(Debug, Default)]
pub struct TopPodsOptions {
    /// `-n`: the namespace (absent: the client's default namespace).
    pub namespace: Option<String>,
    /// `-A`: all namespaces.
    pub all_namespaces: Option<bool>,
    /// One pod by name (kubectl's `NAME` argument).
    pub name: Option<String>,
    /// `-l`: a label selector.
    pub label_selector: Option<String>,
    /// `--field-selector`.
    pub field_selector: Option<String>,
    /// `--containers`: one row per container (every row always carries its containers).
    pub containers: Option<bool>,
    /// `--sort-by`: `"cpu"`, `"memory"` or `"name"` (the default); anything else rejects with
    /// `ERR_KM_CONFIG`.
    #[napi(ts_type = "'name' | 'cpu' | 'memory' | ''")]
    pub sort_by: Option<String>,
    /// `--sum`: compute the total row (`totalCpu` and `totalMemory` are always filled).
    pub sum: Option<bool>,
}

fn list_options(label_selector: Option<String>, field_selector: Option<String>) -> kubemetrics::ListOptions {
    kubemetrics::ListOptions { label_selector, field_selector }
}

/// kubectl's `--sort-by` value (core's parser, so a bad value is core's `Config` error).
fn sort_by(s: Option<&str>) -> kubemetrics::Result<SortBy> {
    s.unwrap_or_default().parse()
}

fn with_options(client: kubemetrics::Client, options: Option<ClientOptions>) -> Client {
    let timeout = options.and_then(|o| o.timeout_ms).map(|ms| Duration::from_millis(u64::from(ms)));
    Client {
        inner: match timeout {
            Some(t) => client.with_timeout(t),
            None => client,
        },
    }
}

/// A client of the Kubernetes Metrics API.
///
/// Built like kubectl builds its configuration: `KUBECONFIG` / `~/.kube/config` with an optional
/// context, or the in-cluster service account. Every method returns a Promise and runs on one
/// shared native runtime; a client is safe to use from many concurrent calls.
///
/// Errors reject with an `Error` whose `code` is one of `ErrorCode` (`ERR_KM_NOT_FOUND`, ...),
/// whose `message` is the server's own message when a server answered, and whose `status` is
/// the HTTP status when known.
#[napi]
#[derive(Debug)]
pub struct Client {
    inner: kubemetrics::Client,
}

#[napi]
impl Client {
    /// From a kubeconfig file (absent: `KUBECONFIG` or `~/.kube/config`) and a context (absent:
    /// its current context). Rejects with `ERR_KM_CONFIG` for a missing or invalid kubeconfig or
    /// an unknown context.
    #[napi]
    pub fn from_kubeconfig<'env>(
        env: &'env Env,
        path: Option<String>,
        context: Option<String>,
        options: Option<ClientOptions>,
    ) -> Result<PromiseRaw<'env, Client>> {
        spawn(
            env,
            async move { kubemetrics::Client::from_kubeconfig(path.as_deref().map(std::path::Path::new), context.as_deref()).await },
            move |_, client| Ok(with_options(client, options)),
        )
    }

    /// Infers the configuration as kubectl does: kubeconfig (`KUBECONFIG` or `~/.kube/config`,
    /// current context), else the in-cluster service account.
    #[napi]
    pub fn try_default<'env>(env: &'env Env, options: Option<ClientOptions>) -> Result<PromiseRaw<'env, Client>> {
        spawn(env, kubemetrics::Client::try_default(), move |_, client| Ok(with_options(client, options)))
    }

    /// From the in-cluster service account (`KUBERNETES_SERVICE_HOST`, the mounted token and CA).
    /// Rejects with `ERR_KM_CONFIG` when not running in a cluster.
    #[napi]
    pub fn in_cluster<'env>(env: &'env Env, options: Option<ClientOptions>) -> Result<PromiseRaw<'env, Client>> {
        spawn(env, async { kubemetrics::Client::in_cluster() }, move |_, client| Ok(with_options(client, options)))
    }

    /// From explicit connection details (`{ server, token, certificateAuthority, ... }`).
    #[napi]
    pub fn from_settings<'env>(env: &'env Env, settings: ConnectionSettings, options: Option<ClientOptions>) -> Result<PromiseRaw<'env, Client>> {
        let settings = kubemetrics::ConnectionSettings {
            server: settings.server,
            token: settings.token,
            certificate_authority: settings.certificate_authority,
            client_certificate: settings.client_certificate,
            client_key: settings.client_key,
            insecure_skip_tls_verify: settings.insecure_skip_tls_verify.unwrap_or(false),
            namespace: settings.namespace,
        };
        spawn(env, async move { kubemetrics::Client::from_settings(&settings).await }, move |_, client| Ok(with_options(client, options)))
    }

    /// The namespace of the kubeconfig context (or `default`).
    #[napi(getter)]
    pub fn default_namespace(&self) -> String {
        self.inner.default_namespace().to_string()
    }

    /// The `metrics.k8s.io` version the client uses: `v1` when offered, else `v1beta1`.
    /// Rejects with `ERR_KM_METRICS_UNAVAILABLE` when the cluster serves neither.
    #[napi]
    pub fn metrics_api_version<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, String>> {
        let client = self.inner.clone();
        spawn(env, async move { client.metrics_api_version().await.map(str::to_string) }, |_, v| Ok(v))
    }

    /// Lists node metrics (label and field selectors apply).
    #[napi(ts_return_type = "Promise<Array<NodeMetrics>>")]
    pub fn list_node_metrics<'env>(&self, env: &'env Env, options: Option<NodeMetricsListOptions>) -> Result<PromiseRaw<'env, RawValue>> {
        let client = self.inner.clone();
        let o = options.unwrap_or_default();
        let list = list_options(o.label_selector, o.field_selector);
        spawn(env, async move { client.list_node_metrics(&list).await }, |env, items| wire::to_js(env, &items, Shape::Nodes))
    }

    /// Gets the metrics of one node; rejects with `ERR_KM_NOT_FOUND` carrying the server's
    /// message when there is none.
    #[napi(ts_return_type = "Promise<NodeMetrics>")]
    pub fn get_node_metrics<'env>(&self, env: &'env Env, name: String) -> Result<PromiseRaw<'env, RawValue>> {
        let client = self.inner.clone();
        spawn(env, async move { client.get_node_metrics(&name).await }, |env, m| wire::to_js(env, &m, Shape::Node))
    }

    /// Lists pod metrics in `namespace`, or in all namespaces when it is absent.
    ///
    /// The result is an array whose rows are built on first read (a `Proxy` of an `Array`:
    /// indexing, iteration, the `Array` methods and `JSON.stringify` work as with any array).
    /// Its `usageColumns` (not enumerable) hold every container's CPU in nano-cores and memory in
    /// bytes as exact `BigInt64Array`s, for sums that build no row and no `Quantity`.
    #[napi(ts_return_type = "Promise<Array<PodMetrics> & { readonly usageColumns: PodUsageColumns }>")]
    pub fn list_pod_metrics<'env>(&self, env: &'env Env, options: Option<PodMetricsListOptions>) -> Result<PromiseRaw<'env, RawValue>> {
        let client = self.inner.clone();
        let o = options.unwrap_or_default();
        let namespace = o.namespace;
        let list = list_options(o.label_selector, o.field_selector);
        spawn(env, async move { client.list_pod_metrics_columns(namespace.as_deref(), &list).await }, crate::columns::pod_metrics)
    }

    /// Gets the metrics of one pod; rejects with `ERR_KM_NOT_FOUND` carrying the server's
    /// message when there is none.
    #[napi(ts_return_type = "Promise<PodMetrics>")]
    pub fn get_pod_metrics<'env>(&self, env: &'env Env, namespace: String, name: String) -> Result<PromiseRaw<'env, RawValue>> {
        let client = self.inner.clone();
        spawn(env, async move { client.get_pod_metrics(&namespace, &name).await }, |env, m| wire::to_js(env, &m, Shape::Pod))
    }

    /// `kubectl top node`: usage, allocatable (or capacity) and percentages of every node (or
    /// one), nodes without metrics included as rows without usage, in kubectl's order.
    ///
    /// Rejects with `ERR_KM_METRICS_UNAVAILABLE` when no Metrics API is served or it returned no
    /// node ("metrics not available yet"), `ERR_KM_NOT_FOUND` for an unknown node name.
    #[napi(ts_return_type = "Promise<Array<NodeRow>>")]
    pub fn top_nodes<'env>(&self, env: &'env Env, options: Option<TopNodesOptions>) -> Result<PromiseRaw<'env, ScopedArray<NodeRow>>> {
        let client = self.inner.clone();
        let o = options.unwrap_or_default();
        let fut = async move {
            let options = TopNodeOptions {
                name: o.name,
                label_selector: o.label_selector,
                show_capacity: o.show_capacity.unwrap_or(false),
                sort_by: sort_by(o.sort_by.as_deref())?,
            };
            client.top_nodes(&options).await
        };
        spawn(env, fut, |_, rows| Ok(ScopedArray(rows.into_iter().map(NodeRow::from).collect())))
    }

    /// `kubectl top pod`: usage of the pods of one namespace (or all), summed per pod and per
    /// container, in kubectl's order, with the total.
    ///
    /// When the Metrics API returns no pod, kubectl's rules apply: `ERR_KM_METRICS_UNAVAILABLE`
    /// naming the first pod older than two minutes ("Metrics not available for pod ns/name, age:
    /// ..."), "metrics not available yet" when all are younger, and an empty result when no pod
    /// matches at all.
    #[napi]
    pub fn top_pods<'env>(&self, env: &'env Env, options: Option<TopPodsOptions>) -> Result<PromiseRaw<'env, TopPods>> {
        let client = self.inner.clone();
        let o = options.unwrap_or_default();
        let fut = async move {
            let options = TopPodOptions {
                name: o.name,
                namespace: o.namespace,
                all_namespaces: o.all_namespaces.unwrap_or(false),
                label_selector: o.label_selector,
                field_selector: o.field_selector,
                containers: o.containers.unwrap_or(false),
                sort_by: sort_by(o.sort_by.as_deref())?,
                sum: o.sum.unwrap_or(false),
            };
            client.top_pods_table_any_names(&options).await
        };
        spawn(env, fut, TopPods::from_core)
    }

    /// The `custom.metrics.k8s.io` version read: `'v1beta2'` when offered, else `'v1beta1'`.
    /// Rejects with `ERR_KM_METRICS_UNAVAILABLE` when the cluster serves no custom metrics API.
    #[napi(ts_return_type = "Promise<'v1beta2' | 'v1beta1'>")]
    pub fn custom_metrics_version<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, String>> {
        let client = self.inner.clone();
        spawn(env, async move { client.custom_metrics_version().await }, |_, v| Ok(v))
    }

    /// The value of custom `metric` for one object: `{ namespace, resource, name }` with a plural
    /// `resource` (`pods`, `services`, ...) and no `namespace` for cluster-scoped objects (a
    /// namespace's own metrics: `{ resource: 'namespaces', name: ns }`). `metricSelector`
    /// selects the metric's own labels (`queue=jobs`).
    ///
    /// Rejects with `ERR_KM_NOT_FOUND` carrying the server's message for an unknown metric or
    /// object, `ERR_KM_METRICS_UNAVAILABLE` when no custom metrics API is served.
    #[napi(ts_return_type = "Promise<MetricValue>")]
    pub fn get_custom_metric<'env>(
        &self,
        env: &'env Env,
        object: MetricObject,
        metric: String,
        options: Option<CustomMetricOptions>,
    ) -> Result<PromiseRaw<'env, RawValue>> {
        let client = self.inner.clone();
        let object = kubemetrics::metrics::custom::ObjectRef::from(object);
        let metric_selector = options.unwrap_or_default().metric_selector;
        spawn(env, async move { client.get_custom_metric(&object, &metric, metric_selector.as_deref()).await }, |env, v| wire::to_js(env, &v, Shape::Value))
    }

    /// The values of custom `metric` for the objects of `resource` (plural) in `namespace`
    /// (absent: cluster-scoped objects) whose labels match `labelSelector`, as the
    /// HorizontalPodAutoscaler reads them (`pods/*/{metric}`).
    #[napi(ts_return_type = "Promise<Array<MetricValue>>")]
    pub fn list_custom_metrics<'env>(
        &self,
        env: &'env Env,
        resource: String,
        metric: String,
        options: Option<CustomMetricsListOptions>,
    ) -> Result<PromiseRaw<'env, RawValue>> {
        let client = self.inner.clone();
        let o = options.unwrap_or_default();
        let fut = async move {
            client.list_custom_metrics(o.namespace.as_deref(), &resource, o.label_selector.as_deref(), &metric, o.metric_selector.as_deref()).await
        };
        spawn(env, fut, |env, items| wire::to_js(env, &items, Shape::Values))
    }

    /// The series of external `metric` in `namespace` whose labels match `labelSelector`.
    /// Rejects with `ERR_KM_METRICS_UNAVAILABLE` when no external metrics API is served.
    #[napi(ts_return_type = "Promise<Array<ExternalMetricValue>>")]
    pub fn get_external_metric<'env>(
        &self,
        env: &'env Env,
        namespace: String,
        metric: String,
        options: Option<ExternalMetricOptions>,
    ) -> Result<PromiseRaw<'env, RawValue>> {
        let client = self.inner.clone();
        let label_selector = options.unwrap_or_default().label_selector;
        spawn(env, async move { client.get_external_metric(&namespace, &metric, label_selector.as_deref()).await }, |env, items| {
            wire::to_js(env, &items, Shape::Values)
        })
    }

    /// Discovery: the custom metrics served, as `resource/metric` (`'pods/http_requests'`).
    #[napi]
    pub fn list_custom_metric_names<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Vec<String>>> {
        let client = self.inner.clone();
        spawn(env, async move { client.list_custom_metric_names().await }, |_, v| Ok(v))
    }

    /// Discovery: the external metrics served.
    #[napi]
    pub fn list_external_metric_names<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Vec<String>>> {
        let client = self.inner.clone();
        spawn(env, async move { client.list_external_metric_names().await }, |_, v| Ok(v))
    }
}
