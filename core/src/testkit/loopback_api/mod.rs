//! A loopback Kubernetes API server for tests and `kubemetrics demo`.
//!
//! It serves, over plain HTTP on 127.0.0.1, what kube-apiserver serves for the paths kubectl
//! and kubemetrics use to read metrics: `/version`, legacy discovery (`/api`, `/apis`,
//! `/apis/metrics.k8s.io[/v1beta1]`), Nodes and Pods (`/api/v1/...`, with selectors), and
//! `metrics.k8s.io/v1beta1` node and pod metrics. Faults (401, 403, 500, malformed JSON, a hang,
//! no Metrics API) can be switched on to test clients' error handling.

pub mod fixtures;

use crate::error::{Error, ErrorKind, Result};
use crate::metrics::{NodeMetrics, PodMetrics};
use crate::selector::{FieldSelector, LabelSelector};
use crate::server::http::{self, HttpResponse};
use crate::server::listener::{self, ServeOptions};
use crate::server::metrics_routes;
use crate::server::route::{ApiGroup, Objects, Route};
use ::http::{Method, Request, StatusCode};

use hyper::body::Incoming;
use k8s_openapi::api::core::v1::{Node, Pod};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A fault the server can be told to produce on every API request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// 401 Unauthorized on every path.
    Unauthorized,
    /// 403 Forbidden on the metrics paths.
    Forbidden,
    /// 500 on the metrics paths.
    InternalError,
    /// `200` with a body that is not JSON on the metrics paths.
    MalformedJson,
    /// Never answer the metrics paths.
    Hang,
}

/// What the loopback server serves; change it at any time through [`LoopbackApiServer::state`].
#[derive(Debug, Clone, Default)]
pub struct ClusterState {
    /// Node objects (`/api/v1/nodes`).
    pub nodes: Vec<Node>,
    /// Pod objects (`/api/v1/pods`).
    pub pods: Vec<Pod>,
    /// Node metrics, in the order the server lists them.
    pub node_metrics: Vec<NodeMetrics>,
    /// Pod metrics, in the order the server lists them.
    pub pod_metrics: Vec<PodMetrics>,
    /// Whether `metrics.k8s.io` is served (discovery and paths).
    pub metrics_api: bool,
    /// A fault to produce, if any.
    pub fault: Option<Fault>,
    /// Kubelets reachable through the node proxy (`/api/v1/nodes/{name}/proxy/...`), by node
    /// name: plain-HTTP addresses on loopback (simulated kubelets).
    pub kubelet_proxy: std::collections::BTreeMap<String, SocketAddr>,
    /// Bearer tokens TokenReview accepts: token → (user, groups).
    pub tokens: std::collections::BTreeMap<String, (String, Vec<String>)>,
    /// Users SubjectAccessReview allows (every request of theirs); others are denied, except
    /// members of `system:masters`.
    pub authorized_users: Vec<String>,
    /// When set, metrics paths are answered from this provider (a running collector) instead
    /// of `node_metrics` / `pod_metrics`.
    pub metrics_source: Option<MetricsSource>,
}

/// A live source of metrics for the loopback server (e.g. the demo's collector).
#[derive(Clone)]
pub struct MetricsSource(pub Arc<dyn crate::server::MetricsProvider>);

impl std::fmt::Debug for MetricsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsSource")
    }
}

/// A running loopback API server; stopped when dropped.
#[derive(Debug)]
pub struct LoopbackApiServer {
    addr: SocketAddr,
    state: Arc<RwLock<ClusterState>>,
    stop: watch::Sender<bool>,
}

impl LoopbackApiServer {
    /// Binds 127.0.0.1 on a free port and serves `state` (must be called within a tokio runtime).
    pub async fn start(state: ClusterState) -> Result<LoopbackApiServer> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), state).await
    }

    /// Binds the given loopback address and serves `state`.
    pub async fn start_on(addr: SocketAddr, state: ClusterState) -> Result<LoopbackApiServer> {
        if !addr.ip().is_loopback() {
            return Err(Error::new(ErrorKind::Config, format!("the loopback API server only binds loopback addresses, not {addr}")));
        }
        let tcp = TcpListener::bind(addr).await.map_err(|e| Error::new(ErrorKind::Io, format!("bind {addr}: {e}")).with_source(e))?;
        let addr = tcp.local_addr().map_err(|e| Error::new(ErrorKind::Io, e.to_string()))?;
        let state = Arc::new(RwLock::new(state));
        let (stop, stopped) = watch::channel(false);
        let shared = state.clone();
        listener::spawn(tcp, ServeOptions::http1("loopback API server"), stopped, move |_| {
            let state = shared.clone();
            move |req| {
                let state = state.clone();
                async move { handle(&state, req).await }
            }
        });
        Ok(LoopbackApiServer { addr, state, stop })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The served state, to change what the server answers.
    pub fn state(&self) -> Arc<RwLock<ClusterState>> {
        self.state.clone()
    }

    /// A kubeconfig (YAML) whose current context points at this server, with namespace `namespace`.
    pub fn kubeconfig(&self, namespace: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: loopback\n  cluster:\n    server: {}\ncontexts:\n- name: loopback\n  context:\n    cluster: loopback\n    user: loopback\n    namespace: {namespace}\ncurrent-context: loopback\nusers:\n- name: loopback\n  user:\n    token: loopback-token\n",
            self.url()
        )
    }
}

impl Drop for LoopbackApiServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn list_json<T: serde::Serialize>(kind: &str, items: &[T]) -> HttpResponse {
    let body = serde_json::json!({"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items});
    http::json(StatusCode::OK, body.to_string())
}

/// Test control endpoints: `PUT /_loopback/fault/{none,unauthorized,forbidden,internal-error,malformed-json,hang}`
/// and `PUT /_loopback/metrics-api/{on,off}`, so clients in any language can exercise every
/// error. `control` is what follows `/_loopback/`, `path` the whole path (for the error message).
fn control(state: &RwLock<ClusterState>, control: &str, path: &str) -> HttpResponse {
    let mut s = state.write().unwrap_or_else(|e| e.into_inner());
    let ok = || http::json(StatusCode::OK, "{}");
    match control {
        "metrics-api/on" => {
            s.metrics_api = true;
            ok()
        }
        "metrics-api/off" => {
            s.metrics_api = false;
            ok()
        }
        fault => {
            s.fault = match fault.strip_prefix("fault/") {
                Some("none") => None,
                Some("unauthorized") => Some(Fault::Unauthorized),
                Some("forbidden") => Some(Fault::Forbidden),
                Some("internal-error") => Some(Fault::InternalError),
                Some("malformed-json") => Some(Fault::MalformedJson),
                Some("hang") => Some(Fault::Hang),
                _ => return http::bad_request(&format!("unknown control path {path}")),
            };
            ok()
        }
    }
}

/// TokenReview and SubjectAccessReview, answered from [`ClusterState::tokens`] and
/// [`ClusterState::authorized_users`], echoing the request as kube-apiserver does.
fn review(state: &RwLock<ClusterState>, route: &Route<'_>, body: &[u8]) -> Option<HttpResponse> {
    let mut doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    let s = state.read().unwrap_or_else(|e| e.into_inner());
    match route {
        Route::TokenReview => {
            let token = doc["spec"]["token"].as_str().unwrap_or_default().to_string();
            doc["status"] = match s.tokens.get(&token) {
                Some((user, groups)) => serde_json::json!({"authenticated": true, "user": {"username": user, "groups": groups}}),
                None => serde_json::json!({"authenticated": false, "error": "invalid bearer token"}),
            };
        }
        Route::SubjectAccessReview => {
            let user = doc["spec"]["user"].as_str().unwrap_or_default().to_string();
            let masters = doc["spec"]["groups"].as_array().is_some_and(|g| g.iter().any(|g| g == "system:masters"));
            let allowed = masters || s.authorized_users.contains(&user);
            doc["status"] =
                if allowed { serde_json::json!({"allowed": true, "reason": "loopback: user is authorized"}) } else { serde_json::json!({"allowed": false}) };
        }
        _ => return None,
    }
    Some(http::json(StatusCode::CREATED, doc.to_string()))
}

async fn handle(state: &RwLock<ClusterState>, req: Request<Incoming>) -> HttpResponse {
    let path = http::percent_decode_path(req.uri().path()).into_owned();
    let query = req.uri().query().map(str::to_string);
    let query = query.as_deref();
    let route = Route::parse(&path);
    if req.method() == Method::PUT
        && let Route::LoopbackControl(rest) = route
    {
        return control(state, rest, &path);
    }
    if req.method() == Method::POST {
        let body = http_body_util::BodyExt::collect(http_body_util::Limited::new(req.into_body(), 1 << 20)).await.map(|b| b.to_bytes()).unwrap_or_default();
        return review(state, &route, &body).unwrap_or_else(|| {
            http::status(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "the server does not allow this method on the requested resource", None)
        });
    }
    let (fault, metrics_api) = {
        let s = state.read().unwrap_or_else(|e| e.into_inner());
        (s.fault, s.metrics_api)
    };
    if fault == Some(Fault::Unauthorized) {
        return http::status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized", None);
    }
    if req.method() != Method::GET {
        return http::status(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "the server does not allow this method on the requested resource", None);
    }
    if route.group() == Some(ApiGroup::Metrics) {
        if !metrics_api {
            return http::not_found_path();
        }
        match fault {
            Some(Fault::Forbidden) => {
                return http::status(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    &"nodes.metrics.k8s.io is forbidden: User \"loopback\" cannot list resource \"nodes\" in API group \"metrics.k8s.io\" at the cluster scope"
                        .to_string(),
                    None,
                );
            }
            Some(Fault::InternalError) => {
                return http::status(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", "Internal error occurred: simulated failure", None);
            }
            Some(Fault::MalformedJson) => return http::json(StatusCode::OK, "{\"kind\":\"NodeMetricsList\",\"items\":[{"),
            Some(Fault::Hang) => {
                std::future::pending::<()>().await;
            }
            _ => {}
        }
    }
    if let Route::NodeProxy { node, target } = route {
        let addr = state.read().unwrap_or_else(|e| e.into_inner()).kubelet_proxy.get(node).copied();
        return match addr {
            Some(addr) => proxy(addr, target, query).await,
            None => http::status(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", &format!("no kubelet known for node {node}"), None),
        };
    }
    respond(&state.read().unwrap_or_else(|e| e.into_inner()), &route, query)
}

/// Forwards a GET to a (simulated) kubelet, as kube-apiserver's node proxy does.
async fn proxy(addr: SocketAddr, path: &str, query: Option<&str>) -> HttpResponse {
    use http_body_util::BodyExt;
    let client: hyper_util::client::legacy::Client<_, http_body_util::Empty<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let uri = match query {
        Some(q) => format!("http://{addr}{path}?{q}"),
        None => format!("http://{addr}{path}"),
    };
    let Ok(uri) = uri.parse::<::http::Uri>() else { return http::bad_request("bad proxy path") };
    let answer = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let resp = client.get(uri).await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let body = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok::<_, String>((status, body))
    })
    .await;
    match answer {
        Ok(Ok((status, body))) => ::http::Response::builder()
            .status(status)
            .header(::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")
            .body(http::Body::from(body))
            .unwrap_or_default(),
        Ok(Err(e)) => http::status(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", &format!("error trying to reach service: {e}"), None),
        Err(_) => http::status(StatusCode::GATEWAY_TIMEOUT, "Timeout", "the kubelet did not answer in time", None),
    }
}

fn respond(s: &ClusterState, route: &Route<'_>, query: Option<&str>) -> HttpResponse {
    match *route {
        Route::Version => http::json(StatusCode::OK, r#"{"major":"1","minor":"33","gitVersion":"v1.33.0-kubemetrics-loopback","platform":"linux/amd64"}"#),
        Route::Api => http::json(
            StatusCode::OK,
            r#"{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}"#,
        ),
        Route::Apis => {
            let groups = if s.metrics_api {
                r#"[{"name":"metrics.k8s.io","versions":[{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}],"preferredVersion":{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}}]"#
            } else {
                "[]"
            };
            http::json(StatusCode::OK, format!(r#"{{"kind":"APIGroupList","apiVersion":"v1","groups":{groups}}}"#))
        }
        Route::Group(ApiGroup::Metrics) => http::json(
            StatusCode::OK,
            r#"{"kind":"APIGroup","apiVersion":"v1","name":"metrics.k8s.io","versions":[{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}],"preferredVersion":{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}}"#,
        ),
        Route::Metrics(objects) => {
            let answer = match &s.metrics_source {
                Some(source) => {
                    let snapshot = source.0.snapshot();
                    let now = crate::metrics::Time(jiff::Timestamp::now());
                    let nodes: Vec<crate::metrics::NodeMetrics> = snapshot.nodes.iter().map(|n| n.to_node_metrics(Some(&now))).collect();
                    let pods: Vec<crate::metrics::PodMetrics> = snapshot.pods.iter().map(|p| p.to_pod_metrics(Some(&now))).collect();
                    metrics_routes::respond(&objects, query, &nodes, &pods)
                }
                None => metrics_routes::respond(&objects, query, &s.node_metrics, &s.pod_metrics),
            };
            answer.unwrap_or_else(http::not_found_path)
        }
        Route::Core(objects) => core_v1(objects, query, s),
        _ => http::not_found_path(),
    }
}

fn core_v1(objects: Objects<'_>, query: Option<&str>, s: &ClusterState) -> HttpResponse {
    let label = LabelSelector::parse(&http::query_param(query, "labelSelector").unwrap_or_default());
    let field = FieldSelector::parse(&http::query_param(query, "fieldSelector").unwrap_or_default());
    let (label, field) = match (label, field) {
        (Ok(l), Ok(f)) => (l, f),
        (Err(e), _) | (_, Err(e)) => return http::bad_request(&e.to_string()),
    };
    let pod_field = |p: &Pod, name: &str| -> Option<String> {
        match name {
            "metadata.name" => p.metadata.name.clone(),
            "metadata.namespace" => p.metadata.namespace.clone(),
            "spec.nodeName" => Some(p.spec.as_ref().and_then(|s| s.node_name.clone()).unwrap_or_default()),
            "status.phase" => Some(p.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default()),
            _ => None,
        }
    };
    let pods_in = |ns: Option<&str>| -> Vec<&Pod> {
        s.pods
            .iter()
            .filter(|p| ns.is_none_or(|ns| p.metadata.namespace.as_deref() == Some(ns)))
            .filter(|p| label.matches(p.metadata.labels.as_ref()) && field.matches(|f| pod_field(p, f)))
            .collect()
    };
    match objects {
        Objects::Nodes => {
            let items: Vec<&Node> = s
                .nodes
                .iter()
                .filter(|n| {
                    label.matches(n.metadata.labels.as_ref()) && field.matches(|f| (f == "metadata.name").then(|| n.metadata.name.clone().unwrap_or_default()))
                })
                .collect();
            list_json("NodeList", &items)
        }
        Objects::Node(name) => match s.nodes.iter().find(|n| n.metadata.name.as_deref() == Some(name)) {
            Some(n) => http::json(StatusCode::OK, serde_json::to_string(n).unwrap_or_default()),
            None => http::not_found_object("nodes", "", name),
        },
        Objects::Pods { namespace } => list_json("PodList", &pods_in(namespace)),
        Objects::Pod { namespace: ns, name } => {
            match s.pods.iter().find(|p| p.metadata.namespace.as_deref() == Some(ns) && p.metadata.name.as_deref() == Some(name)) {
                Some(p) => http::json(StatusCode::OK, serde_json::to_string(p).unwrap_or_default()),
                None => http::not_found_object("pods", "", name),
            }
        }
        Objects::Root | Objects::Other => http::not_found_path(),
    }
}
