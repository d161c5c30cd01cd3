//! `kubemetrics serve`: a drop-in metrics-server. HTTPS (rustls, h2 and http/1.1) serving
//! `metrics.k8s.io/v1beta1` behind the kube-apiserver aggregator, with delegated authentication
//! and authorization, metrics-server's health checks and self-metrics, and request limits.

pub mod auth;
mod config;
pub(crate) mod http;
pub mod http_options;
pub(crate) mod metrics_routes;
mod openapi;
pub mod provider;
pub mod routes;
pub mod self_metrics;
pub mod tls;
pub mod tls_options;

pub use auth::{AuthOptions, Authenticator, Decision};
pub use config::{ServeConfig, flag_list};
pub use http_options::HttpOptions;
pub use provider::{MetricsProvider, MetricsSnapshot, StaticProvider};
pub use self_metrics::{ScrapeErrorClass, ServerMetrics};
pub use tls::ServingCert;
pub use tls_options::TlsOptions;

use crate::error::{Error, ErrorKind, Result};
use crate::server::http::{self as h, HttpResponse};
use ::http::{Method, Request, StatusCode};
use auth::Attributes;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::CertificateDer;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Semaphore, watch};

/// Serving settings (metrics-server's flags of the same names).
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// `--bind-address` and `--secure-port`.
    pub address: SocketAddr,
    /// `--tls-cert-file`/`--tls-private-key-file`, or self-signed into `--cert-dir`.
    pub serving: ServingCert,
    /// Authentication and authorization.
    pub auth: AuthOptions,
    /// `--max-requests-inflight` (0: unlimited).
    pub max_requests_inflight: usize,
    /// `--request-timeout`.
    pub request_timeout: Duration,
    /// `--tls-cipher-suites`, `--tls-min-version`, `--tls-curve-preferences`.
    pub tls: TlsOptions,
    /// CORS, HSTS, the published address and socket sharing.
    pub http: HttpOptions,
}

/// A running metrics server; stops when dropped or on [`MetricsServer::shutdown`].
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    shutting_down: Arc<AtomicBool>,
}

/// The clusters asked to authenticate tokens and authorize requests (the API server library's
/// `--authentication-kubeconfig` and `--authorization-kubeconfig`).
#[derive(Clone, Default)]
pub struct Delegation {
    /// TokenReview (`None`: bearer tokens are refused).
    pub authentication: Option<kube::Client>,
    /// SubjectAccessReview (`None`: the authentication client; with neither, only
    /// `always_allow_authenticated` authorizes).
    pub authorization: Option<kube::Client>,
}

impl Delegation {
    /// One cluster for both reviews.
    pub fn single(kube: Option<kube::Client>) -> Delegation {
        Delegation { authentication: kube, authorization: None }
    }
}

impl std::fmt::Debug for Delegation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delegation").field("authentication", &self.authentication.is_some()).field("authorization", &self.authorization.is_some()).finish()
    }
}

/// Custom and external metrics served next to the resource metrics, and the push endpoint.
#[derive(Clone, Default)]
pub struct CustomMetrics {
    /// Serves `custom.metrics.k8s.io` (v1beta1 and v1beta2).
    pub custom: Option<Arc<dyn crate::custom::CustomMetricsProvider>>,
    /// Serves `external.metrics.k8s.io/v1beta1`.
    pub external: Option<Arc<dyn crate::custom::ExternalMetricsProvider>>,
    /// Accepts `PUT /push/custom/...` and `PUT /push/external/...` (authorized like any
    /// non-resource path, verb `put`).
    pub push: Option<Arc<crate::custom::PushProvider>>,
}

impl std::fmt::Debug for CustomMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomMetrics")
            .field("custom", &self.custom.is_some())
            .field("external", &self.external.is_some())
            .field("push", &self.push.is_some())
            .finish()
    }
}

struct Shared {
    custom: CustomMetrics,
    /// `false` when only custom/external metrics are served (no `metrics.k8s.io`).
    resource_metrics: bool,
    provider: Arc<dyn MetricsProvider>,
    stats: Arc<ServerMetrics>,
    auth: Authenticator,
    inflight: Option<Semaphore>,
    timeout: Duration,
    shutting_down: Arc<AtomicBool>,
    filters: http_options::HttpFilters,
}

impl MetricsServer {
    /// Binds and serves. `kube` is used for TokenReview/SubjectAccessReview.
    pub async fn start(
        options: ServerOptions,
        provider: Arc<dyn MetricsProvider>,
        stats: Arc<ServerMetrics>,
        kube: Option<kube::Client>,
    ) -> Result<MetricsServer> {
        Self::start_with_custom(options, provider, stats, kube, CustomMetrics::default()).await
    }

    /// [`start`](Self::start), also serving custom and external metrics.
    pub async fn start_with_custom(
        options: ServerOptions,
        provider: Arc<dyn MetricsProvider>,
        stats: Arc<ServerMetrics>,
        kube: Option<kube::Client>,
        custom: CustomMetrics,
    ) -> Result<MetricsServer> {
        Self::bind(options, Some(provider), stats, Delegation::single(kube), custom).await
    }

    /// [`start_with_custom`](Self::start_with_custom) with separate clusters for TokenReview and
    /// SubjectAccessReview.
    pub async fn start_with_delegation(
        options: ServerOptions,
        provider: Arc<dyn MetricsProvider>,
        stats: Arc<ServerMetrics>,
        delegation: Delegation,
        custom: CustomMetrics,
    ) -> Result<MetricsServer> {
        Self::bind(options, Some(provider), stats, delegation, custom).await
    }

    /// Serves only custom and/or external metrics (no `metrics.k8s.io`): what a custom metrics
    /// adapter built on kubemetrics runs, in any language.
    pub async fn start_custom_only(options: ServerOptions, kube: Option<kube::Client>, custom: CustomMetrics) -> Result<MetricsServer> {
        if custom.custom.is_none() && custom.external.is_none() {
            return Err(Error::new(ErrorKind::Config, "nothing to serve: give a custom metrics provider, an external metrics provider, or both"));
        }
        Self::bind(options, None, Arc::new(ServerMetrics::default()), Delegation::single(kube), custom).await
    }

    async fn bind(
        options: ServerOptions,
        provider: Option<Arc<dyn MetricsProvider>>,
        stats: Arc<ServerMetrics>,
        delegation: Delegation,
        custom: CustomMetrics,
    ) -> Result<MetricsServer> {
        let resource_metrics = provider.is_some();
        let provider = provider.unwrap_or_else(|| Arc::new(NoResourceMetrics));
        let authenticator = Authenticator::new(options.auth.clone(), delegation.authentication).with_authorization_client(delegation.authorization);
        let mut tls = tls::server_config_with(&options.serving, &authenticator.client_cas(), &options.tls)?;
        if options.http.disable_http2 {
            tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        }
        let (http1_only, max_streams) = (options.http.disable_http2, options.http.max_concurrent_streams());
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let filters = options.http.filters()?;
        let listener = options.http.listen(options.address).await?;
        let addr = listener.local_addr().map_err(|e| Error::new(ErrorKind::Io, e.to_string()))?;
        let shutting_down = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            custom,
            resource_metrics,
            provider,
            stats,
            auth: authenticator,
            inflight: (options.max_requests_inflight > 0).then(|| Semaphore::new(options.max_requests_inflight)),
            timeout: options.request_timeout,
            shutting_down: shutting_down.clone(),
            filters,
        });
        let (stop, mut stopped) = watch::channel(false);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = stopped.changed() => break,
                };
                let Ok((tcp, peer)) = accepted else { continue };
                let acceptor = acceptor.clone();
                let shared = shared.clone();
                let mut stop_conn = stopped.clone();
                tokio::spawn(async move {
                    let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, "TLS handshake failed: {e}");
                            return;
                        }
                        Err(_) => return,
                    };
                    let peer_cert: Option<CertificateDer<'static>> =
                        tls.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| c.clone().into_owned());
                    let peer_cert = Arc::new(peer_cert);
                    let service = service_fn(move |req| {
                        let shared = shared.clone();
                        let peer_cert = peer_cert.clone();
                        async move { Ok::<_, std::convert::Infallible>(handle(&shared, peer_cert.as_ref().as_ref(), req).await) }
                    });
                    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    if http1_only {
                        builder = builder.http1_only();
                    } else {
                        builder.http2().max_concurrent_streams(max_streams);
                    }
                    let conn = builder.serve_connection(TokioIo::new(tls), service);
                    tokio::select! {
                        _ = conn => {}
                        _ = stop_conn.changed() => {}
                    }
                });
            }
        });
        Ok(MetricsServer { addr, stop, shutting_down })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Marks the server as shutting down (`/readyz` fails) and stops accepting connections.
    pub fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        let _ = self.stop.send(true);
    }
}

/// The health of a server without resource metrics: always ready.
struct NoResourceMetrics;

impl MetricsProvider for NoResourceMetrics {
    fn snapshot(&self) -> Arc<provider::MetricsSnapshot> {
        Arc::default()
    }
    fn storage_ready(&self) -> bool {
        true
    }
    fn collection_timely(&self) -> bool {
        true
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Request attributes for authorization.
fn attributes(method: &Method, path: &str, query: Option<&str>) -> Attributes {
    if method == Method::PUT {
        return Attributes::NonResource { verb: "put".into(), path: path.into() };
    }
    for group in ["custom.metrics.k8s.io", "external.metrics.k8s.io"] {
        if let Some(rest) = path.strip_prefix(&format!("/apis/{group}/")) {
            let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
            let (version, namespace, resource, name) = match parts.as_slice() {
                [v, "namespaces", ns, "metrics", _m] => (*v, *ns, "namespaces", *ns),
                [v, "namespaces", ns, r, n, _m] => (*v, *ns, *r, *n),
                [v, "namespaces", ns, m] if group == "external.metrics.k8s.io" => (*v, *ns, *m, ""),
                [v, r, n, _m] => (*v, "", *r, *n),
                _ => break,
            };
            return Attributes::Resource {
                verb: "get".into(),
                group: group.into(),
                version: version.into(),
                resource: resource.into(),
                namespace: namespace.into(),
                name: if name == "*" { String::new() } else { name.into() },
            };
        }
    }
    let watch = h::query_param(query, "watch").is_some_and(|w| w == "true" || w == "1");
    if let Some(rest) = path.strip_prefix("/apis/metrics.k8s.io/v1beta1/") {
        let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
        let (resource, namespace, name) = match parts.as_slice() {
            ["nodes"] => ("nodes", "", ""),
            ["nodes", n] => ("nodes", "", *n),
            ["pods"] => ("pods", "", ""),
            ["namespaces", ns, "pods"] => ("pods", *ns, ""),
            ["namespaces", ns, "pods", n] => ("pods", *ns, *n),
            _ => return Attributes::NonResource { verb: "get".into(), path: path.into() },
        };
        let verb = if watch {
            "watch"
        } else if name.is_empty() {
            "list"
        } else {
            "get"
        };
        return Attributes::Resource {
            verb: verb.into(),
            group: "metrics.k8s.io".into(),
            version: "v1beta1".into(),
            resource: resource.into(),
            namespace: namespace.into(),
            name: name.into(),
        };
    }
    Attributes::NonResource { verb: "get".into(), path: path.into() }
}

async fn handle(shared: &Shared, peer_cert: Option<&CertificateDer<'static>>, req: Request<Incoming>) -> HttpResponse {
    // CORS and HSTS sit outside everything else, as in the API server's handler chain.
    let (early, add) = shared.filters.before(req.method(), req.headers());
    if let Some(r) = early {
        return r;
    }
    let group_list = req.uri().path().trim_end_matches('/') == "/apis";
    let mut r = handle_inner(shared, peer_cert, req).await;
    if let (true, Some(address)) = (group_list, shared.filters.external_address()) {
        r = with_server_address(r, address).await;
    }
    for (k, v) in add {
        r.headers_mut().insert(k, v);
    }
    r
}

async fn handle_inner(shared: &Shared, peer_cert: Option<&CertificateDer<'static>>, req: Request<Incoming>) -> HttpResponse {
    let _permit = match &shared.inflight {
        Some(sem) => match sem.try_acquire() {
            Ok(p) => Some(p),
            Err(_) => {
                let mut r = h::status(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", "Too many requests, please try again later.", None);
                r.headers_mut().insert(::http::header::RETRY_AFTER, ::http::HeaderValue::from_static("1"));
                return r;
            }
        },
        None => None,
    };
    match tokio::time::timeout(shared.timeout, route(shared, peer_cert, &req)).await {
        Ok(r) => r,
        Err(_) => h::status(StatusCode::GATEWAY_TIMEOUT, "Timeout", &format!("request did not complete within {:?}", shared.timeout), None),
    }
}

async fn route(shared: &Shared, peer_cert: Option<&CertificateDer<'static>>, req: &Request<Incoming>) -> HttpResponse {
    // Decoded like Go's net/http: kubectl and client-go send `pods/%2A/metric` for `pods/*/metric`.
    let path = h::percent_decode_path(req.uri().path());
    let path = path.as_ref();
    let query = req.uri().query();
    let push = req.method() == Method::PUT && path.starts_with("/push/") && shared.custom.push.is_some();
    if req.method() != Method::GET && req.method() != Method::HEAD && !push {
        return h::status(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "the server does not allow this method on the requested resource", None);
    }
    let attrs = attributes(req.method(), path, query);
    match shared.auth.decide(peer_cert, req.headers(), &attrs).await {
        Decision::Allow(user) => tracing::trace!(user = %user.name, path, "allowed"),
        Decision::Unauthenticated(why) => {
            tracing::debug!(path, "unauthenticated: {why}");
            return h::status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized", None);
        }
        Decision::Forbidden(message) => {
            tracing::debug!(path, "forbidden: {message}");
            let details = match &attrs {
                Attributes::Resource { resource, name, group, .. } => Some((name.as_str(), group.as_str(), resource.as_str())),
                _ => None,
            };
            return h::status(StatusCode::FORBIDDEN, "Forbidden", &message, details);
        }
    }
    let accept = req.headers().get(::http::header::ACCEPT).and_then(|v| v.to_str().ok());
    let provider = shared.provider.as_ref();
    if let Some(r) = routes::health(path, query, provider, shared.shutting_down.load(Ordering::SeqCst)) {
        return r;
    }
    if path == "/metrics" {
        return ::http::Response::builder()
            .header(::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
            .body(http_body_util::Full::new(bytes::Bytes::from(shared.stats.render())))
            .unwrap_or_default();
    }
    if push {
        return crate::custom::routes::push(shared.custom.push.as_deref(), path, query);
    }
    if let (Some(rest), Some(custom)) = (path.strip_prefix("/apis/custom.metrics.k8s.io/"), &shared.custom.custom) {
        let (version, rest) = rest.split_once('/').unwrap_or((rest, ""));
        return crate::custom::routes::custom(custom.as_ref(), version, rest, query).await;
    }
    if let (Some(rest), Some(external)) = (path.strip_prefix("/apis/external.metrics.k8s.io/v1beta1"), &shared.custom.external) {
        return crate::custom::routes::external(external.as_ref(), rest, query).await;
    }
    if path.trim_end_matches('/') == "/apis" && (shared.custom.custom.is_some() || shared.custom.external.is_some()) {
        return crate::custom::routes::group_list(shared.resource_metrics, shared.custom.custom.is_some(), shared.custom.external.is_some());
    }
    if !shared.resource_metrics && (path.starts_with("/apis/metrics.k8s.io") || path.starts_with("/openapi/")) {
        return h::not_found_path();
    }
    if let Some(r) = crate::custom::routes::group(path, shared.custom.custom.is_some(), shared.custom.external.is_some()) {
        return r;
    }
    if let Some(rest) = path.strip_prefix("/apis/metrics.k8s.io/v1beta1") {
        if !rest.is_empty() && rest != "/" {
            return routes::metrics(rest, query, accept, provider, &shared.stats).unwrap_or_else(h::not_found_path);
        }
    }
    routes::discovery(path, accept).unwrap_or_else(h::not_found_path)
}

/// Publishes `address` in an `APIGroupList` answer (`--advertise-address`, `--external-hostname`).
async fn with_server_address(r: HttpResponse, address: &str) -> HttpResponse {
    use http_body_util::BodyExt;
    let is_list = r.status() == StatusCode::OK && r.headers().get(::http::header::CONTENT_TYPE).is_some_and(|v| v.as_bytes() == b"application/json");
    if !is_list {
        return r;
    }
    let (parts, body) = r.into_parts();
    let Ok(collected) = body.collect().await;
    let bytes = collected.to_bytes();
    let text = String::from_utf8_lossy(&bytes);
    let body = http_options::with_server_address(&text, address);
    ::http::Response::from_parts(parts, http_body_util::Full::new(bytes::Bytes::from(body)))
}
