//! The HTTP side of the simulated fleet: one listener per node, HTTP/1.1 with keep-alive (hyper),
//! plain or over TLS (rustls, with kubelet-style client authentication), bodies rendered on
//! request.

use super::{FleetTls, NodeCell, now_ns, render};
use crate::error::{Error, ErrorKind, Result};
use crate::server::listener::{self, ServeOptions};
use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::watch;

/// What every connection task shares.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) nodes: Vec<NodeCell>,
    swap: bool,
    stop: watch::Sender<bool>,
    tls: Option<SimTls>,
    token: Option<String>,
}

impl Shared {
    pub(super) fn new(nodes: Vec<NodeCell>, swap: bool, tls: Option<SimTls>, token: Option<String>) -> Self {
        Shared { nodes, swap, stop: watch::channel(false).0, tls, token }
    }

    pub(super) fn shutdown(&self) {
        self.stop.send_replace(true);
    }

    /// Whether requests must authenticate (a client CA or a token is configured).
    fn auth_required(&self) -> bool {
        self.token.is_some() || self.tls.as_ref().is_some_and(|t| t.client_verifier.is_some())
    }

    fn token_ok(&self, headers: &HeaderMap) -> bool {
        let Some(want) = &self.token else { return false };
        let got = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        got.is_some_and(|t| t.trim() == want)
    }
}

/// The kubelets' TLS: an acceptor serving the certificate, and the verifier client certificates
/// are checked against once the handshake is done.
pub(super) struct SimTls {
    acceptor: tokio_rustls::TlsAcceptor,
    client_verifier: Option<Arc<dyn ClientCertVerifier>>,
}

impl std::fmt::Debug for SimTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimTls").field("client_verifier", &self.client_verifier).finish_non_exhaustive()
    }
}

fn tls_err(e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Config, format!("simulated kubelet TLS: {e}"))
}

impl SimTls {
    pub(super) fn new(tls: &FleetTls) -> Result<SimTls> {
        use crate::server::tls::{RequestClientCert, ServingCert, read_certs, server_config};
        // The serving side's helper loads the pair (and re-reads it when the files change); the
        // client side differs from the metrics server's, so the config is rebuilt around its
        // certificate resolver.
        let serving = server_config(&ServingCert::Files { cert: tls.cert_file.clone(), key: tls.key_file.clone() }, &[])?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions().map_err(tls_err)?;
        let (builder, client_verifier) = match &tls.client_ca_file {
            None => (builder.with_no_client_auth(), None),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in read_certs(ca)? {
                    roots.add(cert).map_err(|e| tls_err(format!("client CA {}: {e}", ca.display())))?;
                }
                // Like Go's `tls.RequestClientCert` that kubelet uses: any certificate (or none) is
                // taken at the handshake; a missing or untrusted one is a 401 afterwards.
                let request = RequestClientCert::new(roots.subjects(), provider.clone());
                let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .build()
                    .map_err(|e| tls_err(format!("client CA {}: {e}", ca.display())))?;
                (builder.with_client_cert_verifier(Arc::new(request)), Some(verifier))
            }
        };
        let mut config = builder.with_cert_resolver(serving.cert_resolver.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        // Like a kubelet's Go server: stateless TLS 1.3 session tickets (one per handshake), so a
        // scraper that reconnects resumes instead of a full handshake.
        config.ticketer = rustls::crypto::ring::Ticketer::new().map_err(tls_err)?;
        config.send_tls13_tickets = 1;
        Ok(SimTls { acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)), client_verifier })
    }

    /// Whether a connection's certificates (end entity first) are vouched for by the client CA.
    fn client_cert_ok(&self, certificates: &[CertificateDer<'static>]) -> bool {
        let (Some(verifier), Some((end_entity, intermediates))) = (&self.client_verifier, certificates.split_first()) else {
            return false;
        };
        verifier.verify_client_cert(end_entity, intermediates, UnixTime::now()).is_ok()
    }
}

/// A response body: the rendered bytes, then optional padding served in chunks (so a "huge
/// body" costs no memory).
#[derive(Debug)]
pub(super) struct SimBody {
    head: Option<Bytes>,
    pad: Bytes,
    pad_left: usize,
}

impl SimBody {
    fn full(b: impl Into<Bytes>) -> Self {
        SimBody { head: Some(b.into()), pad: Bytes::new(), pad_left: 0 }
    }
}

impl Body for SimBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<std::result::Result<Frame<Bytes>, Infallible>>> {
        if let Some(h) = self.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(h))));
        }
        if self.pad_left > 0 && !self.pad.is_empty() {
            let n = self.pad_left.min(self.pad.len());
            self.pad_left -= n;
            return Poll::Ready(Some(Ok(Frame::data(self.pad.slice(..n)))));
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none() && self.pad_left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact((self.head.as_ref().map_or(0, Bytes::len) + self.pad_left) as u64)
    }
}

/// Serves node `idx` on `listener` (HTTP/1.1 with keep-alive, over TLS when configured) until
/// the fleet stops.
pub(super) fn spawn(listener: tokio::net::TcpListener, shared: Arc<Shared>, idx: usize) -> tokio::task::JoinHandle<()> {
    let options = ServeOptions {
        name: Arc::from(format!("simulated kubelet {}", shared.nodes[idx].name)),
        tls: shared.tls.as_ref().map(|t| t.acceptor.clone()),
        http2: false,
        http2_max_streams: 0,
        keep_alive: true,
        header_timeout: true,
        grace: Duration::ZERO,
    };
    let stop = shared.stop.subscribe();
    listener::spawn(listener, options, stop, move |peer| {
        // With TLS: whether the connection brought a client certificate the client CA vouches for.
        let cert_ok = shared.tls.as_ref().is_some_and(|t| t.client_cert_ok(&peer.certificates));
        let shared = shared.clone();
        move |req| handle(req, shared.clone(), idx, cert_ok)
    })
}

fn text(status: StatusCode, body: &'static str) -> Response<SimBody> {
    let mut r = Response::new(SimBody::full(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

const PAD_LINE: &[u8] = b"# padding: this simulated kubelet was told to send a huge body\n";

async fn handle(req: Request<Incoming>, shared: Arc<Shared>, idx: usize, cert_ok: bool) -> Response<SimBody> {
    let cell = &shared.nodes[idx];
    cell.requests.fetch_add(1, Ordering::Relaxed);
    // kubelet with --anonymous-auth=false: a trusted client certificate or a known token, else 401.
    if shared.auth_required() && !cert_ok && !shared.token_ok(req.headers()) {
        return text(StatusCode::UNAUTHORIZED, "Unauthorized\n");
    }
    let faults = cell.lock().faults;
    let mut stop = shared.stop.subscribe();
    if faults.hang {
        let _ = stop.wait_for(|&s| s).await;
        return text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n");
    }
    if let Some(delay) = faults.delay {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.wait_for(|&s| s) => return text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"),
        }
    }
    if let Some(code) = faults.status {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return text(status, "simulated kubelet failure\n");
    }
    if req.method() != Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n");
    }
    let now_ms = now_ns() / 1_000_000;
    match req.uri().path() {
        "/metrics/resource" if faults.no_resource_endpoint => text(StatusCode::NOT_FOUND, "404 page not found\n"),
        "/metrics/resource" => {
            let body = {
                let mut st = cell.lock();
                let mut out = Vec::with_capacity(st.body_hint + 1024);
                render::metrics_resource(&st, now_ms, shared.swap, faults.garbage_every, &mut out);
                st.body_hint = out.len();
                out
            };
            let pad_left = faults.body_bytes.map_or(0, |target| target.saturating_sub(body.len()));
            let pad = if pad_left > 0 { Bytes::from(PAD_LINE.repeat(1024)) } else { Bytes::new() };
            let mut r = Response::new(SimBody { head: Some(Bytes::from(body)), pad, pad_left });
            r.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
            r
        }
        "/stats/summary" => {
            let body = render::stats_summary(&cell.lock(), now_ms, shared.swap);
            let mut r = Response::new(SimBody::full(body));
            r.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
            r
        }
        "/healthz" => text(StatusCode::OK, "ok"),
        _ => text(StatusCode::NOT_FOUND, "404 page not found\n"),
    }
}
