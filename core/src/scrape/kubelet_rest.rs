//! The kubelet client's credentials taken from the REST configuration of the cluster, as
//! metrics-server does: without `--kubelet-*` TLS flags, its kubelet client copies the kubeconfig
//! (or in-cluster) configuration, so it trusts the same CA, presents the same client
//! certificate and sends the same bearer token as its API client. Explicit flags win.

use super::kubelet::KubeletOptions;
use crate::error::{Error, ErrorKind, Result};
use base64::Engine as _;
use secrecy::ExposeSecret as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a token read from a file is used before the file is read again (a projected service
/// account token is rotated by the kubelet; client-go re-reads it on the same period).
const TOKEN_FILE_PERIOD: Duration = Duration::from_secs(60);

fn config_err(message: String) -> Error {
    Error::new(ErrorKind::Config, message)
}

fn read(what: &str, path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| config_err(format!("kubeconfig {what} {}: {e}", path.display())))
}

fn decode(what: &str, data: &str) -> Result<Vec<u8>> {
    let compact: String = data.split_ascii_whitespace().collect();
    base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()).map_err(|e| config_err(format!("kubeconfig {what}: not base64: {e}")))
}

/// A client certificate chain and its private key, PEM (the key is not shown by `Debug`).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The certificate chain, PEM.
    pub cert_pem: Vec<u8>,
    /// The private key, PEM.
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity").field("cert_pem", &format_args!("{} bytes", self.cert_pem.len())).field("key_pem", &"<redacted>").finish()
    }
}

/// What [`KubeletOptions::inherit_rest_config`] took, for the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inherited {
    /// The CA came from the REST configuration.
    pub certificate_authority: bool,
    /// Certificate verification is off because the kubeconfig says `insecure-skip-tls-verify`.
    pub insecure: bool,
    /// The client certificate came from the REST configuration.
    pub client_certificate: bool,
    /// The bearer token (or its file) came from the REST configuration.
    pub token: bool,
    /// Credentials of the kubeconfig the kubelet client cannot use (exec plugins, auth
    /// providers, basic auth), one line each.
    pub unusable: Vec<String>,
}

impl KubeletOptions {
    /// Fills what the `--kubelet-*` flags left unset from `config` (the kubeconfig given with
    /// `--kubeconfig`, or the in-cluster service account): the CA (unless
    /// `--kubelet-certificate-authority` or `--kubelet-insecure-tls`), `insecure-skip-tls-verify`,
    /// the client certificate and key (unless `--kubelet-client-certificate`), and the bearer
    /// token or token file (unless a token is already set).
    pub fn inherit_rest_config(&mut self, config: &kube::Config) -> Result<Inherited> {
        let mut got = Inherited::default();
        if self.certificate_authority.is_none() && !self.insecure_tls {
            if config.accept_invalid_certs {
                self.insecure_tls = true;
                got.insecure = true;
            } else if let Some(file) = &config.root_cert_file {
                self.certificate_authority = Some(file.clone());
                got.certificate_authority = true;
            } else if let Some(roots) = config.root_cert.as_ref().filter(|r| !r.is_empty()) {
                self.certificate_authority_der = roots.clone();
                got.certificate_authority = true;
            }
        }
        let auth = &config.auth_info;
        if self.client_certificate.is_none() && self.client_identity_pem.is_none() {
            let cert = match (&auth.client_certificate_data, &auth.client_certificate) {
                (Some(data), _) => Some(decode("client-certificate-data", data)?),
                (None, Some(path)) => Some(read("client-certificate", Path::new(path))?),
                _ => None,
            };
            let key = match (&auth.client_key_data, &auth.client_key) {
                (Some(data), _) => Some(decode("client-key-data", data.expose_secret())?),
                (None, Some(path)) => Some(read("client-key", Path::new(path))?),
                _ => None,
            };
            match (cert, key) {
                (Some(cert), Some(key)) => {
                    self.client_identity_pem = Some(ClientIdentity { cert_pem: cert, key_pem: key });
                    got.client_certificate = true;
                }
                (None, None) => {}
                _ => return Err(config_err("kubeconfig: a client certificate needs its key and a key its certificate".into())),
            }
        }
        if self.token.is_none() && self.token_file.is_none() {
            if let Some(token) = &auth.token {
                self.token = Some(token.expose_secret().trim().to_string());
                got.token = true;
            } else if let Some(file) = &auth.token_file {
                self.token_file = Some(PathBuf::from(file));
                got.token = true;
            }
        }
        if auth.exec.is_some() {
            got.unusable.push("an exec credential plugin".into());
        }
        if auth.auth_provider.is_some() {
            got.unusable.push("an auth provider".into());
        }
        if auth.username.is_some() || auth.password.is_some() {
            got.unusable.push("basic authentication".into());
        }
        Ok(got)
    }
}

/// The bearer token sent to kubelets: a fixed string, or a file re-read every minute.
#[derive(Debug)]
pub(crate) struct TokenSource {
    fixed: Option<String>,
    file: Option<PathBuf>,
    cached: Mutex<Option<(Instant, Option<String>)>>,
}

impl TokenSource {
    pub(crate) fn new(options: &KubeletOptions) -> TokenSource {
        TokenSource { fixed: options.token.clone(), file: options.token_file.clone(), cached: Mutex::new(None) }
    }

    /// The token to send now, if any. An unreadable file keeps the last token read.
    pub(crate) fn get(&self) -> Option<String> {
        if let Some(t) = &self.fixed {
            return Some(t.clone());
        }
        let file = self.file.as_ref()?;
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, token)) = cached.as_ref()
            && at.elapsed() < TOKEN_FILE_PERIOD
        {
            return token.clone();
        }
        let token = match std::fs::read_to_string(file) {
            Ok(t) => Some(t.trim().to_string()).filter(|t| !t.is_empty()),
            Err(e) => {
                tracing::warn!("cannot read the kubelet bearer token from {}: {e}", file.display());
                cached.as_ref().and_then(|(_, t)| t.clone())
            }
        };
        *cached = Some((Instant::now(), token.clone()));
        token
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config() -> kube::Config {
        kube::Config::new("https://127.0.0.1:6443".parse().unwrap())
    }

    #[test]
    fn flags_win_over_the_rest_config() {
        let mut c = config();
        c.root_cert = Some(vec![vec![1, 2, 3]]);
        c.auth_info.token = Some("from-config".to_string().into());
        let mut o = KubeletOptions { certificate_authority: Some("/ca.crt".into()), token: Some("flag".into()), ..Default::default() };
        let got = o.inherit_rest_config(&c).unwrap();
        assert_eq!(o.certificate_authority.as_deref(), Some(Path::new("/ca.crt")));
        assert!(o.certificate_authority_der.is_empty());
        assert_eq!(o.token.as_deref(), Some("flag"));
        assert!(!got.certificate_authority && !got.token);
    }

    #[test]
    fn inline_data_is_decoded() {
        let mut c = config();
        c.root_cert = Some(vec![vec![9]]);
        c.auth_info.client_certificate_data = Some(base64::engine::general_purpose::STANDARD.encode("CERT"));
        c.auth_info.client_key_data = Some(base64::engine::general_purpose::STANDARD.encode("KEY").into());
        c.auth_info.token_file = Some("/token".into());
        let mut o = KubeletOptions::default();
        let got = o.inherit_rest_config(&c).unwrap();
        assert_eq!(o.certificate_authority_der, vec![vec![9]]);
        assert_eq!(o.client_identity_pem, Some(ClientIdentity { cert_pem: b"CERT".to_vec(), key_pem: b"KEY".to_vec() }));
        assert_eq!(o.token_file.as_deref(), Some(Path::new("/token")));
        assert!(got.certificate_authority && got.client_certificate && got.token);
    }

    #[test]
    fn insecure_kubeconfig_turns_verification_off_unless_a_ca_flag_is_given() {
        let mut c = config();
        c.accept_invalid_certs = true;
        let mut o = KubeletOptions::default();
        assert!(o.inherit_rest_config(&c).unwrap().insecure);
        assert!(o.insecure_tls);
        let mut o = KubeletOptions { certificate_authority: Some("/ca".into()), ..Default::default() };
        o.inherit_rest_config(&c).unwrap();
        assert!(!o.insecure_tls);
    }

    #[test]
    fn a_certificate_without_its_key_is_an_error() {
        let mut c = config();
        c.auth_info.client_certificate_data = Some(base64::engine::general_purpose::STANDARD.encode("CERT"));
        assert!(KubeletOptions::default().inherit_rest_config(&c).is_err());
    }

    #[test]
    fn token_file_is_reread_and_trimmed() {
        let dir = std::env::temp_dir().join(format!("km-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "abc\n").unwrap();
        let src = TokenSource::new(&KubeletOptions { token_file: Some(file.clone()), ..Default::default() });
        assert_eq!(src.get().as_deref(), Some("abc"));
        std::fs::remove_dir_all(&dir).unwrap();
        // Within the period, and after the file is gone, the last token stays.
        assert_eq!(src.get().as_deref(), Some("abc"));
    }
}
