//! [`ConnectionSettings`]: build a client from explicit connection details, e.g. from another
//! client library's configuration (Python's `kubernetes.client.Configuration`).

use super::Client;
use crate::error::{Error, ErrorKind, Result};

/// Explicit connection details, as another Kubernetes client would hold them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// API server URL (`https://host:6443`).
    pub server: String,
    /// Bearer token.
    pub token: Option<String>,
    /// Path of a PEM file with the CA that signs the server's certificate.
    pub certificate_authority: Option<String>,
    /// Path of a PEM client certificate.
    pub client_certificate: Option<String>,
    /// Path of the PEM client key.
    pub client_key: Option<String>,
    /// Skip server certificate verification (never in production).
    pub insecure_skip_tls_verify: bool,
    /// Default namespace (`default` when unset).
    pub namespace: Option<String>,
}

impl Client {
    /// A client from explicit connection details.
    pub async fn from_settings(settings: &ConnectionSettings) -> Result<Client> {
        if settings.server.is_empty() {
            return Err(Error::new(ErrorKind::Config, "connection settings need a server URL"));
        }
        let mut cluster = serde_json::json!({ "server": settings.server });
        if let Some(ca) = &settings.certificate_authority {
            cluster["certificate-authority"] = ca.clone().into();
        }
        if settings.insecure_skip_tls_verify {
            cluster["insecure-skip-tls-verify"] = true.into();
        }
        let mut user = serde_json::json!({});
        if let Some(t) = &settings.token {
            user["token"] = t.clone().into();
        }
        if let Some(c) = &settings.client_certificate {
            user["client-certificate"] = c.clone().into();
        }
        if let Some(k) = &settings.client_key {
            user["client-key"] = k.clone().into();
        }
        let mut context = serde_json::json!({ "cluster": "c", "user": "u" });
        if let Some(ns) = &settings.namespace {
            context["namespace"] = ns.clone().into();
        }
        let doc = serde_json::json!({
            "apiVersion": "v1", "kind": "Config", "current-context": "c",
            "clusters": [{ "name": "c", "cluster": cluster }],
            "users": [{ "name": "u", "user": user }],
            "contexts": [{ "name": "c", "context": context }],
        });
        let kubeconfig: kube::config::Kubeconfig =
            serde_json::from_value(doc).map_err(|e| Error::new(ErrorKind::Config, format!("invalid connection settings: {e}")).with_source(e))?;
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .map_err(|e| Error::new(ErrorKind::Config, format!("invalid connection settings: {e}")).with_source(e))?;
        Client::from_config(config)
    }
}
