//! The HTTP client for kubelets: HTTPS with CA verification by default (or
//! `--kubelet-insecure-tls`), an optional client certificate, the bearer token, connection reuse,
//! per-request deadlines, a body size limit enforced while reading, and failures sorted into
//! classes.
//!
//! The transport is its own lean HTTP/1.1 client (`http1` parses the responses, `conn` holds
//! the connections): an idle connection kept for the next scrape is only a socket and its TLS
//! state, reads go through buffers owned by the requests in flight, and TLS sessions are resumed
//! per kubelet address (`sessions`).

mod conn;
mod http1;
mod sessions;
#[cfg(test)]
mod tests;

use crate::error::{Error, ErrorKind, Result};
use crate::server::ScrapeErrorClass;
use crate::server::tls::Cert;
use bytes::Bytes;
use conn::{BufferPool, Buffers, Conn, IdlePool};
use http1::{Body, BodyError};
use rustls::client::danger::{ServerCertVerified, ServerCertVerifier};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use sessions::{AddressSessions, SessionTable};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Kubelet connection settings (metrics-server's `--kubelet-*` flags).
#[derive(Debug, Clone)]
pub struct KubeletOptions {
    /// `--kubelet-insecure-tls`: do not verify the kubelet's serving certificate.
    pub insecure_tls: bool,
    /// `--kubelet-certificate-authority`: CA of the kubelets' serving certificates, or the
    /// kubelets' own (self-signed) certificates: as with Go's `crypto/x509`, a served certificate
    /// equal to one of the file's certificates is trusted as it is (its validity period and the
    /// address it is for are still checked).
    pub certificate_authority: Option<PathBuf>,
    /// `--kubelet-client-certificate` / `--kubelet-client-key`.
    pub client_certificate: Option<(PathBuf, PathBuf)>,
    /// Bearer token sent to kubelets (the service account token).
    pub token: Option<String>,
    /// `--kubelet-request-timeout`.
    pub request_timeout: Duration,
    /// Largest body accepted from a kubelet, in bytes (`--kubelet-max-body-size`, default 10 MiB;
    /// a 110-pod kubelet sends about 60 KiB). Enforced while reading: a body announced larger
    /// (`Content-Length`) is not read at all, any other stops being read at the limit, and the
    /// scrape fails with [`ScrapeErrorClass::TooLarge`]; so a kubelet costs at most about this
    /// much memory whatever it sends. The collector gives its parsers the same limit.
    pub max_body_bytes: usize,
    /// `http` for simulated kubelets; `https` (default) for real ones.
    pub scheme: String,
    /// CA certificates (DER) used when `certificate_authority` is not set: those of the
    /// kubeconfig (see [`KubeletOptions::inherit_rest_config`]).
    pub certificate_authority_der: Vec<Vec<u8>>,
    /// Client certificate chain and key (PEM) used when `client_certificate` is not set: those
    /// of the kubeconfig.
    pub client_identity_pem: Option<super::kubelet_rest::ClientIdentity>,
    /// A file holding the bearer token, re-read every minute, used when `token` is not set.
    pub token_file: Option<PathBuf>,
}

impl Default for KubeletOptions {
    fn default() -> Self {
        KubeletOptions {
            insecure_tls: false,
            certificate_authority: None,
            client_certificate: None,
            token: None,
            request_timeout: Duration::from_secs(10),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            scheme: "https".into(),
            certificate_authority_der: Vec::new(),
            client_identity_pem: None,
            token_file: None,
        }
    }
}

/// The default of [`KubeletOptions::max_body_bytes`]: 10 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 10 << 20;

/// A failed scrape: its class and a message for the logs.
#[derive(Debug, Clone)]
pub struct ScrapeFailure {
    /// What kind of failure.
    pub class: ScrapeErrorClass,
    /// Human-readable detail.
    pub message: String,
    /// HTTP status, when the kubelet answered.
    pub status: Option<u16>,
}

/// `--kubelet-insecure-tls`: any certificate is accepted; the handshake is still signed.
#[derive(Debug)]
struct AcceptAnyCert {
    provider: Arc<rustls::crypto::CryptoProvider>,
}

/// What a server certificate verifier answers.
type Verified = std::result::Result<ServerCertVerified, rustls::Error>;

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(&self, _: &Cert<'_>, _: &[Cert<'_>], _: &ServerName<'_>, _: &[u8], _: UnixTime) -> Verified {
        Ok(ServerCertVerified::assertion())
    }
    crate::server::tls::handshake_signatures_by_provider!();
}

/// A pooled client for all kubelets.
#[derive(Clone)]
pub struct KubeletClient {
    shared: Arc<Shared>,
    keep_alive_budget: usize,
    options: Arc<KubeletOptions>,
    token: Arc<super::kubelet_rest::TokenSource>,
}

/// What the clones of a [`KubeletClient`] share.
struct Shared {
    /// The TLS settings (`None` for `http`); each connection gets a copy resuming sessions of
    /// its own address.
    tls: Option<rustls::ClientConfig>,
    sessions: Arc<SessionTable>,
    idle: IdlePool,
    buffers: BufferPool,
    /// `User-Agent`.
    user_agent: String,
}

/// How an attempt over a connection failed.
enum Failed {
    /// A kept connection the kubelet had closed before answering anything: try a new one.
    Stale,
    /// For good.
    Scrape(ScrapeFailure),
}

impl From<ScrapeFailure> for Failed {
    fn from(f: ScrapeFailure) -> Failed {
        Failed::Scrape(f)
    }
}

/// File descriptors kept free of idle kubelet connections: scrapes in flight, the API server's
/// watches, served clients, certificates and logs.
const FD_HEADROOM: u64 = 2048;

/// How many kubelets may keep an idle connection: the open-file limit (raised to its hard limit
/// first, as Go programs such as metrics-server do) minus a headroom of 2,048 descriptors. Past it, kubelets are
/// scraped over a connection closed after each scrape instead of failing with "too many open
/// files".
pub fn keep_alive_budget() -> usize {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit/setrlimit only read and write the struct passed by pointer.
        let soft = unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return usize::MAX;
            }
            if lim.rlim_cur < lim.rlim_max {
                let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    lim.rlim_cur = lim.rlim_max;
                }
            }
            lim.rlim_cur
        };
        if soft == libc::RLIM_INFINITY {
            return usize::MAX;
        }
        usize::try_from(soft.saturating_sub(FD_HEADROOM)).unwrap_or(usize::MAX)
    }
    #[cfg(not(unix))]
    {
        usize::MAX
    }
}

impl std::fmt::Debug for KubeletClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeletClient").field("options", &self.options).finish()
    }
}

fn config_err(e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Config, e.to_string())
}

impl KubeletClient {
    /// Builds the client (reads the CA and client certificate files).
    pub fn new(options: KubeletOptions) -> Result<KubeletClient> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions().map_err(config_err)?;
        let builder = if options.insecure_tls {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAnyCert { provider: provider.clone() }))
        } else {
            let mut anchors = Vec::new();
            if let Some(ca) = &options.certificate_authority {
                for cert in crate::server::tls::read_certs(ca)? {
                    rustls::RootCertStore::empty()
                        .add(cert.clone())
                        .map_err(|e| config_err(format!("--kubelet-certificate-authority {}: {e}", ca.display())))?;
                    anchors.push(cert);
                }
            } else if !options.certificate_authority_der.is_empty() {
                for der in &options.certificate_authority_der {
                    let cert = CertificateDer::from(der.clone());
                    rustls::RootCertStore::empty().add(cert.clone()).map_err(|e| config_err(format!("kubeconfig certificate authority: {e}")))?;
                    anchors.push(cert);
                }
            } else if let Ok(pem) = std::fs::read("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt") {
                anchors.extend(CertificateDer::pem_slice_iter(&pem).flatten());
            }
            // Verified like Go's crypto/x509 (metrics-server): a kubelet serving one of these
            // certificates itself, as a pinned self-signed CA, is trusted too.
            builder.dangerous().with_custom_certificate_verifier(Arc::new(crate::server::tls::GoLikeServerVerifier::new(anchors, provider.clone())))
        };
        let tls = match &options.client_certificate {
            Some((cert, key)) => {
                let chain = crate::server::tls::read_certs(cert)?;
                let key = PrivateKeyDer::from_pem_file(key).map_err(|e| config_err(format!("--kubelet-client-key {}: {e}", key.display())))?;
                builder.with_client_auth_cert(chain, key).map_err(config_err)?
            }
            None => match &options.client_identity_pem {
                Some(identity) => {
                    let (cert, key) = (&identity.cert_pem, &identity.key_pem);
                    let chain = CertificateDer::pem_slice_iter(cert)
                        .collect::<std::result::Result<Vec<_>, _>>()
                        .map_err(|e| config_err(format!("kubeconfig client certificate: {e}")))?;
                    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| config_err(format!("kubeconfig client key: {e}")))?;
                    builder.with_client_auth_cert(chain, key).map_err(config_err)?
                }
                None => builder.with_no_client_auth(),
            },
        };
        // One idle connection per kubelet is kept for the next cycle (a TLS handshake per scrape
        // doubles the CPU per cycle): nothing but its socket and TLS state. A kubelet scraped over
        // a new connection resumes its last TLS session (a ticket per kubelet address).
        let https = options.scheme != "http";
        let shared = Shared {
            tls: https.then_some(tls),
            sessions: Arc::new(SessionTable::new(sessions::MAX_ADDRESSES)),
            idle: IdlePool::default(),
            buffers: BufferPool::default(),
            user_agent: format!("kubemetrics/{}", env!("CARGO_PKG_VERSION")),
        };
        let token = Arc::new(super::kubelet_rest::TokenSource::new(&options));
        Ok(KubeletClient { shared: Arc::new(shared), keep_alive_budget: keep_alive_budget(), options: Arc::new(options), token })
    }

    /// How many kubelets keep an idle connection between scrapes (see [`keep_alive_budget`]).
    pub fn keep_alive_budget(&self) -> usize {
        self.keep_alive_budget
    }

    /// The options in use.
    pub fn options(&self) -> &KubeletOptions {
        &self.options
    }

    /// GETs `path` from the kubelet at `address` (`host:port`), within the request timeout,
    /// keeping the connection for the next scrape.
    pub async fn get(&self, address: &str, path: &str) -> std::result::Result<Bytes, ScrapeFailure> {
        self.get_with(address, path, true).await
    }

    /// [`get`](Self::get), closing the connection afterwards unless `keep_alive`.
    pub async fn get_with(&self, address: &str, path: &str, keep_alive: bool) -> std::result::Result<Bytes, ScrapeFailure> {
        let mut body = Vec::new();
        self.get_streaming(address, path, keep_alive, |chunk| {
            body.extend_from_slice(chunk);
            Ok(())
        })
        .await?;
        Ok(Bytes::from(body))
    }

    /// GETs `path` like [`get_with`](Self::get_with), but hands the body to `sink` piece by piece
    /// as it arrives instead of collecting it: nothing of the body is held here beyond the piece
    /// being handed over. Returns the body's size.
    ///
    /// Fails with [`ScrapeErrorClass::TooLarge`] when the body passes
    /// [`KubeletOptions::max_body_bytes`]: at once, without reading it, when its `Content-Length`
    /// says so, else as soon as the bytes read pass the limit (the connection is then dropped).
    /// A failure of `sink` stops the read and fails with [`ScrapeErrorClass::Parse`].
    pub async fn get_streaming<F>(&self, address: &str, path: &str, keep_alive: bool, mut sink: F) -> std::result::Result<usize, ScrapeFailure>
    where
        F: FnMut(&[u8]) -> Result<()>,
    {
        let fail = |class, message: String| ScrapeFailure { class, message, status: None };
        let uri = format!("{}://{address}{path}", self.options.scheme);
        let request = self.request(address, path, keep_alive).map_err(|e| fail(ScrapeErrorClass::Other, format!("bad request {uri}: {e}")))?;
        let mut buffers = self.shared.buffers.take();
        let work = async {
            if keep_alive && let Some(conn) = self.shared.idle.take(address) {
                match self.exchange(conn, true, &mut buffers, address, &uri, &request, keep_alive, &mut sink).await {
                    Err(Failed::Stale) => {}
                    Err(Failed::Scrape(f)) => return Err(f),
                    Ok(read) => return Ok(read),
                }
            }
            let conn = self.connect(address, &uri, &mut buffers.cipher).await?;
            match self.exchange(conn, false, &mut buffers, address, &uri, &request, keep_alive, &mut sink).await {
                Err(Failed::Stale) => Err(fail(ScrapeErrorClass::Other, format!("GET {uri}: the connection closed before an answer"))),
                Err(Failed::Scrape(f)) => Err(f),
                Ok(read) => Ok(read),
            }
        };
        let result = match tokio::time::timeout(self.options.request_timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(fail(ScrapeErrorClass::Timeout, format!("GET {uri}: no complete answer within {:?}", self.options.request_timeout))),
        };
        self.shared.buffers.give(buffers);
        result
    }

    /// The request's bytes.
    fn request(&self, address: &str, path: &str, keep_alive: bool) -> std::result::Result<Vec<u8>, &'static str> {
        let token = self.token.get();
        let printable = |s: &str| s.bytes().all(|b| b.is_ascii_graphic());
        if !path.starts_with('/') || !printable(path) {
            return Err("the path must start with / and hold no spaces or control characters");
        }
        if !printable(address) {
            return Err("the address holds spaces or control characters");
        }
        if token.as_deref().is_some_and(|t| !printable(t)) {
            return Err("the bearer token holds spaces or control characters");
        }
        let mut out = Vec::with_capacity(256 + path.len() + token.as_ref().map_or(0, String::len));
        let mut line = |parts: &[&str]| {
            parts.iter().for_each(|p| out.extend_from_slice(p.as_bytes()));
            out.extend_from_slice(b"\r\n");
        };
        line(&["GET ", path, " HTTP/1.1"]);
        line(&["Host: ", address]);
        line(&["User-Agent: ", &self.shared.user_agent]);
        line(&["Accept: text/plain, application/json"]);
        if let Some(token) = &token {
            line(&["Authorization: Bearer ", token]);
        }
        if !keep_alive {
            line(&["Connection: close"]);
        }
        line(&[]);
        Ok(out)
    }

    /// A new connection to `address`, with a TLS handshake for HTTPS.
    async fn connect(&self, address: &str, uri: &str, cipher: &mut conn::Cipher) -> std::result::Result<Conn, ScrapeFailure> {
        let tls = match &self.shared.tls {
            None => None,
            Some(base) => {
                let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
                let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
                let name = ServerName::try_from(host.to_string()).map_err(|e| ScrapeFailure {
                    class: ScrapeErrorClass::Other,
                    message: format!("GET {uri}: {host:?} is not a host name: {e}"),
                    status: None,
                })?;
                let mut config = base.clone();
                config.resumption = rustls::client::Resumption::store(Arc::new(AddressSessions::new(self.shared.sessions.clone(), address)));
                Some(rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| classify(uri, "TLS", &tls_io(e)))?)
            }
        };
        Conn::open(address, tls, cipher).await.map_err(|(phase, e)| classify(uri, phase, &e))
    }

    /// Sends the request over `conn` and reads the answer, handing the body to `sink`; keeps the
    /// connection afterwards when it may carry another request. A `reused` connection found
    /// closed before any byte of answer is [`Failed::Stale`].
    #[allow(clippy::too_many_arguments)]
    async fn exchange<F>(
        &self,
        mut conn: Conn,
        reused: bool,
        buffers: &mut Buffers,
        address: &str,
        uri: &str,
        request: &[u8],
        keep_alive: bool,
        sink: &mut F,
    ) -> std::result::Result<usize, Failed>
    where
        F: FnMut(&[u8]) -> Result<()>,
    {
        let fail = |class, message: String| Failed::Scrape(ScrapeFailure { class, message, status: None });
        if let Err(e) = conn.write_all(request).await {
            return Err(if reused { Failed::Stale } else { classify(uri, "sending the request", &e).into() });
        }
        let max = self.options.max_body_bytes;
        let Buffers { plain, cipher } = buffers;
        let result = async {
            // The head.
            let mut filled = 0;
            let (taken, head) = loop {
                match http1::parse_head(&plain[..filled]) {
                    Ok(Some(head)) => break head,
                    Ok(None) if filled == plain.len() => {
                        return Err(fail(ScrapeErrorClass::Other, format!("GET {uri}: the answer's head is larger than {} KiB", plain.len() / 1024)));
                    }
                    Ok(None) => {}
                    Err(e) => return Err(fail(ScrapeErrorClass::Other, format!("GET {uri}: {e}"))),
                }
                match conn.read(cipher, &mut plain[filled..]).await {
                    Ok(0) | Err(_) if reused && filled == 0 => return Err(Failed::Stale),
                    Ok(0) => return Err(fail(ScrapeErrorClass::Other, format!("GET {uri}: the connection closed before a complete answer"))),
                    Ok(n) => filled += n,
                    Err(e) => return Err(classify(uri, "reading the answer", &e).into()),
                }
            };
            if !(200..300).contains(&head.status) {
                let status = head.status;
                let class = if status == 401 || status == 403 { ScrapeErrorClass::Auth } else { ScrapeErrorClass::Other };
                let hint = match status {
                    401 => " (the kubelet did not accept our credentials: --kubelet-client-certificate/--kubelet-client-key or the service account token)",
                    403 => " (our identity may not read node metrics: RBAC nodes/metrics get)",
                    _ => "",
                };
                let status_text = http::StatusCode::from_u16(status).map_or_else(|_| status.to_string(), |s| s.to_string());
                return Err(Failed::Scrape(ScrapeFailure { class, message: format!("GET {uri}: HTTP {status_text}{hint}"), status: Some(status) }));
            }
            if let Some(len) = head.content_length.filter(|&len| len > max as u64) {
                return Err(fail(
                    ScrapeErrorClass::TooLarge,
                    format!("GET {uri}: the kubelet announces {len} bytes, over the limit of {max} bytes ({}, --kubelet-max-body-size); not read", mib(max)),
                ));
            }
            // The body.
            let mut body = Body::new(head.framing);
            let mut read = 0usize;
            let mut deliver = |data: &[u8]| {
                read = read.saturating_add(data.len());
                if read > max {
                    return Err(fail(
                        ScrapeErrorClass::TooLarge,
                        format!(
                            "GET {uri}: the kubelet's answer is larger than the limit of {max} bytes ({}, --kubelet-max-body-size); stopped reading at the limit",
                            mib(max)
                        ),
                    ));
                }
                sink(data).map_err(|e| fail(ScrapeErrorClass::Parse, format!("GET {uri}: {e}")))
            };
            let body_error = |e: BodyError<Failed>| match e {
                BodyError::Malformed(m) => fail(ScrapeErrorClass::Other, format!("GET {uri}: reading the body: {m}")),
                BodyError::Sink(f) => f,
            };
            let (mut at, mut end) = (taken, filled);
            let clean = loop {
                let used = body.feed(&plain[at..end], &mut deliver).map_err(body_error)?;
                if body.is_done() {
                    break used == end - at;
                }
                match conn.read(cipher, &mut plain[..]).await {
                    Ok(0) => {
                        body.finish().map_err(|e| fail(ScrapeErrorClass::Other, format!("GET {uri}: reading the body: {e}")))?;
                        break false;
                    }
                    Ok(n) => (at, end) = (0, n),
                    Err(e) => return Err(fail(ScrapeErrorClass::Other, format!("GET {uri}: reading the body: {e}"))),
                }
            };
            Ok((read, clean && head.reusable))
        }
        .await;
        let (read, reusable) = result?;
        if keep_alive && reusable && cipher.is_drained() && conn.is_clean() {
            self.shared.idle.put(address, conn);
        }
        Ok(read)
    }
}

/// A rustls error as the I/O error it comes as from a connection.
fn tls_io(e: rustls::Error) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e)
}

/// A byte count in MiB for messages (`10 MiB`, `0.5 MiB`).
fn mib(bytes: usize) -> String {
    let mib = bytes as f64 / (1u64 << 20) as f64;
    if mib.fract() == 0.0 { format!("{mib:.0} MiB") } else { format!("{mib:.2} MiB") }
}

/// Whether `e` is a rustls error, or I/O errors wrapping one (`io::Error::source` skips the
/// wrapped error, `get_ref` does not).
fn is_tls_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut e = e;
    loop {
        if e.is::<rustls::Error>() {
            return true;
        }
        match e.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref) {
            Some(inner) => e = inner,
            None => return false,
        }
    }
}

/// A failure to connect, handshake or exchange, sorted into its class (with a hint for the
/// usual certificate mistakes). `phase` says what was being done.
fn classify(uri: &str, phase: &str, e: &std::io::Error) -> ScrapeFailure {
    let mut text = format!("{phase}: {e}");
    let mut tls = is_tls_error(e);
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        tls |= is_tls_error(s);
        source = s.source();
    }
    let lower = text.to_ascii_lowercase();
    // TLS before DNS: a name mismatch reads "certificate not valid for name ...; certificate is
    // only valid for DnsName(...)".
    let class = if tls || lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        ScrapeErrorClass::Tls
    } else if lower.contains("dns") || lower.contains("failed to lookup") || lower.contains("name or service not known") {
        ScrapeErrorClass::Dns
    } else if lower.contains("timed out") || lower.contains("timeout") {
        ScrapeErrorClass::Timeout
    } else {
        ScrapeErrorClass::Other
    };
    let hint = if lower.contains("unknownissuer") {
        " (the kubelet's serving certificate is not signed by a trusted CA: set --kubelet-certificate-authority, or --kubelet-insecure-tls for testing)"
    } else if lower.contains("causedasendentity") {
        " (the kubelet serves a CA certificate: it is trusted only when --kubelet-certificate-authority holds that very certificate)"
    } else if lower.contains("not valid for name") {
        " (the kubelet's serving certificate does not name the address scraped: see --kubelet-preferred-address-types)"
    } else {
        ""
    };
    ScrapeFailure { class, message: format!("GET {uri}: {text}{hint}"), status: None }
}
