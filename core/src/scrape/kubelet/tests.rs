//! The transport against small loopback kubelets: a kept connection is reused, a kept connection
//! the kubelet closed is replaced transparently, and a new connection resumes the TLS session of
//! its own kubelet (each with its own ticket key, all on 127.0.0.1).

use super::*;
use rustls::HandshakeKind;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

const BODY: &[u8] = b"container_memory_working_set_bytes{container=\"a\",namespace=\"n\",pod=\"p\"} 1 1\n";

/// A loopback kubelet: its address, connections accepted, requests answered, and the kind of
/// each TLS handshake.
struct Kubelet {
    addr: SocketAddr,
    accepts: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    handshakes: Arc<Mutex<Vec<HandshakeKind>>>,
}

/// Answers requests on `stream`, closing it after `per_connection` answers (or when asked to).
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, per_connection: usize, requests: &AtomicUsize) {
    let mut buf = Vec::new();
    let mut answered = 0;
    loop {
        let mut piece = [0u8; 4096];
        let Ok(n) = stream.read(&mut piece).await else { return };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&piece[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let request = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        buf.drain(..end + 4);
        assert!(request.starts_with("get /metrics/resource http/1.1\r\n"), "{request}");
        assert!(request.contains("\r\nuser-agent: kubemetrics/") && request.contains("\r\naccept: text/plain, application/json"), "{request}");
        requests.fetch_add(1, Ordering::SeqCst);
        answered += 1;
        // Chunked, in two chunks, the way Go's net/http writes a body of unknown length.
        let (a, b) = BODY.split_at(10);
        let response = [
            format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n", a.len()).as_bytes(),
            a,
            format!("\r\n{:x}\r\n", b.len()).as_bytes(),
            b,
            b"\r\n0\r\n\r\n",
        ]
        .concat();
        if stream.write_all(&response).await.is_err() || stream.flush().await.is_err() {
            return;
        }
        if answered == per_connection || request.contains("\r\nconnection: close") {
            if answered == per_connection {
                // Closing while idle, not with the answer (which the client would notice).
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _ = stream.shutdown().await;
            return;
        }
    }
}

/// Starts a kubelet answering `per_connection` requests per connection, over TLS (with its
/// own session ticket key) when `tls`.
async fn kubelet(tls: bool, per_connection: usize) -> Kubelet {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let kubelet = Kubelet { addr: listener.local_addr().expect("addr"), accepts: Arc::default(), requests: Arc::default(), handshakes: Arc::default() };
    let acceptor = tls.then(|| {
        let rcgen::CertifiedKey { cert, signing_key } = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).expect("cert");
        let key = PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key)
            .expect("server config");
        config.ticketer = rustls::crypto::ring::Ticketer::new().expect("ticketer");
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    });
    let (accepts, requests, handshakes) = (kubelet.accepts.clone(), kubelet.requests.clone(), kubelet.handshakes.clone());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            accepts.fetch_add(1, Ordering::SeqCst);
            // As Go servers do (else Nagle holds the answer behind the session tickets).
            tcp.set_nodelay(true).expect("nodelay");
            let (acceptor, requests, handshakes) = (acceptor.clone(), requests.clone(), handshakes.clone());
            tokio::spawn(async move {
                match acceptor {
                    None => serve(tcp, per_connection, &requests).await,
                    Some(acceptor) => {
                        let Ok(stream) = acceptor.accept(tcp).await else { return };
                        handshakes.lock().expect("lock").extend(stream.get_ref().1.handshake_kind());
                        serve(stream, per_connection, &requests).await;
                    }
                }
            });
        }
    });
    kubelet
}

fn client(tls: bool) -> KubeletClient {
    let scheme = if tls { "https" } else { "http" };
    KubeletClient::new(KubeletOptions { scheme: scheme.into(), insecure_tls: true, request_timeout: Duration::from_secs(5), ..Default::default() })
        .expect("client")
}

async fn scrape(client: &KubeletClient, kubelet: &Kubelet, keep_alive: bool) {
    let body = client.get_with(&kubelet.addr.to_string(), "/metrics/resource", keep_alive).await.unwrap_or_else(|f| panic!("{:?}: {}", f.class, f.message));
    assert_eq!(&body[..], BODY);
}

#[tokio::test]
async fn a_kept_connection_is_reused() {
    for tls in [false, true] {
        let kubelet = kubelet(tls, usize::MAX).await;
        let client = client(tls);
        scrape(&client, &kubelet, true).await;
        scrape(&client, &kubelet, true).await;
        scrape(&client, &kubelet, true).await;
        assert_eq!(kubelet.accepts.load(Ordering::SeqCst), 1, "tls {tls}: one connection for three scrapes");
        assert_eq!(client.shared.idle.len(), 1);
        // Without keep-alive: a connection of its own, closed afterwards; the kept one stays.
        scrape(&client, &kubelet, false).await;
        assert_eq!(kubelet.accepts.load(Ordering::SeqCst), 2);
        scrape(&client, &kubelet, true).await;
        assert_eq!((kubelet.accepts.load(Ordering::SeqCst), kubelet.requests.load(Ordering::SeqCst)), (2, 5));
    }
}

#[tokio::test]
async fn a_kept_connection_closed_by_the_kubelet_is_replaced() {
    for tls in [false, true] {
        let kubelet = kubelet(tls, 1).await;
        let client = client(tls);
        for round in 1..=3 {
            scrape(&client, &kubelet, true).await;
            assert_eq!(client.shared.idle.len(), 1, "tls {tls}: the kubelet did not say it would close");
            // Let the kubelet's close arrive.
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert_eq!(kubelet.accepts.load(Ordering::SeqCst), round);
        }
        assert_eq!(kubelet.requests.load(Ordering::SeqCst), 3, "tls {tls}: each scrape answered once");
    }
}

#[tokio::test]
async fn new_connections_resume_the_session_of_their_own_kubelet() {
    let (a, b) = (kubelet(true, usize::MAX).await, kubelet(true, usize::MAX).await);
    let client = client(true);
    for _ in 0..3 {
        scrape(&client, &a, false).await;
        scrape(&client, &b, false).await;
    }
    for kubelet in [&a, &b] {
        let kinds = kubelet.handshakes.lock().expect("lock").clone();
        assert_eq!(kinds, [HandshakeKind::Full, HandshakeKind::Resumed, HandshakeKind::Resumed]);
    }
    assert_eq!(client.shared.sessions.len(), 2);
}

#[tokio::test]
async fn answers_cut_or_malformed_are_clear_failures() {
    async fn once(answer: &'static [u8]) -> ScrapeFailure {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.expect("accept");
            let mut buf = [0u8; 4096];
            let _ = tcp.read(&mut buf).await;
            let _ = tcp.write_all(answer).await;
        });
        client(false).get(&addr.to_string(), "/metrics/resource").await.expect_err("fails")
    }
    let cut = once(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort").await;
    assert_eq!(cut.class, ScrapeErrorClass::Other);
    assert!(cut.message.ends_with("reading the body: the body was cut short: 5 of 100 bytes received"), "{}", cut.message);
    let chunk = once(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n").await;
    assert!(chunk.message.contains("malformed chunked body: bad chunk size"), "{}", chunk.message);
    let head = once(b"NOT HTTP\r\n\r\n").await;
    assert!(head.message.contains("malformed HTTP response head"), "{}", head.message);
    let forbidden = once(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n").await;
    assert_eq!((forbidden.class, forbidden.status), (ScrapeErrorClass::Auth, Some(403)));
    assert!(forbidden.message.ends_with("HTTP 403 Forbidden (our identity may not read node metrics: RBAC nodes/metrics get)"), "{}", forbidden.message);
}
