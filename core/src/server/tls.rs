//! The serving certificate: from `--tls-cert-file`/`--tls-private-key-file` (re-read when the
//! files change) or self-signed into `--cert-dir`; client certificates requested at the TLS layer
//! and verified by the authenticator against the client CA and the front-proxy (requestheader)
//! CA, as Kubernetes API servers do; and the verification of kubelets' serving certificates the
//! way Go's `crypto/x509` does it for metrics-server.

use crate::error::{Error, ErrorKind, Result};
use rustls::client::danger::{ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ParsedCertificate, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{CertificateError, DistinguishedName, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

fn io_err(what: &str, path: &Path, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Config, format!("{what} {}: {e}", path.display()))
}

/// Reads every certificate of a PEM file.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| io_err("cannot read certificates from", path, e))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| io_err("invalid PEM certificate in", path, e))?;
    if certs.is_empty() {
        return Err(io_err("no certificate in", path, "the file holds no CERTIFICATE block"));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| io_err("cannot read private key from", path, e))
}

fn certified_key(cert: &Path, key: &Path) -> Result<Arc<CertifiedKey>> {
    let chain = read_certs(cert)?;
    let key = read_key(key)?;
    let provider = rustls::crypto::ring::default_provider();
    let signing = provider.key_provider.load_private_key(key).map_err(|e| Error::new(ErrorKind::Config, format!("unsupported private key: {e}")))?;
    Ok(Arc::new(CertifiedKey::new(chain, signing)))
}

/// Where the serving certificate comes from.
#[derive(Debug, Clone)]
pub enum ServingCert {
    /// PEM files, re-read when their modification time changes.
    Files {
        /// Certificate chain.
        cert: PathBuf,
        /// Private key.
        key: PathBuf,
    },
    /// Self-signed for these names, written to `dir` (`apiserver.crt`, `apiserver.key`) and reused.
    SelfSigned {
        /// Directory for the generated pair.
        dir: PathBuf,
        /// DNS names and IP addresses for the certificate.
        names: Vec<String>,
    },
}

/// Serves the current certificate, re-reading the files when they change.
#[derive(Debug)]
struct ReloadingCert {
    cert: PathBuf,
    key: PathBuf,
    state: Mutex<(Option<SystemTime>, Arc<CertifiedKey>)>,
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = mtime(&self.cert).max(mtime(&self.key));
        if now != state.0 {
            match certified_key(&self.cert, &self.key) {
                Ok(k) => {
                    tracing::info!(cert = %self.cert.display(), "serving certificate reloaded");
                    *state = (now, k);
                }
                Err(e) => tracing::warn!("keeping the previous serving certificate: {e}"),
            }
        }
        Some(state.1.clone())
    }
}

/// Generates (or reuses) a self-signed pair in `dir`; returns the certificate and key paths.
pub fn self_signed(dir: &Path, names: &[String]) -> Result<(PathBuf, PathBuf)> {
    let cert = dir.join("apiserver.crt");
    let key = dir.join("apiserver.key");
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(dir).map_err(|e| io_err("cannot create", dir, e))?;
    let generated =
        rcgen::generate_simple_self_signed(names.to_vec()).map_err(|e| Error::new(ErrorKind::Internal, format!("cannot generate a certificate: {e}")))?;
    std::fs::write(&cert, generated.cert.pem()).map_err(|e| io_err("cannot write", &cert, e))?;
    std::fs::write(&key, generated.signing_key.serialize_pem()).map_err(|e| io_err("cannot write", &key, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600));
    }
    Ok((cert, key))
}

/// Builds the rustls server configuration: serving certificate, ALPN h2 and http/1.1, and, when
/// `client_cas` is not empty, a request for a client certificate naming those CAs.
///
/// Client certificates are requested, never required, and not judged during the handshake (Go's
/// `tls.RequestClientCert`, which Kubernetes API servers use): a client whose certificate no
/// configured CA vouches for still completes the handshake and may authenticate otherwise (a
/// bearer token). The client must still prove that it holds the certificate's private key (the
/// handshake signature is checked); the chain itself is verified by
/// [`Authenticator`](crate::server::Authenticator) for every request.
#[cfg(any(test, feature = "testkit"))]
pub fn server_config(serving: &ServingCert, client_cas: &[CertificateDer<'static>]) -> Result<rustls::ServerConfig> {
    server_config_with(serving, client_cas, &super::tls_options::TlsOptions::default())
}

/// [`server_config`] with the cipher suites, minimum version and key exchange groups of
/// `options` (`--tls-cipher-suites`, `--tls-min-version`, `--tls-curve-preferences`).
pub fn server_config_with(
    serving: &ServingCert,
    client_cas: &[CertificateDer<'static>],
    options: &super::tls_options::TlsOptions,
) -> Result<rustls::ServerConfig> {
    let resolved = options.resolve()?;
    for note in &resolved.notes {
        tracing::warn!("{note}");
    }
    let (cert, key) = match serving {
        ServingCert::Files { cert, key } => (cert.clone(), key.clone()),
        ServingCert::SelfSigned { dir, names } => self_signed(dir, names)?,
    };
    let first = certified_key(&cert, &key)?;
    let resolver = Arc::new(ReloadingCert { state: Mutex::new((mtime(&cert).max(mtime(&key)), first)), cert, key });
    let provider = Arc::new(resolved.provider);
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&resolved.versions)
        .map_err(|e| Error::new(ErrorKind::Config, format!("TLS settings: {e}")))?;
    let builder = if client_cas.is_empty() {
        builder.with_no_client_auth()
    } else {
        let mut roots = RootCertStore::empty();
        for ca in client_cas {
            roots.add(ca.clone()).map_err(|e| Error::new(ErrorKind::Config, format!("invalid client CA certificate: {e}")))?;
        }
        builder.with_client_cert_verifier(Arc::new(RequestClientCert::new(roots.subjects(), provider)))
    };
    let mut config = builder.with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The three handshake-signature methods shared by the `rustls` verifiers here (server and client
/// certificate verifiers alike): checked with `self.provider`'s algorithms, whatever the verifier
/// decides about the certificate itself.
macro_rules! handshake_signatures_by_provider {
    () => {
        fn verify_tls12_signature(&self, m: &[u8], c: &$crate::server::tls::Cert<'_>, d: &$crate::server::tls::Dss) -> $crate::server::tls::SignatureResult {
            rustls::crypto::verify_tls12_signature(m, c, d, &self.provider.signature_verification_algorithms)
        }
        fn verify_tls13_signature(&self, m: &[u8], c: &$crate::server::tls::Cert<'_>, d: &$crate::server::tls::Dss) -> $crate::server::tls::SignatureResult {
            rustls::crypto::verify_tls13_signature(m, c, d, &self.provider.signature_verification_algorithms)
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.provider.signature_verification_algorithms.supported_schemes()
        }
    };
}
pub(crate) use handshake_signatures_by_provider;
/// Short names for the macro's signatures.
pub(crate) type Cert<'a> = CertificateDer<'a>;
pub(crate) type Dss = rustls::DigitallySignedStruct;
pub(crate) type SignatureResult = std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error>;

/// Asks for a client certificate (naming the client CAs as hints) and takes whatever the client
/// presents, or nothing; only the handshake signature, the proof that the client holds the
/// certificate's key, is checked here.
#[derive(Debug)]
pub(crate) struct RequestClientCert {
    hints: Vec<DistinguishedName>,
    provider: Arc<CryptoProvider>,
}

impl RequestClientCert {
    /// Names `hints` as the acceptable CAs; checks handshake signatures with `provider`.
    pub(crate) fn new(hints: Vec<DistinguishedName>, provider: Arc<CryptoProvider>) -> RequestClientCert {
        RequestClientCert { hints, provider }
    }
}

impl ClientCertVerifier for RequestClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }
    fn verify_client_cert(&self, _: &CertificateDer<'_>, _: &[CertificateDer<'_>], _: UnixTime) -> std::result::Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    handshake_signatures_by_provider!();
}

/// Verifies servers' certificates against trust anchors as Go's `crypto/x509` does for
/// metrics-server's kubelet client, which webpki alone does not:
///
/// - a served certificate byte-equal to one of the anchors is trusted as it is, even when it is
///   a CA certificate (kubelets' self-signed certificates are CAs, and operators pin them with
///   `--kubelet-certificate-authority`); its validity period, the name or IP address it is
///   for, and its extended key usage (server authentication, when it states any) are still
///   checked, and its key must still sign the handshake;
/// - a self-issued CA certificate that is not an anchor is refused as signed by an unknown
///   authority (`UnknownIssuer`), as Go reports it;
/// - everything else goes through webpki: the chain to an anchor (served intermediates
///   allowed), the validity periods, the name or IP address.
#[derive(Debug)]
pub(crate) struct GoLikeServerVerifier {
    roots: RootCertStore,
    anchors: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
}

impl GoLikeServerVerifier {
    /// Trusts `anchors` (those webpki cannot use as roots are still trusted byte for byte).
    pub(crate) fn new(anchors: Vec<CertificateDer<'static>>, provider: Arc<CryptoProvider>) -> GoLikeServerVerifier {
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(anchors.iter().cloned());
        GoLikeServerVerifier { roots, anchors, provider }
    }
}

impl ServerCertVerifier for GoLikeServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if self.anchors.iter().any(|a| a.as_ref() == end_entity.as_ref()) {
            verify_anchor_as_leaf(end_entity, server_name, now)?;
            return Ok(ServerCertVerified::assertion());
        }
        if is_self_issued_ca(end_entity) {
            return Err(CertificateError::UnknownIssuer.into());
        }
        let cert = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(&cert, &self.roots, intermediates, now, self.provider.signature_verification_algorithms.all)?;
        rustls::client::verify_server_name(&cert, server_name)?;
        Ok(ServerCertVerified::assertion())
    }
    handshake_signatures_by_provider!();
}

/// Whether `cert` is a CA certificate whose issuer is its own subject.
fn is_self_issued_ca(cert: &CertificateDer<'_>) -> bool {
    x509_parser::parse_x509_certificate(cert.as_ref()).is_ok_and(|(_, c)| c.is_ca() && c.subject().as_raw() == c.issuer().as_raw())
}

fn unix_time(seconds: i64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(seconds).unwrap_or(0)))
}

/// The checks Go's `crypto/x509` still makes on a certificate found among the trust anchors:
/// well formed with no critical extension it does not understand, within its validity period,
/// for `server_name`, and for server authentication when it lists extended key usages.
fn verify_anchor_as_leaf(cert: &CertificateDer<'_>, server_name: &ServerName<'_>, now: UnixTime) -> std::result::Result<(), rustls::Error> {
    // webpki's parser refuses malformed certificates and unknown critical extensions.
    let parsed = ParsedCertificate::try_from(cert)?;
    let (_, x509) = x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|_| CertificateError::BadEncoding)?;
    let validity = x509.validity();
    let seconds = i128::from(now.as_secs());
    if seconds < i128::from(validity.not_before.timestamp()) {
        return Err(CertificateError::NotValidYetContext { time: now, not_before: unix_time(validity.not_before.timestamp()) }.into());
    }
    if seconds > i128::from(validity.not_after.timestamp()) {
        return Err(CertificateError::ExpiredContext { time: now, not_after: unix_time(validity.not_after.timestamp()) }.into());
    }
    rustls::client::verify_server_name(&parsed, server_name)?;
    match x509.extended_key_usage() {
        Ok(Some(eku)) if !(eku.value.any || eku.value.server_auth) => Err(CertificateError::InvalidPurpose.into()),
        Ok(_) => Ok(()),
        Err(_) => Err(CertificateError::BadEncoding.into()),
    }
}

/// Subject CN, subject O values and issuer DN (DER) of a certificate.
pub fn subject(cert: &CertificateDer<'_>) -> Option<(String, Vec<String>, Vec<u8>)> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let subject = parsed.subject();
    let cn = subject.iter_common_name().next().and_then(|a| a.as_str().ok()).unwrap_or_default().to_string();
    let orgs = subject.iter_organization().filter_map(|a| a.as_str().ok()).map(str::to_string).collect();
    Some((cn, orgs, parsed.issuer().as_raw().to_vec()))
}
