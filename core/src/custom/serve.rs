//! Starting a custom/external metrics server from providers: what the bindings call with
//! providers written in Python or Node.

use super::{CustomMetricsProvider, ExternalMetricsProvider};
use crate::error::Result;
use crate::server::{CustomMetrics, MetricsServer, ServeConfig};
use std::path::Path;
use std::sync::Arc;

/// Serves `custom.metrics.k8s.io` (v1beta1, v1beta2) from `custom` and/or
/// `external.metrics.k8s.io` from `external` over HTTPS, with the delegated authentication and
/// authorization of `kubemetrics serve`, until the returned server is shut down or dropped.
///
/// `kubeconfig` names the cluster asked for TokenReviews, SubjectAccessReviews and
/// `kube-system/extension-apiserver-authentication`; `None` infers it (in-cluster, then
/// `KUBECONFIG` / `~/.kube/config`). Provider calls that take longer than
/// [`PROVIDER_TIMEOUT`](crate::custom::PROVIDER_TIMEOUT) are answered 504; provider errors
/// become Kubernetes `Status` responses (`NotFound` 404, `Config` 400, others 500).
pub async fn serve(
    config: &ServeConfig,
    kubeconfig: Option<&Path>,
    custom: Option<Arc<dyn CustomMetricsProvider>>,
    external: Option<Arc<dyn ExternalMetricsProvider>>,
) -> Result<MetricsServer> {
    let client = match kubeconfig {
        Some(p) => crate::Client::from_kubeconfig(Some(p), None).await?,
        None => crate::Client::try_default().await?,
    };
    let kube = client.kube_client().clone();
    let options = config.server_options(Some(&kube)).await?;
    MetricsServer::start_custom_only(options, Some(kube), CustomMetrics { custom, external, push: None }).await
}
