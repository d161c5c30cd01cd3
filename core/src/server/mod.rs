//! `kubemetrics serve`: a drop-in metrics-server. HTTPS (rustls, h2 and http/1.1) serving
//! `metrics.k8s.io/v1beta1` behind the kube-apiserver aggregator, with delegated authentication
//! and authorization, metrics-server's health checks and self-metrics, and request limits.

mod auth;
mod config;
pub(crate) mod http;
mod http_options;
mod list_stream;
pub(crate) mod listener;
pub(crate) mod metrics_routes;
mod openapi;
mod provider;
pub(crate) mod route;
mod routes;
mod self_metrics;
pub(crate) mod tls;
mod tls_options;

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
use route::{ApiGroup, Objects, Route};
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
        let tcp = options.http.listen(options.address).await?;
        let addr = tcp.local_addr().map_err(|e| Error::new(ErrorKind::Io, e.to_string()))?;
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
        let (stop, stopped) = watch::channel(false);
        let serving = listener::ServeOptions {
            name: Arc::from("metrics server"),
            tls: Some(acceptor),
            http2: !http1_only,
            http2_max_streams: max_streams,
            keep_alive: true,
            header_timeout: false,
            grace: options.request_timeout,
        };
        listener::spawn(tcp, serving, stopped, move |peer| {
            let shared = shared.clone();
            let peer_chain: Arc<[CertificateDer<'static>]> = peer.certificates.iter().cloned().collect();
            move |req| {
                let shared = shared.clone();
                let peer_chain = peer_chain.clone();
                async move { handle(&shared, &peer_chain, req).await }
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

async fn handle(shared: &Shared, peer_chain: &[CertificateDer<'static>], req: Request<Incoming>) -> HttpResponse {
    // CORS and HSTS sit outside everything else, as in the API server's handler chain.
    let (early, add) = shared.filters.before(req.method(), req.headers());
    if let Some(r) = early {
        return r;
    }
    let group_list = req.uri().path().trim_end_matches('/') == "/apis";
    let mut r = handle_inner(shared, peer_chain, req).await;
    if let (true, Some(address)) = (group_list, shared.filters.external_address()) {
        r = with_server_address(r, address).await;
    }
    for (k, v) in add {
        r.headers_mut().insert(k, v);
    }
    r
}

async fn handle_inner(shared: &Shared, peer_chain: &[CertificateDer<'static>], req: Request<Incoming>) -> HttpResponse {
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
    match tokio::time::timeout(shared.timeout, route(shared, peer_chain, &req)).await {
        Ok(r) => r,
        Err(_) => h::status(StatusCode::GATEWAY_TIMEOUT, "Timeout", &format!("request did not complete within {:?}", shared.timeout), None),
    }
}

async fn route(shared: &Shared, peer_chain: &[CertificateDer<'static>], req: &Request<Incoming>) -> HttpResponse {
    // Decoded like Go's net/http: kubectl and client-go send `pods/%2A/metric` for `pods/*/metric`.
    let path = h::percent_decode_path(req.uri().path());
    let path = path.as_ref();
    let query = req.uri().query();
    let route = Route::parse(path);
    let push = req.method() == Method::PUT && matches!(route, Route::Push(_)) && shared.custom.push.is_some();
    if req.method() != Method::GET && req.method() != Method::HEAD && !push {
        return h::status(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "the server does not allow this method on the requested resource", None);
    }
    let attrs = route.attributes(req.method(), path, query);
    match shared.auth.decide(peer_chain, req.headers(), &attrs).await {
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
    let (custom, external) = (shared.custom.custom.as_deref(), shared.custom.external.as_deref());
    match route {
        Route::Health { kind, check } => routes::health(kind, check, query, provider, shared.shutting_down.load(Ordering::SeqCst)),
        Route::SelfMetrics => ::http::Response::builder()
            .header(::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
            .body(h::Body::from(bytes::Bytes::from(shared.stats.render())))
            .unwrap_or_default(),
        Route::Push(target) if push => crate::custom::routes::push(shared.custom.push.as_deref(), &target, query),
        Route::Custom { version, path } => match custom {
            Some(custom) => crate::custom::routes::custom_path(custom, version, &path, query).await,
            None => h::not_found_path(),
        },
        Route::External { version: "v1beta1", path } => match external {
            Some(external) => crate::custom::routes::external_path(external, &path, query).await,
            None => h::not_found_path(),
        },
        Route::Apis if custom.is_some() || external.is_some() => {
            crate::custom::routes::group_list(shared.resource_metrics, custom.is_some(), external.is_some())
        }
        Route::Group(ApiGroup::Metrics) | Route::Metrics(_) | Route::OpenApi(_) if !shared.resource_metrics => h::not_found_path(),
        Route::Group(group @ (ApiGroup::Custom | ApiGroup::External)) => {
            crate::custom::routes::group(group, custom.is_some(), external.is_some()).unwrap_or_else(h::not_found_path)
        }
        Route::Metrics(objects) if objects != Objects::Root => {
            routes::metrics(&objects, query, accept, provider, &shared.stats).unwrap_or_else(h::not_found_path)
        }
        _ => routes::discovery(&route, accept).unwrap_or_else(h::not_found_path),
    }
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
    ::http::Response::from_parts(parts, h::Body::from(bytes::Bytes::from(body)))
}
