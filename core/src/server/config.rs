//! [`ServeConfig`]: the serving and authentication settings of `kubemetrics serve`, named after
//! metrics-server's flags, turned into [`ServerOptions`]. The CLI and the bindings (custom
//! metrics servers written in Python or Node) share it.

use super::{AuthOptions, HttpOptions, ServerOptions, ServingCert, TlsOptions};
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
    /// `--client-ca-file`: read into `auth.client_ca`.
    pub client_ca_file: Option<PathBuf>,
    /// `--requestheader-client-ca-file`: read into `auth.requestheader_ca`.
    pub requestheader_client_ca_file: Option<PathBuf>,
    /// `--requestheader-allowed-names`, `--requestheader-username-headers`,
    /// `--requestheader-group-headers`, `--requestheader-extra-headers-prefix`,
    /// `--authorization-always-allow-paths` and `--anonymous-auth` (list items are trimmed and
    /// empty ones dropped). Its CA lists, when empty, are read from the two files above or from
    /// the cluster.
    pub auth: AuthOptions,
    /// `--tls-cipher-suites`, `--tls-min-version`, `--tls-curve-preferences`.
    pub tls: TlsOptions,
    /// `--cors-allowed-origins`, `--strict-transport-security-directives`,
    /// `--permit-address-sharing`, `--permit-port-sharing`, `--disable-http2-serving` and
    /// `--http2-max-streams-per-connection`. Its `external_address`, when unset, comes from
    /// `external_hostname` or `advertise_address` and the secure port.
    pub http: HttpOptions,
    /// `--advertise-address`: published in `/apis` discovery with the secure port.
    pub advertise_address: Option<IpAddr>,
    /// `--external-hostname`: published in `/apis` discovery instead of the advertise address.
    pub external_hostname: Option<String>,
    /// `--max-requests-inflight` (0: unlimited).
    pub max_requests_inflight: usize,
    /// `--request-timeout`.
    pub request_timeout: Duration,
    /// `--authentication-skip-lookup`: do not read `kube-system/extension-apiserver-authentication`.
    pub authentication_skip_lookup: bool,
    /// `--authentication-tolerate-lookup-failure`: start even when that ConfigMap cannot be read
    /// (a missing ConfigMap is never an error).
    pub authentication_tolerate_lookup_failure: bool,
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
            auth: AuthOptions {
                username_headers: strings(&["x-remote-user"]),
                group_headers: strings(&["x-remote-group"]),
                extra_headers_prefix: strings(&["x-remote-extra-"]),
                always_allow_paths: strings(&["/healthz", "/readyz", "/livez"]),
                ..AuthOptions::default()
            },
            tls: TlsOptions::default(),
            http: HttpOptions::default(),
            advertise_address: None,
            external_hostname: None,
            max_requests_inflight: 400,
            request_timeout: Duration::from_secs(60),
            authentication_skip_lookup: false,
            authentication_tolerate_lookup_failure: false,
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
    /// The TLS settings of these flags.
    pub fn tls_options(&self) -> TlsOptions {
        TlsOptions {
            cipher_suites: flag_list(&self.tls.cipher_suites),
            min_version: self.tls.min_version.clone(),
            curve_preferences: flag_list(&self.tls.curve_preferences),
        }
    }

    /// The CORS, HSTS, published-address and socket settings of these flags.
    pub fn http_options(&self) -> HttpOptions {
        let trimmed = |v: &[String]| v.iter().map(|s| s.trim().to_string()).collect();
        let published = || super::http_options::external_address(self.external_hostname.as_deref(), self.advertise_address, self.secure_port);
        HttpOptions {
            cors_allowed_origins: trimmed(&self.http.cors_allowed_origins),
            hsts_directives: trimmed(&self.http.hsts_directives),
            external_address: self.http.external_address.clone().or_else(published),
            ..self.http.clone()
        }
    }

    /// The authentication settings of these flags, with the CAs of the two CA files; the lists
    /// trimmed, empty items dropped.
    fn auth_options(&self) -> Result<AuthOptions> {
        let mut auth = self.auth.clone();
        if self.client_ca_file.is_some() {
            auth.client_ca = certs(&self.client_ca_file)?;
        }
        if self.requestheader_client_ca_file.is_some() {
            auth.requestheader_ca = certs(&self.requestheader_client_ca_file)?;
        }
        for list in [
            &mut auth.requestheader_allowed_names,
            &mut auth.username_headers,
            &mut auth.group_headers,
            &mut auth.extra_headers_prefix,
            &mut auth.always_allow_paths,
        ] {
            *list = flag_list(list);
        }
        Ok(auth)
    }

    /// Checks what can be checked without reading files or asking a cluster: TLS names, CORS
    /// patterns, HSTS directives, the certificate flag pair.
    pub fn validate(&self) -> Result<()> {
        if self.tls_cert_file.is_some() != self.tls_private_key_file.is_some() {
            return Err(Error::new(ErrorKind::Config, "--tls-cert-file and --tls-private-key-file must be given together"));
        }
        self.tls_options().resolve()?;
        self.http_options().validate()
    }

    /// The [`ServerOptions`] these settings describe. `kube` (the cluster the server belongs to,
    /// `--authentication-kubeconfig`) is asked for `kube-system/extension-apiserver-authentication`
    /// for whichever of `--client-ca-file` and `--requestheader-client-ca-file` is not given,
    /// unless `authentication_skip_lookup`. A missing ConfigMap leaves client certificates
    /// disabled (tokens still work); a ConfigMap that cannot be read is an error unless
    /// `authentication_tolerate_lookup_failure`, as in the Kubernetes API server library.
    pub async fn server_options(&self, kube: Option<&kube::Client>) -> Result<ServerOptions> {
        if self.tls_cert_file.is_some() != self.tls_private_key_file.is_some() {
            return Err(Error::new(ErrorKind::Config, "--tls-cert-file and --tls-private-key-file must be given together"));
        }
        let serving = match (&self.tls_cert_file, &self.tls_private_key_file) {
            (Some(cert), Some(key)) => ServingCert::Files { cert: cert.clone(), key: key.clone() },
            _ => ServingCert::SelfSigned {
                dir: self.cert_dir.clone(),
                names: vec!["localhost".into(), "127.0.0.1".into(), "metrics-server.kube-system.svc".into()],
            },
        };
        let tls = self.tls_options();
        tls.resolve()?;
        let http = self.http_options();
        http.validate()?;
        let mut auth = self.auth_options()?;
        let need_client_ca = auth.client_ca.is_empty() && self.client_ca_file.is_none();
        let need_requestheader = auth.requestheader_ca.is_empty() && self.requestheader_client_ca_file.is_none();
        if (need_client_ca || need_requestheader) && !self.authentication_skip_lookup {
            match kube {
                Some(kube) => {
                    if let Err(e) = fill_from_cluster(&mut auth, kube, need_client_ca, need_requestheader).await {
                        if !self.authentication_tolerate_lookup_failure {
                            return Err(e);
                        }
                        tracing::warn!("{e}");
                        tracing::warn!("continuing without the in-cluster authentication configuration (--authentication-tolerate-lookup-failure)");
                    }
                }
                None => tracing::warn!(
                    "no cluster to read kube-system/extension-apiserver-authentication from: client certificates are accepted only from --client-ca-file and --requestheader-client-ca-file"
                ),
            }
        }
        Ok(ServerOptions {
            address: SocketAddr::new(self.bind_address, self.secure_port),
            serving,
            auth,
            max_requests_inflight: self.max_requests_inflight,
            request_timeout: self.request_timeout,
            tls,
            http,
        })
    }
}

/// Fills the client CA (`client_ca`) and the request-header settings (`requestheader`) from
/// `kube-system/extension-apiserver-authentication`, as Kubernetes' delegated authentication does.
/// A missing ConfigMap is not an error; one that cannot be read is.
async fn fill_from_cluster(auth: &mut AuthOptions, kube: &kube::Client, client_ca: bool, requestheader: bool) -> Result<()> {
    let api: kube::Api<ConfigMap> = kube::Api::namespaced(kube.clone(), "kube-system");
    let cm = match api.get_opt("extension-apiserver-authentication").await {
        Ok(Some(cm)) => cm,
        Ok(None) => {
            tracing::warn!("kube-system/extension-apiserver-authentication not found: client certificates (and the aggregator's front proxy) are not accepted");
            return Ok(());
        }
        Err(e) => {
            let e = crate::error::from_kube(e, "the cluster");
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "cannot read kube-system/extension-apiserver-authentication ({e}): bind the extension-apiserver-authentication-reader Role \
                     to this service account, pass --client-ca-file and --requestheader-client-ca-file, \
                     or set --authentication-tolerate-lookup-failure (or --authentication-skip-lookup) to start without it"
                ),
            ));
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
    if client_ca {
        auth.client_ca = pem("client-ca-file")?;
    }
    if requestheader {
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
    }
    tracing::info!(
        client_cas = auth.client_ca.len(),
        requestheader_cas = auth.requestheader_ca.len(),
        allowed_names = ?auth.requestheader_allowed_names,
        "client CAs read from kube-system/extension-apiserver-authentication"
    );
    Ok(())
}
