//! The serving certificate: from `--tls-cert-file`/`--tls-private-key-file` (re-read when the
//! files change) or self-signed into `--cert-dir`; client certificates verified against the
//! client CA and the front-proxy (requestheader) CA.

use crate::error::{Error, ErrorKind, Result};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

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

/// Builds the rustls server configuration: serving certificate, optional client certificates
/// (verified against `client_cas`, not required), ALPN h2 and http/1.1.
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
        let mut roots = rustls::RootCertStore::empty();
        for ca in client_cas {
            roots.add(ca.clone()).map_err(|e| Error::new(ErrorKind::Config, format!("invalid client CA certificate: {e}")))?;
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .allow_unauthenticated()
            .build()
            .map_err(|e| Error::new(ErrorKind::Config, format!("invalid client CA: {e}")))?;
        builder.with_client_cert_verifier(verifier)
    };
    let mut config = builder.with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Subject CN, subject O values and issuer DN (DER) of a certificate.
pub fn subject(cert: &CertificateDer<'_>) -> Option<(String, Vec<String>, Vec<u8>)> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let subject = parsed.subject();
    let cn = subject.iter_common_name().next().and_then(|a| a.as_str().ok()).unwrap_or_default().to_string();
    let orgs = subject.iter_organization().filter_map(|a| a.as_str().ok()).map(str::to_string).collect();
    Some((cn, orgs, parsed.issuer().as_raw().to_vec()))
}

/// The subject DN (DER) of a CA certificate, to tell which CA issued a client certificate.
pub fn subject_raw(cert: &CertificateDer<'_>) -> Option<Vec<u8>> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    Some(parsed.subject().as_raw().to_vec())
}
