//! [`Client`]: typed reads of the Metrics API (and the Nodes and Pods `top` needs).

mod columns;
mod custom;
mod settings;

pub use settings::ConnectionSettings;

use crate::error::{Error, ErrorKind, Result};
use crate::metrics::list_decoder::{ListDecoder, ListSink};
use crate::metrics::table::PodMetricsTable;
use crate::metrics::{NodeMetrics, NodeMetricsList, PodMetrics, PodMetricsList, protobuf};
use k8s_openapi::List;
use k8s_openapi::api::core::v1::{Node, Pod};
use serde::de::DeserializeOwned;
use std::path::Path;
use std::time::Duration;
use tokio::sync::OnceCell;

/// Label and field selectors of a list call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// A label selector (`app=web,tier!=db`).
    pub label_selector: Option<String>,
    /// A field selector (`metadata.name=x`).
    pub field_selector: Option<String>,
}

impl ListOptions {
    /// Options with a label selector.
    pub fn labels(selector: impl Into<String>) -> Self {
        ListOptions { label_selector: Some(selector.into()), field_selector: None }
    }

    fn query(&self) -> String {
        let mut q = Vec::new();
        for (key, value) in [("labelSelector", &self.label_selector), ("fieldSelector", &self.field_selector)] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                q.push(format!("{key}={}", percent_encode(v)));
            }
        }
        if q.is_empty() { String::new() } else { format!("?{}", q.join("&")) }
    }
}

pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The metrics API versions kubemetrics reads, most preferred first.
pub const SUPPORTED_VERSIONS: [&str; 2] = ["v1", "v1beta1"];

/// A client of the Kubernetes Metrics API, built on `kube::Client`.
///
/// Built like kubectl builds its configuration: `KUBECONFIG` / `~/.kube/config` with an optional
/// context, or the in-cluster service account. Cheap to clone; safe to share between tasks.
#[derive(Clone)]
pub struct Client {
    inner: kube::Client,
    server: String,
    namespace: String,
    version: std::sync::Arc<OnceCell<String>>,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("server", &self.server).field("namespace", &self.namespace).finish()
    }
}

/// The default time limit of one request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

impl Client {
    /// Infers the configuration as kubectl does: kubeconfig (`KUBECONFIG` or `~/.kube/config`,
    /// current context), else the in-cluster service account.
    pub async fn try_default() -> Result<Client> {
        let config =
            kube::Config::infer().await.map_err(|e| Error::new(ErrorKind::Config, format!("no Kubernetes configuration found: {e}")).with_source(e))?;
        Self::from_config(config)
    }

    /// The configuration [`from_kubeconfig`](Self::from_kubeconfig) (with `path`) or
    /// [`try_default`](Self::try_default) (without) would use: what `kubemetrics serve` also
    /// hands to its kubelet client, as metrics-server does.
    pub async fn config(path: Option<&Path>) -> Result<kube::Config> {
        match path {
            Some(p) => Self::kubeconfig_config(Some(p), None).await,
            None => kube::Config::infer().await.map_err(|e| Error::new(ErrorKind::Config, format!("no Kubernetes configuration found: {e}")).with_source(e)),
        }
    }

    /// From a kubeconfig file (`None`: `KUBECONFIG` or `~/.kube/config`) and a context
    /// (`None`: its current context).
    pub async fn from_kubeconfig(path: Option<&Path>, context: Option<&str>) -> Result<Client> {
        Self::from_config(Self::kubeconfig_config(path, context).await?)
    }

    async fn kubeconfig_config(path: Option<&Path>, context: Option<&str>) -> Result<kube::Config> {
        let kubeconfig = match path {
            Some(p) => kube::config::Kubeconfig::read_from(p)
                .map_err(|e| Error::new(ErrorKind::Config, format!("cannot read kubeconfig {}: {e}", p.display())).with_source(e))?,
            None => kube::config::Kubeconfig::read().map_err(|e| Error::new(ErrorKind::Config, format!("cannot read kubeconfig: {e}")).with_source(e))?,
        };
        if let Some(ctx) = context
            && !kubeconfig.contexts.iter().any(|c| c.name == ctx)
        {
            return Err(Error::new(ErrorKind::Config, format!("context \"{ctx}\" does not exist")));
        }
        let options = kube::config::KubeConfigOptions { context: context.map(str::to_string), ..Default::default() };
        kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| Error::new(ErrorKind::Config, format!("invalid kubeconfig: {e}")).with_source(e))
    }

    /// From the in-cluster service account (`KUBERNETES_SERVICE_HOST`, the mounted token and CA).
    pub fn in_cluster() -> Result<Client> {
        let config = kube::Config::incluster().map_err(|e| Error::new(ErrorKind::Config, format!("not running in a cluster: {e}")).with_source(e))?;
        Self::from_config(config)
    }

    /// From a `kube::Config`.
    pub fn from_config(config: kube::Config) -> Result<Client> {
        let server = config.cluster_url.to_string().trim_end_matches('/').to_string();
        let namespace = config.default_namespace.clone();
        let inner = kube::Client::try_from(config).map_err(|e| crate::error::from_kube(e, &server))?;
        Ok(Client { inner, server, namespace, version: Default::default(), timeout: DEFAULT_TIMEOUT })
    }

    /// Wraps an existing `kube::Client`.
    pub fn from_kube(client: kube::Client) -> Client {
        let namespace = client.default_namespace().to_string();
        Client { inner: client, server: String::new(), namespace, version: Default::default(), timeout: DEFAULT_TIMEOUT }
    }

    /// Sets the time limit of each request (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.timeout = timeout;
        self
    }

    /// The underlying `kube::Client`.
    pub fn kube_client(&self) -> &kube::Client {
        &self.inner
    }

    /// The namespace of the kubeconfig context (or `default`).
    pub fn default_namespace(&self) -> &str {
        &self.namespace
    }

    /// GETs `path` and returns the body; non-2xx statuses become errors of the matching kind.
    pub async fn get_raw(&self, path: &str) -> Result<String> {
        let req = http::Request::get(path)
            .header(http::header::ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
        match tokio::time::timeout(self.timeout, self.inner.request_text(req)).await {
            Ok(result) => result.map_err(|e| crate::error::from_kube(e, &self.server)),
            Err(_) => Err(self.timed_out(path)),
        }
    }

    /// GETs a metrics path, asking for protobuf first and JSON as the fallback (as kubectl
    /// does). Returns the body and whether it is protobuf; failures answered in either encoding
    /// become errors with the server's message.
    async fn get_metrics_body(&self, path: &str) -> Result<(bool, bytes::Bytes)> {
        let exchange = async {
            let answer = self.metrics_answer(path).await?;
            let body = read_body(answer.body, answer.length).await.map_err(|e| crate::error::from_kube(e, &self.server))?;
            Ok((answer.is_protobuf, body))
        };
        self.within_timeout(path, exchange).await
    }

    /// Sends a metrics GET (protobuf first, JSON as the fallback) and checks the answer's status
    /// and content type; the body of a successful answer is left to read.
    async fn metrics_answer(&self, path: &str) -> Result<MetricsAnswer> {
        let accept = format!("{}, application/json", protobuf::CONTENT_TYPE);
        let req = http::Request::get(path)
            .header(http::header::ACCEPT, accept)
            .body(kube::client::Body::empty())
            .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
        let res = self.inner.send(req).await.map_err(|e| crate::error::from_kube(e, &self.server))?;
        let status = res.status();
        let (content_type, length) = {
            let header = |name| res.headers().get(name).and_then(|v: &http::HeaderValue| v.to_str().ok());
            (header(http::header::CONTENT_TYPE).unwrap_or("").to_string(), header(http::header::CONTENT_LENGTH).and_then(|v| v.parse::<usize>().ok()))
        };
        let is_protobuf = content_type.starts_with(protobuf::CONTENT_TYPE);
        if !status.is_success() {
            let body = read_body(res.into_body(), length).await.map_err(|e| crate::error::from_kube(e, &self.server))?;
            let message = if is_protobuf {
                protobuf::decode_status(&body).map(|s| s.message).unwrap_or_default()
            } else {
                serde_json::from_slice::<kube::core::Status>(&body).map(|s| s.message).unwrap_or_else(|_| String::from_utf8_lossy(&body).trim().to_string())
            };
            return Err(crate::error::from_status(status.as_u16(), &message));
        }
        if !is_protobuf && !content_type.is_empty() && !content_type.starts_with("application/json") {
            return Err(Error::new(ErrorKind::Api, format!("the answer to GET {path} has content type {content_type:?}, expected protobuf or JSON")));
        }
        Ok(MetricsAnswer { is_protobuf, body: res.into_body(), length })
    }

    /// `exchange` within the client's timeout (kubectl's message when it runs out).
    async fn within_timeout<T>(&self, path: &str, exchange: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(self.timed_out(path)),
        }
    }

    /// [`Client::get_metrics_body`] decoded with `decode_protobuf` or serde.
    async fn get_metrics<T: DeserializeOwned>(&self, path: &str, decode_protobuf: fn(&[u8]) -> Result<T>) -> Result<T> {
        let (is_protobuf, body) = self.get_metrics_body(path).await?;
        decode_answer(path, is_protobuf, &body, decode_protobuf, |b| {
            serde_json::from_slice(b).map_err(|e| Error::new(ErrorKind::Api, e.to_string()).with_source(e))
        })
    }

    /// Lists pod metrics as a [`PodMetricsTable`]: decoded straight from the body, with no
    /// object per pod (what `top` reads).
    pub async fn list_pod_metrics_table(&self, namespace: Option<&str>, options: &ListOptions) -> Result<PodMetricsTable> {
        self.list_pod_metrics_into(namespace, options, PodMetricsTable::default()).await
    }

    /// Lists pod metrics into `sink`, decoded as the body arrives, protobuf or JSON: only the
    /// bytes of one unfinished item are held at a time, never the whole body.
    pub(crate) async fn list_pod_metrics_into<S: ListSink>(&self, namespace: Option<&str>, options: &ListOptions, sink: S) -> Result<S> {
        let path = self.metrics_path(&pod_list_rest(namespace, options)).await?;
        let exchange = async {
            let answer = self.metrics_answer(&path).await?;
            let mut decoder = ListDecoder::new(answer.is_protobuf, sink);
            each_chunk(answer.body, |data| decoder.feed(data).map_err(|e| decode_error(&path, &e)), |e| crate::error::from_kube(e, &self.server)).await?;
            decoder.finish().map_err(|e| decode_error(&path, &e))
        };
        self.within_timeout(&path, exchange).await
    }

    fn timed_out(&self, path: &str) -> Error {
        Error::new(
            ErrorKind::Io,
            format!("Unable to connect to the server {}: no answer to GET {path} within {:?}", crate::error::host_port(&self.server), self.timeout),
        )
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let body = self.get_raw(path).await?;
        serde_json::from_str(&body).map_err(|e| Error::new(ErrorKind::Api, format!("cannot decode the answer to GET {path}: {e}")).with_source(e))
    }

    /// The `metrics.k8s.io` version to use: `v1` when offered, else `v1beta1`.
    ///
    /// Fails with [`ErrorKind::MetricsUnavailable`] when the cluster serves neither.
    pub async fn metrics_api_version(&self) -> Result<&str> {
        self.version
            .get_or_try_init(|| async {
                #[derive(serde::Deserialize)]
                struct Groups {
                    #[serde(default)]
                    groups: Vec<Group>,
                }
                #[derive(serde::Deserialize)]
                struct Group {
                    name: String,
                    #[serde(default)]
                    versions: Vec<Version>,
                }
                #[derive(serde::Deserialize)]
                struct Version {
                    version: String,
                }
                let groups: Groups = self.get_json("/apis").await?;
                let offered: Vec<String> =
                    groups.groups.into_iter().filter(|g| g.name == crate::metrics::GROUP).flat_map(|g| g.versions).map(|v| v.version).collect();
                SUPPORTED_VERSIONS.iter().find(|v| offered.iter().any(|o| o == *v)).map(|v| v.to_string()).ok_or_else(metrics_unavailable)
            })
            .await
            .map(String::as_str)
    }

    async fn metrics_path(&self, rest: &str) -> Result<String> {
        Ok(format!("/apis/metrics.k8s.io/{}/{rest}", self.metrics_api_version().await?))
    }

    /// Lists node metrics (label and field selectors apply).
    pub async fn list_node_metrics(&self, options: &ListOptions) -> Result<Vec<NodeMetrics>> {
        let path = self.metrics_path(&format!("nodes{}", options.query())).await?;
        Ok(self.get_metrics::<NodeMetricsList>(&path, protobuf::decode_node_metrics_list).await?.items)
    }

    /// Gets the metrics of one node; [`ErrorKind::NotFound`] carries the server's message.
    pub async fn get_node_metrics(&self, name: &str) -> Result<NodeMetrics> {
        let path = self.metrics_path(&format!("nodes/{}", percent_encode(name))).await?;
        self.get_metrics(&path, protobuf::decode_node_metrics).await
    }

    /// Lists pod metrics in `namespace`, or in all namespaces when `None`.
    pub async fn list_pod_metrics(&self, namespace: Option<&str>, options: &ListOptions) -> Result<Vec<PodMetrics>> {
        let path = self.metrics_path(&pod_list_rest(namespace, options)).await?;
        Ok(self.get_metrics::<PodMetricsList>(&path, protobuf::decode_pod_metrics_list).await?.items)
    }

    /// Gets the metrics of one pod.
    pub async fn get_pod_metrics(&self, namespace: &str, name: &str) -> Result<PodMetrics> {
        let path = self.metrics_path(&format!("namespaces/{}/pods/{}", percent_encode(namespace), percent_encode(name))).await?;
        self.get_metrics(&path, protobuf::decode_pod_metrics).await
    }

    /// Lists Node objects (for allocatable and capacity).
    pub async fn list_nodes(&self, options: &ListOptions) -> Result<Vec<Node>> {
        Ok(self.get_json::<List<Node>>(&format!("/api/v1/nodes{}", options.query())).await?.items)
    }

    /// Gets one Node object.
    pub async fn get_node(&self, name: &str) -> Result<Node> {
        self.get_json(&format!("/api/v1/nodes/{}", percent_encode(name))).await
    }

    /// Lists Pod objects in `namespace`, or in all namespaces when `None`.
    pub async fn list_pods(&self, namespace: Option<&str>, options: &ListOptions) -> Result<Vec<Pod>> {
        let path = match namespace {
            Some(ns) => format!("/api/v1/namespaces/{}/pods{}", percent_encode(ns), options.query()),
            None => format!("/api/v1/pods{}", options.query()),
        };
        Ok(self.get_json::<List<Pod>>(&path).await?.items)
    }

    /// Gets one Pod object.
    pub async fn get_pod(&self, namespace: &str, name: &str) -> Result<Pod> {
        self.get_json(&format!("/api/v1/namespaces/{}/pods/{}", percent_encode(namespace), percent_encode(name))).await
    }
}

fn pod_list_rest(namespace: Option<&str>, options: &ListOptions) -> String {
    match namespace {
        Some(ns) => format!("namespaces/{}/pods{}", percent_encode(ns), options.query()),
        None => format!("pods{}", options.query()),
    }
}

/// Decodes an answer with the decoder of its encoding; errors name the path.
/// A successful answer to a metrics GET, its body still to read.
struct MetricsAnswer {
    is_protobuf: bool,
    body: kube::client::Body,
    length: Option<usize>,
}

fn decode_answer<T>(path: &str, is_protobuf: bool, body: &[u8], protobuf: fn(&[u8]) -> Result<T>, json: fn(&[u8]) -> Result<T>) -> Result<T> {
    let decoded = if is_protobuf { protobuf(body) } else { json(body) };
    decoded.map_err(|e| decode_error(path, &e))
}

/// A body that arrived but does not decode, named by the GET it answered.
fn decode_error(path: &str, e: &Error) -> Error {
    Error::new(ErrorKind::Api, format!("cannot decode the answer to GET {path}: {}", e.message()))
}

/// kubectl's message when no Metrics API is served, with what to do about it.
pub(crate) fn metrics_unavailable() -> Error {
    Error::new(
        ErrorKind::MetricsUnavailable,
        "Metrics API not available: the cluster serves no metrics.k8s.io API; install metrics-server or run `kubemetrics serve`",
    )
}

/// Reads a whole body into one buffer, sized from `Content-Length` when the server sent one,
/// each chunk appended and dropped as it arrives: at most the body and one chunk are held at
/// once (collecting the chunks first and joining them held the body twice).
async fn read_body(body: kube::client::Body, length: Option<usize>) -> std::result::Result<bytes::Bytes, kube::Error> {
    let mut buf = Vec::with_capacity(length.unwrap_or(0).min(1 << 30));
    each_chunk(
        body,
        |data| {
            buf.extend_from_slice(data);
            Ok(())
        },
        |e| e,
    )
    .await?;
    Ok(bytes::Bytes::from(buf))
}

/// Hands each data chunk of `body` to `each` as it arrives (trailers skipped); `transport` turns a
/// failure to read into the caller's error.
async fn each_chunk<E>(
    mut body: kube::client::Body,
    mut each: impl FnMut(&[u8]) -> std::result::Result<(), E>,
    transport: impl Fn(kube::Error) -> E,
) -> std::result::Result<(), E> {
    use http_body_util::BodyExt as _;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.map_err(&transport)?.into_data() {
            each(&data)?;
        }
    }
    Ok(())
}
