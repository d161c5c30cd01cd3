//! [`ServeConfig`]: the serving and authentication settings of `kubemetrics serve`, named after
//! metrics-server's flags, turned into [`ServerOptions`]. The CLI and the bindings (custom
//! metrics servers written in Python or Node) share it.

use super::{AuthOptions, ServerOptions, ServingCert};
use crate::error::{Error, ErrorKind, Result};
use k8s_openapi::api::core::v1::ConfigMap;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Serving settings, with metrics-server's flag names (`bind_address` is `--bind-address`).
///
/// When neither `client_ca_file` nor `requestheader_client_ca_file` is set, the CAs, allowed
/// names and headers are read from the `kube-system/extension-apiserver-authentication`
/// ConfigMap, as every aggregated API server does (the `extension-apiserver-authentication-reader`
/// Role grants that read).
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// `--bind-address` (default `0.0.0.0`).
    pub bind_address: IpAddr,
    /// `--secure-port` (0 picks a free port).
    pub secure_port: u16,
    /// `--cert-dir`: where a self-signed pair is written when no files are given.
    pub cert_dir: PathBuf,
    /// `--tls-cert-file`.
    pub tls_cert_file: Option<PathBuf>,
    /// `--tls-private-key-file`.
    pub tls_private_key_file: Option<PathBuf>,
    /// `--client-ca-file`.
    pub client_ca_file: Option<PathBuf>,
    /// `--requestheader-client-ca-file`.
    pub requestheader_client_ca_file: Option<PathBuf>,
    /// `--requestheader-allowed-names` (empty: any name signed by the requestheader CA).
    pub requestheader_allowed_names: Vec<String>,
    /// `--requestheader-username-headers`.
    pub requestheader_username_headers: Vec<String>,
    /// `--requestheader-group-headers`.
    pub requestheader_group_headers: Vec<String>,
    /// `--requestheader-extra-headers-prefix`.
    pub requestheader_extra_headers_prefix: Vec<String>,
    /// `--authorization-always-allow-paths`.
    pub authorization_always_allow_paths: Vec<String>,
    /// `--anonymous-auth` (off: anonymous requests get 401).
    pub anonymous_auth: bool,
    /// Authorize every authenticated user without SubjectAccessReview (local testing only).
    pub authorization_always_allow_authenticated: bool,
    /// `--max-requests-inflight` (0: unlimited).
    pub max_requests_inflight: usize,
    /// `--request-timeout`.
    pub request_timeout: Duration,
}

impl Default for ServeConfig {
    fn default() -> ServeConfig {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        ServeConfig {
            bind_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            secure_port: 10250,
            cert_dir: PathBuf::from("apiserver.local.config/certificates"),
            tls_cert_file: None,
            tls_private_key_file: None,
            client_ca_file: None,
            requestheader_client_ca_file: None,
            requestheader_allowed_names: Vec::new(),
            requestheader_username_headers: strings(&["x-remote-user"]),
            requestheader_group_headers: strings(&["x-remote-group"]),
            requestheader_extra_headers_prefix: strings(&["x-remote-extra-"]),
            authorization_always_allow_paths: strings(&["/healthz", "/readyz", "/livez"]),
            anonymous_auth: false,
            authorization_always_allow_authenticated: false,
            max_requests_inflight: 400,
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// A comma-separated flag's values, trimmed, empty ones dropped.
pub fn flag_list(items: &[String]) -> Vec<String> {
    items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn certs(path: &Option<PathBuf>) -> Result<Vec<CertificateDer<'static>>> {
    path.as_deref().map(super::tls::read_certs).transpose().map(Option::unwrap_or_default)
}

impl ServeConfig {
    /// The [`ServerOptions`] these settings describe. `kube` (the cluster the server belongs to)
    /// is asked for `kube-system/extension-apiserver-authentication` when no client CA is
    /// configured; a cluster without it leaves client certificates disabled (tokens still work).
    pub async fn server_options(&self, kube: Option<&kube::Client>) -> Result<ServerOptions> {
        let serving = match (&self.tls_cert_file, &self.tls_private_key_file) {
            (Some(cert), Some(key)) => ServingCert::Files { cert: cert.clone(), key: key.clone() },
            (None, None) => ServingCert::SelfSigned {
                dir: self.cert_dir.clone(),
                names: vec!["localhost".into(), "127.0.0.1".into(), "metrics-server.kube-system.svc".into()],
            },
            _ => return Err(Error::new(ErrorKind::Config, "--tls-cert-file and --tls-private-key-file must be given together")),
        };
        let mut auth = AuthOptions {
            client_ca: certs(&self.client_ca_file)?,
            requestheader_ca: certs(&self.requestheader_client_ca_file)?,
            requestheader_allowed_names: flag_list(&self.requestheader_allowed_names),
            username_headers: flag_list(&self.requestheader_username_headers),
            group_headers: flag_list(&self.requestheader_group_headers),
            extra_headers_prefix: flag_list(&self.requestheader_extra_headers_prefix),
            always_allow_paths: flag_list(&self.authorization_always_allow_paths),
            anonymous: self.anonymous_auth,
            always_allow_authenticated: self.authorization_always_allow_authenticated,
        };
        if auth.client_ca.is_empty() && auth.requestheader_ca.is_empty() {
            if let Some(kube) = kube {
                fill_from_cluster(&mut auth, kube).await?;
            }
        }
        Ok(ServerOptions {
            address: SocketAddr::new(self.bind_address, self.secure_port),
            serving,
            auth,
            max_requests_inflight: self.max_requests_inflight,
            request_timeout: self.request_timeout,
        })
    }
}

/// Fills the client CAs and request-header settings from
/// `kube-system/extension-apiserver-authentication`, as Kubernetes' delegated authentication does.
async fn fill_from_cluster(auth: &mut AuthOptions, kube: &kube::Client) -> Result<()> {
    let api: kube::Api<ConfigMap> = kube::Api::namespaced(kube.clone(), "kube-system");
    let cm = match api.get_opt("extension-apiserver-authentication").await {
        Ok(Some(cm)) => cm,
        Ok(None) => {
            tracing::warn!("kube-system/extension-apiserver-authentication not found: client certificates (and the aggregator's front proxy) are not accepted");
            return Ok(());
        }
        Err(e) => {
            let e = crate::error::from_kube(e, "the cluster");
            tracing::warn!(
                "cannot read kube-system/extension-apiserver-authentication ({e}): client certificates are not accepted; \
                 bind the extension-apiserver-authentication-reader Role to this service account or pass --requestheader-client-ca-file"
            );
            return Ok(());
        }
    };
    let data = cm.data.unwrap_or_default();
    let pem = |key: &str| -> Result<Vec<CertificateDer<'static>>> {
        let Some(text) = data.get(key) else { return Ok(Vec::new()) };
        CertificateDer::pem_slice_iter(text.as_bytes())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::new(ErrorKind::Config, format!("invalid PEM in extension-apiserver-authentication {key}: {e}")))
    };
    let json_list = |key: &str| -> Vec<String> { data.get(key).and_then(|v| serde_json::from_str::<Vec<String>>(v).ok()).unwrap_or_default() };
    auth.client_ca = pem("client-ca-file")?;
    auth.requestheader_ca = pem("requestheader-client-ca-file")?;
    auth.requestheader_allowed_names = json_list("requestheader-allowed-names");
    for (key, field) in [
        ("requestheader-username-headers", &mut auth.username_headers),
        ("requestheader-group-headers", &mut auth.group_headers),
        ("requestheader-extra-headers-prefix", &mut auth.extra_headers_prefix),
    ] {
        let v = json_list(key);
        if !v.is_empty() {
            *field = v;
        }
    }
    tracing::info!(
        client_cas = auth.client_ca.len(),
        requestheader_cas = auth.requestheader_ca.len(),
        allowed_names = ?auth.requestheader_allowed_names,
        "client CAs read from kube-system/extension-apiserver-authentication"
    );
    Ok(())
}
