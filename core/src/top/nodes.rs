//! `top node`.

use super::{SortBy, gosort, kubectl_percent};
use crate::Quantity;
use crate::client::{Client, ListOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::metrics::NodeMetrics;
use k8s_openapi::api::core::v1::Node;
use serde::Serialize;

/// What `top node` reads and how it sorts (kubectl's flags).
#[derive(Debug, Clone, Default)]
pub struct TopNodeOptions {
    /// One node by name (kubectl's `NAME` argument).
    pub name: Option<String>,
    /// `-l`: a label selector.
    pub label_selector: Option<String>,
    /// `--show-capacity`: percentages of capacity instead of allocatable.
    pub show_capacity: bool,
    /// `--sort-by`.
    pub sort_by: SortBy,
}

/// One row of `top node`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeRow {
    /// Node name.
    pub name: String,
    /// CPU usage (`None`: the node reported no metrics, kubectl's `<unknown>`).
    pub cpu: Option<Quantity>,
    /// Memory usage (`None`: no metrics).
    pub memory: Option<Quantity>,
    /// CPU allocatable (or capacity), if the Node object states it.
    pub cpu_available: Option<Quantity>,
    /// Memory allocatable (or capacity), if the Node object states it.
    pub memory_available: Option<Quantity>,
    /// CPU usage in percent of `cpu_available`, truncated like kubectl.
    pub cpu_percent: Option<i64>,
    /// Memory usage in percent of `memory_available`, truncated like kubectl.
    pub memory_percent: Option<i64>,
}

impl NodeRow {
    /// `true` when the node reported metrics.
    pub fn has_metrics(&self) -> bool {
        self.cpu.is_some()
    }
}

/// Joins node metrics with Node objects the way `kubectl top node` does: metrics rows first,
/// in `sort_by` order, then one row per Node without metrics (by name).
pub fn top_nodes_from(mut metrics: Vec<NodeMetrics>, nodes: &[Node], options: &TopNodeOptions) -> Vec<NodeRow> {
    let less: Box<dyn Fn(&NodeMetrics, &NodeMetrics) -> bool> = match options.sort_by {
        SortBy::Cpu => Box::new(|a, b| milli(a, "cpu") > milli(b, "cpu")),
        SortBy::Memory => Box::new(|a, b| value(a, "memory") > value(b, "memory")),
        SortBy::Name => Box::new(|a, b| a.name() < b.name()),
    };
    gosort::sort(&mut metrics, |a, b| less(a, b));
    let available = |name: &str, resource: &str| -> Option<Quantity> {
        let status = nodes.iter().find(|n| n.metadata.name.as_deref() == Some(name))?.status.as_ref()?;
        let list = if options.show_capacity { status.capacity.as_ref() } else { status.allocatable.as_ref() }?;
        list.get(resource).and_then(|q| Quantity::parse(&q.0).ok())
    };
    let mut rows: Vec<NodeRow> = metrics
        .iter()
        .map(|m| {
            let cpu = m.usage.get("cpu").copied().unwrap_or_default();
            let memory = m.usage.get("memory").copied().unwrap_or_default();
            let cpu_available = available(m.name(), "cpu");
            let memory_available = available(m.name(), "memory");
            NodeRow {
                name: m.name().to_string(),
                cpu_percent: cpu_available.as_ref().map(|a| kubectl_percent(&cpu, a)),
                memory_percent: memory_available.as_ref().map(|a| kubectl_percent(&memory, a)),
                cpu: Some(cpu),
                memory: Some(memory),
                cpu_available,
                memory_available,
            }
        })
        .collect();
    let mut missing: Vec<&str> = nodes.iter().filter_map(|n| n.metadata.name.as_deref()).filter(|name| !metrics.iter().any(|m| m.name() == *name)).collect();
    missing.sort_unstable();
    missing.dedup();
    rows.extend(missing.into_iter().map(|name| NodeRow {
        name: name.to_string(),
        cpu: None,
        memory: None,
        cpu_available: available(name, "cpu"),
        memory_available: available(name, "memory"),
        cpu_percent: None,
        memory_percent: None,
    }));
    rows
}

fn milli(m: &NodeMetrics, resource: &str) -> i128 {
    m.usage.get(resource).and_then(Quantity::milli_value).unwrap_or(0)
}

fn value(m: &NodeMetrics, resource: &str) -> i128 {
    m.usage.get(resource).and_then(Quantity::value).unwrap_or(0)
}

impl Client {
    /// `kubectl top node`: usage, allocatable (or capacity) and percentages of every node
    /// (or one), nodes without metrics included as rows without usage.
    ///
    /// Errors: [`ErrorKind::MetricsUnavailable`] when no Metrics API is served or it returned no
    /// node ("metrics not available yet"); [`ErrorKind::NotFound`] for an unknown node name.
    pub async fn top_nodes(&self, options: &TopNodeOptions) -> Result<Vec<NodeRow>> {
        self.metrics_api_version().await?;
        let selector = ListOptions { label_selector: options.label_selector.clone(), field_selector: None };
        let metrics = match &options.name {
            Some(name) => vec![self.get_node_metrics(name).await?],
            None => self.list_node_metrics(&selector).await?,
        };
        if metrics.is_empty() {
            return Err(Error::new(ErrorKind::MetricsUnavailable, "metrics not available yet"));
        }
        let nodes = match &options.name {
            Some(name) => vec![self.get_node(name).await?],
            None => self.list_nodes(&selector).await?,
        };
        Ok(top_nodes_from(metrics, &nodes, options))
    }
}
