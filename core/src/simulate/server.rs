//! The HTTP side of the simulated fleet: one listener per node, HTTP/1.1 with keep-alive (hyper),
//! bodies rendered on request.

use super::{NodeCell, now_ns, render};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use tokio::sync::watch;

/// What every connection task shares.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) nodes: Vec<NodeCell>,
    swap: bool,
    stop: watch::Sender<bool>,
}

impl Shared {
    pub(super) fn new(nodes: Vec<NodeCell>, swap: bool) -> Self {
        Shared { nodes, swap, stop: watch::channel(false).0 }
    }

    pub(super) fn shutdown(&self) {
        self.stop.send_replace(true);
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

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
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

/// Accepts connections for node `idx` until the fleet stops.
pub(super) async fn accept_loop(listener: tokio::net::TcpListener, shared: Arc<Shared>, idx: usize) {
    let mut stop = shared.stop.subscribe();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.wait_for(|&s| s) => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors or similar: back off instead of spinning.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut stop = shared.stop.subscribe();
            let svc_shared = shared.clone();
            let svc = service_fn(move |req| handle(req, svc_shared.clone(), idx));
            let conn = http1::Builder::new().timer(TokioTimer::new()).keep_alive(true).serve_connection(TokioIo::new(stream), svc);
            tokio::select! {
                _ = conn => {}
                _ = stop.wait_for(|&s| s) => {}
            }
        });
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<SimBody> {
    let mut r = Response::new(SimBody::full(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

const PAD_LINE: &[u8] = b"# padding: this simulated kubelet was told to send a huge body\n";

async fn handle(req: Request<Incoming>, shared: Arc<Shared>, idx: usize) -> Result<Response<SimBody>, Infallible> {
    let cell = &shared.nodes[idx];
    cell.requests.fetch_add(1, Ordering::Relaxed);
    let faults = cell.lock().faults;
    let mut stop = shared.stop.subscribe();
    if faults.hang {
        let _ = stop.wait_for(|&s| s).await;
        return Ok(text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"));
    }
    if let Some(delay) = faults.delay {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.wait_for(|&s| s) => return Ok(text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n")),
        }
    }
    if let Some(code) = faults.status {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Ok(text(status, "simulated kubelet failure\n"));
    }
    if req.method() != Method::GET {
        return Ok(text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n"));
    }
    let now_ms = now_ns() / 1_000_000;
    match req.uri().path() {
        "/metrics/resource" if faults.no_resource_endpoint => Ok(text(StatusCode::NOT_FOUND, "404 page not found\n")),
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
            Ok(r)
        }
        "/stats/summary" => {
            let body = render::stats_summary(&cell.lock(), now_ms, shared.swap);
            let mut r = Response::new(SimBody::full(body));
            r.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
            Ok(r)
        }
        "/healthz" => Ok(text(StatusCode::OK, "ok")),
        _ => Ok(text(StatusCode::NOT_FOUND, "404 page not found\n")),
    }
}
