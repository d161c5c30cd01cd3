//! Metrics without a metrics server: read each kubelet's `/metrics/resource` through the API
//! server's node proxy, twice, and compute `NodeMetrics`/`PodMetrics` with the same parser and
//! store `kubemetrics serve` uses — same numbers and types as the Metrics API would give.
//! For kubeadm clusters, which ship without metrics-server.

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::metrics::{NodeMetrics, PodMetrics};
use crate::scrape::{from_timestamp, parse_metrics_resource};
use crate::store::{MetricsStore, StoreConfig};
use std::time::{Duration, Instant};

/// How to sample kubelets directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KubeletSource {
    /// Wait between polls for a kubelet's next sample (kubelets refresh their counters every
    /// 10–15 s, so a rate needs two samples that far apart).
    pub poll_interval: Duration,
    /// Give up on nodes whose counters have not moved after this long.
    pub timeout: Duration,
}

impl Default for KubeletSource {
    fn default() -> Self {
        KubeletSource { poll_interval: Duration::from_secs(2), timeout: Duration::from_secs(40) }
    }
}

impl Client {
    async fn kubelet_sample(&self, store: &mut MetricsStore, node: &str) -> Result<bool> {
        let body = self.get_raw(&format!("/api/v1/nodes/{node}/proxy/metrics/resource")).await?;
        let scrape = parse_metrics_resource(body.as_bytes(), from_timestamp(jiff::Timestamp::now()))?;
        Ok(store.store(node, &scrape, jiff::Timestamp::now()).node_updated)
    }

    /// Computes node and pod metrics by reading the kubelets of `nodes` (all nodes when
    /// `None`) through the API server's node proxy until each has two samples.
    ///
    /// Nodes whose kubelet cannot be read are left out (like a metrics server would); when none
    /// can be read the error of the first one is returned.
    pub async fn metrics_from_kubelets(&self, nodes: Option<&[String]>, source: KubeletSource) -> Result<(Vec<NodeMetrics>, Vec<PodMetrics>)> {
        let names: Vec<String> = match nodes {
            Some(n) => n.to_vec(),
            None => self.list_nodes(&Default::default()).await?.into_iter().filter_map(|n| n.metadata.name).collect(),
        };
        let mut store = MetricsStore::new(StoreConfig { max_rate_window: source.timeout + Duration::from_secs(60), ..Default::default() });
        let mut first_error = None;
        let mut pending: Vec<String> = Vec::new();
        for name in &names {
            match self.kubelet_sample(&mut store, name).await {
                Ok(_) => pending.push(name.clone()),
                Err(e) => {
                    tracing::warn!(node = %name, "cannot read the kubelet through the API server: {e}");
                    first_error.get_or_insert(e);
                }
            }
        }
        if pending.is_empty() {
            return Err(first_error.unwrap_or_else(|| Error::new(ErrorKind::NotFound, "no nodes")));
        }
        let started = Instant::now();
        while !pending.is_empty() && started.elapsed() < source.timeout {
            tokio::time::sleep(source.poll_interval).await;
            let now = jiff::Timestamp::now();
            let have: Vec<String> = store.node_metrics(None, now).into_iter().map(|n| n.name().to_string()).collect();
            pending.retain(|n| !have.contains(n));
            for name in pending.clone() {
                if let Err(e) = self.kubelet_sample(&mut store, &name).await {
                    tracing::warn!(node = %name, "second sample failed: {e}");
                    pending.retain(|n| n != &name);
                }
            }
        }
        let now = jiff::Timestamp::now();
        let mut node_metrics = store.node_metrics(None, now);
        let pods = store.pod_metrics(None, now);
        if node_metrics.is_empty() {
            return Err(Error::new(ErrorKind::MetricsUnavailable, "metrics not available yet: the kubelets' counters did not advance within the timeout"));
        }
        // Labels as a metrics server would copy them.
        if let Ok(node_objects) = self.list_nodes(&Default::default()).await {
            for m in &mut node_metrics {
                if let Some(n) = node_objects.iter().find(|n| n.metadata.name.as_deref() == Some(m.name())) {
                    m.metadata.labels = n.metadata.labels.clone();
                }
            }
        }
        Ok((node_metrics, pods))
    }
}

impl Client {
    /// [`top_nodes`](Client::top_nodes) computed from the kubelets (see
    /// [`metrics_from_kubelets`](Client::metrics_from_kubelets)) instead of the Metrics API.
    pub async fn top_nodes_from_kubelets(&self, options: &crate::top::TopNodeOptions, source: KubeletSource) -> Result<Vec<crate::top::NodeRow>> {
        let selector = crate::client::ListOptions { label_selector: options.label_selector.clone(), field_selector: None };
        let nodes = match &options.name {
            Some(name) => vec![self.get_node(name).await?],
            None => self.list_nodes(&selector).await?,
        };
        let names: Vec<String> = nodes.iter().filter_map(|n| n.metadata.name.clone()).collect();
        let (metrics, _) = self.metrics_from_kubelets(Some(&names), source).await?;
        Ok(crate::top::top_nodes_from(metrics, &nodes, options))
    }

    /// [`top_pods`](Client::top_pods) computed from the kubelets instead of the Metrics API.
    pub async fn top_pods_from_kubelets(&self, options: &crate::top::TopPodOptions, source: KubeletSource) -> Result<crate::top::TopPods> {
        let namespace = if options.all_namespaces { None } else { Some(options.namespace.clone().unwrap_or_else(|| self.default_namespace().to_string())) };
        let list = crate::client::ListOptions { label_selector: options.label_selector.clone(), field_selector: options.field_selector.clone() };
        let pods = match &options.name {
            Some(name) => vec![self.get_pod(namespace.as_deref().unwrap_or(self.default_namespace()), name).await?],
            None => self.list_pods(namespace.as_deref(), &list).await?,
        };
        let mut nodes: Vec<String> = pods.iter().filter_map(|p| p.spec.as_ref()?.node_name.clone()).collect();
        nodes.sort();
        nodes.dedup();
        let (_, mut metrics) = if nodes.is_empty() { (Vec::new(), Vec::new()) } else { self.metrics_from_kubelets(Some(&nodes), source).await? };
        metrics.retain(|m| pods.iter().any(|p| p.metadata.namespace.as_deref() == Some(m.namespace()) && p.metadata.name.as_deref() == Some(m.name())));
        for m in &mut metrics {
            if let Some(p) = pods.iter().find(|p| p.metadata.namespace.as_deref() == Some(m.namespace()) && p.metadata.name.as_deref() == Some(m.name())) {
                m.metadata.labels = p.metadata.labels.clone();
            }
        }
        let mut result = crate::top::top_pods_from(metrics, options);
        result.namespace = namespace;
        Ok(result)
    }
}
