//! `top pod`.

use super::SortBy;
use crate::Quantity;
use crate::client::{Client, ListOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::metrics::table::PodMetricsTable;
use crate::metrics::{GoDuration, PodMetrics};
use serde::Serialize;
use top_pods_table::TopPodsTable;

pub(crate) mod top_pods_table;

/// What `top pod` reads and how it sorts and sums (kubectl's flags).
#[derive(Debug, Clone, Default)]
pub struct TopPodOptions {
    /// One pod by name (kubectl's `NAME` argument).
    pub name: Option<String>,
    /// `-n`: the namespace (`None`: the client's default namespace).
    pub namespace: Option<String>,
    /// `-A`: all namespaces.
    pub all_namespaces: bool,
    /// `-l`: a label selector.
    pub label_selector: Option<String>,
    /// `--field-selector`.
    pub field_selector: Option<String>,
    /// `--containers`: one row per container.
    pub containers: bool,
    /// `--sort-by`.
    pub sort_by: SortBy,
    /// `--sum`: compute the total row.
    pub sum: bool,
}

/// One container's usage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerRow {
    /// Container name.
    pub name: String,
    /// CPU usage.
    pub cpu: Quantity,
    /// Memory usage.
    pub memory: Quantity,
}

/// One pod's usage: the sum over its containers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PodRow {
    /// Namespace.
    pub namespace: String,
    /// Pod name.
    pub name: String,
    /// CPU usage, summed over containers.
    pub cpu: Quantity,
    /// Memory usage, summed over containers.
    pub memory: Quantity,
    /// Per-container usage, in kubectl's container order for the chosen sort.
    pub containers: Vec<ContainerRow>,
}

/// The result of `top pod`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopPods {
    /// Rows in kubectl's order.
    pub pods: Vec<PodRow>,
    /// Total CPU over all rows (what `--sum` prints).
    pub total_cpu: Quantity,
    /// Total memory over all rows.
    pub total_memory: Quantity,
    /// The namespace read (`None` for all namespaces).
    pub namespace: Option<String>,
}

/// Turns pod metrics into `top pod` rows, sorted and summed like kubectl.
pub fn top_pods_from(metrics: Vec<PodMetrics>, options: &TopPodOptions) -> TopPods {
    top_pods_from_table(PodMetricsTable::from_pods(&metrics), options)
}

/// Turns a [`PodMetricsTable`] into `top pod` rows, sorted and summed like kubectl (through
/// [`TopPodsTable`], which computes the order and sums once for every form of the result).
pub fn top_pods_from_table(table: PodMetricsTable, options: &TopPodOptions) -> TopPods {
    TopPodsTable::sorted(table, options).to_top_pods()
}

/// How long kubectl waits after a pod's creation before it calls missing metrics an error.
pub const METRICS_CREATION_DELAY: GoDuration = GoDuration::from_secs(120);

impl Client {
    /// `kubectl top pod`: usage of the pods of one namespace (or all), summed per pod and per
    /// container, in kubectl's order, with the total.
    ///
    /// When the Metrics API returns no pod, kubectl's rules apply: an error naming the first pod
    /// older than two minutes ("Metrics not available for pod ns/name, age: ..."), "metrics not
    /// available yet" when all are younger, and an empty result when no pod matches at all.
    pub async fn top_pods(&self, options: &TopPodOptions) -> Result<TopPods> {
        let (table, namespace) = self.read_pod_metrics_for_top(options).await?;
        let mut result = top_pods_from_table(table, options);
        result.namespace = namespace;
        Ok(result)
    }

    async fn explain_empty_pod_metrics(&self, namespace: Option<&str>, options: &TopPodOptions, list: &ListOptions) -> Result<()> {
        let pods = match &options.name {
            Some(name) => vec![self.get_pod(namespace.unwrap_or(self.default_namespace()), name).await?],
            None => self.list_pods(namespace, list).await?,
        };
        if pods.is_empty() && options.name.is_none() {
            return Ok(());
        }
        let now = jiff::Timestamp::now();
        for pod in &pods {
            if let Some(created) = &pod.metadata.creation_timestamp {
                let age = GoDuration(now.duration_since(created.0).as_nanos() as i64);
                if age > METRICS_CREATION_DELAY {
                    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
                    let name = pod.metadata.name.as_deref().unwrap_or_default();
                    return Err(Error::new(ErrorKind::MetricsUnavailable, format!("Metrics not available for pod {ns}/{name}, age: {age}")));
                }
            }
        }
        Err(Error::new(ErrorKind::MetricsUnavailable, "metrics not available yet"))
    }
}
