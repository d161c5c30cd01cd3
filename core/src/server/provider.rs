//! What the server serves from: a [`MetricsProvider`] (the collector, or anything else).

use crate::metrics::{NodeMetrics, PodMetrics};
use crate::store::{ServedNode, ServedPod};
use std::sync::Arc;

/// A consistent view of all metrics, built once per collection cycle.
///
/// Nodes are sorted by name and pods by namespace then name, as metrics-server lists them (build
/// one with [`MetricsSnapshot::sorted`] unless the data is already in that order);
/// labels are already copied from the Node and Pod objects.
#[derive(Debug, Clone, Default)]
pub struct MetricsSnapshot {
    /// Node metrics, by name, in the compact form served.
    pub nodes: Vec<ServedNode>,
    /// Pod metrics, by namespace and name, in the compact form served.
    pub pods: Vec<ServedPod>,
}

impl MetricsSnapshot {
    /// A snapshot of `nodes` and `pods` in any order, sorted as the server needs them (it
    /// looks objects up by binary search).
    pub fn sorted(nodes: Vec<NodeMetrics>, pods: Vec<PodMetrics>) -> MetricsSnapshot {
        let mut nodes: Vec<ServedNode> = nodes.iter().map(ServedNode::from).collect();
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        let mut pods: Vec<ServedPod> = pods.iter().map(ServedPod::from).collect();
        pods.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        MetricsSnapshot { nodes, pods }
    }
}

/// The source the metrics server answers from, plus the state its health checks report.
pub trait MetricsProvider: Send + Sync + 'static {
    /// The latest snapshot.
    fn snapshot(&self) -> Arc<MetricsSnapshot>;
    /// `true` once a full collection cycle stored data (`metric-storage-ready`).
    fn storage_ready(&self) -> bool;
    /// `true` while the collection loop keeps ticking (`metric-collection-timely`): catches a
    /// stuck scheduler, not slow kubelets.
    fn collection_timely(&self) -> bool;
    /// `true` once Node and Pod listings are synced (`informer-sync`, `metadata-informer-sync`).
    fn informers_synced(&self) -> bool {
        true
    }
}

/// A fixed snapshot, for tests and for serving data computed elsewhere.
#[derive(Debug, Clone, Default)]
pub struct StaticProvider(pub Arc<MetricsSnapshot>);

impl MetricsProvider for StaticProvider {
    fn snapshot(&self) -> Arc<MetricsSnapshot> {
        self.0.clone()
    }
    fn storage_ready(&self) -> bool {
        !self.0.nodes.is_empty()
    }
    fn collection_timely(&self) -> bool {
        true
    }
}
