//! What the collector knows of the cluster: for each node only what scraping needs (address,
//! port, metrics path, labels, readiness) and for each pod only its labels — never whole
//! objects. Fed by watches of the API server, or set directly (simulated clusters).

use crate::store::SharedLabels;
use k8s_openapi::api::core::v1::Node;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};

/// The annotation that overrides the kubelet path scraped for a node.
pub const RESOURCE_METRICS_PATH_ANNOTATION: &str = "metrics.k8s.io/resource-metrics-path";

/// How to reach kubelets (metrics-server's `--kubelet-*` address flags).
#[derive(Debug, Clone)]
pub struct AddressOptions {
    /// `--kubelet-preferred-address-types`, in order.
    pub preferred_types: Vec<String>,
    /// `--kubelet-port`.
    pub port: u16,
    /// `--kubelet-use-node-status-port`: use `status.daemonEndpoints.kubeletEndpoint.port`.
    pub use_node_status_port: bool,
}

impl Default for AddressOptions {
    fn default() -> Self {
        AddressOptions {
            preferred_types: ["Hostname", "InternalDNS", "InternalIP", "ExternalDNS", "ExternalIP"].map(String::from).to_vec(),
            port: 10250,
            use_node_status_port: false,
        }
    }
}

/// One node, as the collector needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeTarget {
    /// Node name.
    pub name: String,
    /// `host:port` to connect to (`None`: the node has no address of a preferred type).
    pub address: Option<String>,
    /// Path of the resource metrics endpoint (`/metrics/resource` unless annotated).
    pub path: String,
    /// Node labels (served with the node's metrics; shared with every snapshot).
    pub labels: SharedLabels,
    /// `Ready` condition is `True`.
    pub ready: bool,
}

impl NodeTarget {
    /// Extracts what scraping needs from a Node object.
    pub fn from_node(node: &Node, options: &AddressOptions) -> NodeTarget {
        let name = node.metadata.name.clone().unwrap_or_default();
        let status = node.status.as_ref();
        let addresses = status.and_then(|s| s.addresses.as_ref());
        let host = options.preferred_types.iter().find_map(|t| addresses.and_then(|a| a.iter().find(|x| &x.type_ == t)).map(|x| x.address.clone()));
        let status_port = status.and_then(|s| s.daemon_endpoints.as_ref()).and_then(|d| d.kubelet_endpoint.as_ref()).map(|e| e.port);
        let port = if options.use_node_status_port { status_port.map(|p| p as u16).filter(|p| *p != 0).unwrap_or(options.port) } else { options.port };
        let address = host.map(|h| if h.contains(':') { format!("[{h}]:{port}") } else { format!("{h}:{port}") });
        let path = node
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(RESOURCE_METRICS_PATH_ANNOTATION))
            .cloned()
            .unwrap_or_else(|| "/metrics/resource".to_string());
        let ready = status.and_then(|s| s.conditions.as_ref()).and_then(|c| c.iter().find(|c| c.type_ == "Ready")).is_some_and(|c| c.status == "True");
        NodeTarget { name, address, path, labels: Arc::new(node.metadata.labels.clone().unwrap_or_default()), ready }
    }
}

/// The labels of every tracked pod, by namespace and name: one key string per pod
/// (`namespace/name`; a namespace has no `/`) and a label set shared with its replicas.
#[derive(Debug, Default)]
pub struct PodLabels(HashMap<Box<str>, SharedLabels>);

fn pod_key(namespace: &str, name: &str) -> Box<str> {
    let mut key = String::with_capacity(namespace.len() + 1 + name.len());
    key.push_str(namespace);
    key.push('/');
    key.push_str(name);
    key.into_boxed_str()
}

impl PodLabels {
    /// The labels of a pod (`None`: not tracked, i.e. deleted or not running). `scratch` is
    /// reused between calls to build the key without allocating.
    pub fn get(&self, namespace: &str, name: &str, scratch: &mut String) -> Option<&SharedLabels> {
        scratch.clear();
        scratch.push_str(namespace);
        scratch.push('/');
        scratch.push_str(name);
        self.0.get(scratch.as_str())
    }

    /// How many pods are tracked.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `true` when no pod is tracked.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Shared, compact view of nodes and pod labels.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    inner: Arc<RwLock<InventoryState>>,
    generation: Arc<std::sync::atomic::AtomicU64>,
}

#[derive(Debug, Default)]
struct InventoryState {
    /// Shared with the scrape cycles (each holds the list for its duration).
    nodes: BTreeMap<String, Arc<NodeTarget>>,
    /// Labels of each pod; `None` when pods are not tracked (no filtering then).
    pods: Option<PodLabels>,
    label_sets: LabelSets,
    nodes_synced: bool,
    pods_synced: bool,
}

/// Every distinct label set, shared by the pods that carry it: the replicas of a workload have
/// identical labels, so a cluster has far fewer label sets than pods.
#[derive(Debug, Default)]
struct LabelSets {
    sets: HashSet<SharedLabels>,
    /// Size of `sets` after its last pruning (pruning again at twice that is amortized O(1)).
    kept: usize,
}

impl LabelSets {
    /// The shared copy of `labels`. Sets no pod uses any more are dropped now and then.
    fn shared(&mut self, labels: BTreeMap<String, String>) -> SharedLabels {
        if let Some(existing) = self.sets.get(&labels) {
            return existing.clone();
        }
        if self.sets.len() >= 1024.max(2 * self.kept) {
            self.sets.retain(|l| Arc::strong_count(l) > 1);
            self.kept = self.sets.len();
        }
        let labels = Arc::new(labels);
        self.sets.insert(labels.clone());
        labels
    }
}

/// A relist of pods being gathered: each pod's key and shared labels as it arrives, so a list of
/// millions of pods never holds a label map per pod.
#[derive(Debug, Default)]
pub struct PodRelist {
    pods: Vec<(Box<str>, SharedLabels)>,
    sets: LabelSets,
}

impl PodRelist {
    /// Adds a pod.
    pub fn push(&mut self, namespace: &str, name: &str, labels: BTreeMap<String, String>) {
        let labels = self.sets.shared(labels);
        self.pods.push((pod_key(namespace, name), labels));
    }
}

impl Inventory {
    /// An empty inventory that does not track pods.
    pub fn new() -> Inventory {
        Inventory::default()
    }

    /// Every change bumps the generation (so served snapshots follow deletions at once).
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, InventoryState> {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A counter that changes whenever the inventory does.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, InventoryState> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds or replaces a node.
    pub fn upsert_node(&self, node: NodeTarget) {
        self.write().nodes.insert(node.name.clone(), Arc::new(node));
    }

    /// Removes a node.
    pub fn remove_node(&self, name: &str) {
        self.write().nodes.remove(name);
    }

    /// Replaces all nodes (a relist) and marks nodes synced.
    pub fn replace_nodes(&self, nodes: impl IntoIterator<Item = NodeTarget>) {
        let mut s = self.write();
        s.nodes = nodes.into_iter().map(|n| (n.name.clone(), Arc::new(n))).collect();
        s.nodes_synced = true;
    }

    /// Adds or replaces a pod's labels (starts tracking pods).
    pub fn upsert_pod(&self, namespace: &str, name: &str, labels: BTreeMap<String, String>) {
        let mut s = self.write();
        let labels = s.label_sets.shared(labels);
        s.pods.get_or_insert_with(PodLabels::default).0.insert(pod_key(namespace, name), labels);
    }

    /// Removes a pod.
    pub fn remove_pod(&self, namespace: &str, name: &str) {
        if let Some(p) = self.write().pods.as_mut() {
            p.0.remove(&*pod_key(namespace, name));
        }
    }

    /// Replaces all pods (a relist) and marks pods synced.
    pub fn replace_pods(&self, pods: impl IntoIterator<Item = ((String, String), BTreeMap<String, String>)>) {
        let mut relist = PodRelist::default();
        for ((ns, name), labels) in pods {
            relist.push(&ns, &name, labels);
        }
        self.finish_relist(relist);
    }

    /// Replaces all pods with a finished relist and marks pods synced.
    pub fn finish_relist(&self, relist: PodRelist) {
        let pods = PodLabels(relist.pods.into_iter().collect());
        let mut s = self.write();
        s.label_sets = relist.sets;
        s.pods = Some(pods);
        s.pods_synced = true;
    }

    /// Marks both listings synced (for inventories set directly).
    pub fn mark_synced(&self) {
        let mut s = self.write();
        s.nodes_synced = true;
        s.pods_synced = true;
    }

    /// `true` once nodes (and pods, when tracked) were listed.
    pub fn synced(&self) -> bool {
        let s = self.read();
        s.nodes_synced && (s.pods.is_none() || s.pods_synced)
    }

    /// Whether a node of that name is known (deleted nodes are not scraped any more, even when
    /// their scrape was already scheduled).
    pub fn has_node(&self, name: &str) -> bool {
        self.read().nodes.contains_key(name)
    }

    /// The current nodes, sorted by name (shared: no copy of their labels).
    pub fn nodes(&self) -> Vec<Arc<NodeTarget>> {
        self.read().nodes.values().cloned().collect()
    }

    /// Runs `f` with the node labels and pod labels (for building snapshots without copying).
    pub fn with_labels<R>(&self, f: impl FnOnce(&BTreeMap<String, Arc<NodeTarget>>, Option<&PodLabels>) -> R) -> R {
        let s = self.read();
        f(&s.nodes, s.pods.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{DaemonEndpoint, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn node(addresses: &[(&str, &str)], status_port: i32, annotation: Option<&str>) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some("n1".into()),
                annotations: annotation.map(|a| [(RESOURCE_METRICS_PATH_ANNOTATION.to_string(), a.to_string())].into()),
                ..Default::default()
            },
            status: Some(NodeStatus {
                addresses: Some(addresses.iter().map(|(t, a)| NodeAddress { type_: t.to_string(), address: a.to_string() }).collect()),
                daemon_endpoints: Some(NodeDaemonEndpoints { kubelet_endpoint: Some(DaemonEndpoint { port: status_port }) }),
                conditions: Some(vec![NodeCondition { type_: "Ready".into(), status: "True".into(), ..Default::default() }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn address_follows_preferred_types_and_ports() {
        let n = node(&[("InternalIP", "127.0.0.1"), ("Hostname", "n1.example")], 31001, None);
        let default = NodeTarget::from_node(&n, &AddressOptions::default());
        assert_eq!(default.address.as_deref(), Some("n1.example:10250"), "Hostname first in metrics-server's order");
        let ip_first = AddressOptions { preferred_types: vec!["InternalIP".into()], use_node_status_port: true, ..Default::default() };
        let t = NodeTarget::from_node(&n, &ip_first);
        assert_eq!(t.address.as_deref(), Some("127.0.0.1:31001"));
        assert!(t.ready);
        assert_eq!(t.path, "/metrics/resource");
        let v6 = NodeTarget::from_node(&node(&[("InternalIP", "::1")], 0, Some("/custom/path")), &AddressOptions { use_node_status_port: true, ..ip_first });
        assert_eq!(v6.address.as_deref(), Some("[::1]:10250"), "status port 0 falls back to --kubelet-port");
        assert_eq!(v6.path, "/custom/path");
        let none = NodeTarget::from_node(
            &node(&[("ExternalIP", "127.0.0.2")], 0, None),
            &AddressOptions { preferred_types: vec!["InternalIP".into()], ..Default::default() },
        );
        assert_eq!(none.address, None);
    }

    #[test]
    fn replicas_share_one_label_set_and_unused_sets_are_dropped() {
        let inv = Inventory::new();
        let web: BTreeMap<String, String> = [("app".to_string(), "web".to_string())].into_iter().collect();
        inv.replace_pods((0..100).map(|i| (("ns".to_string(), format!("web-{i}")), web.clone())));
        inv.upsert_pod("ns", "web-100", web.clone());
        inv.with_labels(|_, pods| {
            let pods = pods.expect("tracked");
            let first = pods.get("ns", "web-0", &mut String::new()).expect("tracked");
            assert_eq!(pods.len(), 101);
            assert!(pods.0.values().all(|l| Arc::ptr_eq(l, first)), "identical labels are one shared set");
            assert!(pods.get("ns", "web-101", &mut String::new()).is_none());
            assert_eq!(**first, web);
        });
        // Thousands of distinct sets that come and go do not pile up.
        for i in 0..5000 {
            let own: BTreeMap<String, String> = [("pod".to_string(), i.to_string())].into_iter().collect();
            inv.upsert_pod("ns", "churn", own);
        }
        let sets = inv.read().label_sets.sets.len();
        assert!(sets < 2100, "{sets} label sets kept for 2 live ones");
    }
}
