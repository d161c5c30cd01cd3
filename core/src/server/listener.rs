//! The one HTTP serving loop of every server of the crate (the metrics server, the loopback API
//! server, the simulated kubelets and the simulator's control API): accept TCP connections,
//! optionally complete a TLS handshake, serve HTTP/1.1 (and HTTP/2 when asked) with hyper, and
//! stop when told, letting requests in flight finish for a grace period.

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rustls_pki_types::CertificateDer;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How to serve the connections of one listener.
#[derive(Clone)]
pub(crate) struct ServeOptions {
    /// Who serves, for the logs (`metrics server`, `simulated kubelet sim-node-00001`).
    pub name: Arc<str>,
    /// A TLS handshake before HTTP on every connection, when set.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Serve HTTP/2 as well as HTTP/1.1 (by ALPN or the HTTP/2 preface).
    pub http2: bool,
    /// HTTP/2 streams allowed per connection (0: hyper's default).
    pub http2_max_streams: u32,
    /// Keep HTTP/1.1 connections open for more requests; `false` closes each after one answer.
    pub keep_alive: bool,
    /// Close HTTP/1.1 connections whose request head takes longer than hyper's header read
    /// timeout (30 s) to arrive.
    pub header_timeout: bool,
    /// On stop, how long requests in flight may take to finish; zero drops every connection at
    /// once.
    pub grace: Duration,
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("name", &self.name)
            .field("tls", &self.tls.is_some())
            .field("http2", &self.http2)
            .field("keep_alive", &self.keep_alive)
            .field("header_timeout", &self.header_timeout)
            .field("grace", &self.grace)
            .finish()
    }
}

impl ServeOptions {
    /// Plain HTTP/1.1 with keep-alive, dropped at once on stop.
    #[cfg_attr(not(feature = "testkit"), allow(dead_code))]
    pub fn http1(name: &str) -> ServeOptions {
        ServeOptions { name: Arc::from(name), tls: None, http2: false, http2_max_streams: 0, keep_alive: true, header_timeout: false, grace: Duration::ZERO }
    }

    fn builder(&self) -> auto::Builder<TokioExecutor> {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        if !self.http2 {
            builder = builder.http1_only();
        } else if self.http2_max_streams > 0 {
            builder.http2().max_concurrent_streams(self.http2_max_streams);
        }
        let mut h1 = builder.http1();
        h1.keep_alive(self.keep_alive);
        if self.header_timeout {
            h1.timer(TokioTimer::new());
        }
        builder
    }
}

/// What the service of a connection knows about it.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    /// The certificates the client presented in the TLS handshake (end entity first); empty
    /// without TLS or without a client certificate.
    pub certificates: Vec<CertificateDer<'static>>,
}

/// Serves `listener` on the current tokio runtime until `stop` turns `true` (or its sender is
/// dropped). For each connection `make` builds the request handler from the [`Peer`]; a
/// handler answers every request (errors are responses too).
///
/// Accept errors (out of file descriptors, ...) are retried after a short pause; TLS handshakes
/// that fail or take longer than 10 s drop the connection (logged at debug level).
pub(crate) fn spawn<M, H, F, B>(listener: TcpListener, options: ServeOptions, mut stop: watch::Receiver<bool>, make: M) -> JoinHandle<()>
where
    M: Fn(&Peer) -> H + Send + Sync + 'static,
    H: Fn(Request<Incoming>) -> F + Send + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let builder = Arc::new(options.builder());
    let options = Arc::new(options);
    let make = Arc::new(make);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = stop.wait_for(|&s| s) => break,
            };
            let (tcp, addr) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::trace!(server = %options.name, "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let (options, builder, make, mut stop) = (options.clone(), builder.clone(), make.clone(), stop.clone());
            tokio::spawn(async move {
                let Some(tls) = &options.tls else {
                    let handler = make(&Peer { certificates: Vec::new() });
                    return serve(tcp, &builder, handler, &mut stop, options.grace).await;
                };
                let handshake = tokio::select! {
                    h = tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(tcp)) => h,
                    _ = stop.wait_for(|&s| s) => return,
                };
                let stream = match handshake {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(e)) => return tracing::debug!(server = %options.name, peer = %addr, "TLS handshake failed: {e}"),
                    Err(_) => return tracing::debug!(server = %options.name, peer = %addr, "no TLS handshake within {HANDSHAKE_TIMEOUT:?}"),
                };
                let certificates = stream.get_ref().1.peer_certificates().map(|c| c.iter().map(|c| c.clone().into_owned()).collect()).unwrap_or_default();
                let handler = make(&Peer { certificates });
                serve(stream, &builder, handler, &mut stop, options.grace).await;
            });
        }
    })
}

/// Serves one connection until it ends, or until `stop` (then gracefully for `grace`).
async fn serve<I, H, F, B>(io: I, builder: &auto::Builder<TokioExecutor>, handler: H, stop: &mut watch::Receiver<bool>, grace: Duration)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>) -> F + Send + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let service = service_fn(move |req| {
        let answer = handler(req);
        async move { Ok::<_, Infallible>(answer.await) }
    });
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = stop.wait_for(|&s| s) => {}
    }
    if grace.is_zero() {
        return;
    }
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(grace, conn).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::Full;
    use std::net::SocketAddr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// A server whose handler answers `/slow` after 300 ms and anything else at once, with the
    /// number of client certificates in the body.
    async fn start(grace: Duration) -> (SocketAddr, watch::Sender<bool>, JoinHandle<()>) {
        let tcp = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await.expect("bind");
        let addr = tcp.local_addr().expect("addr");
        let (stop, stopped) = watch::channel(false);
        let options = ServeOptions { grace, ..ServeOptions::http1("test") };
        let task = spawn(tcp, options, stopped, |peer: &Peer| {
            let who = format!("certificates: {}", peer.certificates.len());
            move |req: Request<Incoming>| {
                let who = who.clone();
                async move {
                    if req.uri().path() == "/slow" {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                    Response::new(Full::new(Bytes::from(who)))
                }
            }
        });
        (addr, stop, task)
    }

    async fn get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
        let mut c = TcpStream::connect(addr).await?;
        c.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).await?;
        let mut out = String::new();
        c.read_to_string(&mut out).await?;
        Ok(out)
    }

    #[tokio::test]
    async fn serves_until_stopped() {
        let (addr, stop, task) = start(Duration::ZERO).await;
        let answer = get(addr, "/").await.expect("get");
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.ends_with("certificates: 0"), "{answer}");
        stop.send_replace(true);
        task.await.expect("accept loop ends");
        assert!(TcpStream::connect(addr).await.is_err(), "the listener is closed");
    }

    #[tokio::test]
    async fn requests_in_flight_finish_within_the_grace_period() {
        let (addr, stop, task) = start(Duration::from_secs(5)).await;
        let slow = tokio::spawn(get(addr, "/slow"));
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send_replace(true);
        task.await.expect("accept loop ends");
        let answer = slow.await.expect("join").expect("answered");
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    }

    #[tokio::test]
    async fn without_grace_connections_are_dropped_at_once() {
        let (addr, stop, _task) = start(Duration::ZERO).await;
        let slow = tokio::spawn(get(addr, "/slow"));
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send_replace(true);
        let answer = slow.await.expect("join");
        assert!(answer.as_deref().map_or(true, str::is_empty), "{answer:?}");
    }
}
