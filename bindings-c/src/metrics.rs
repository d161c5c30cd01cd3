//! `metrics.k8s.io` objects: `km_node_metrics`, `km_pod_metrics`, `km_container_metrics` and
//! their lists, with C strings and quantities prepared once when the handle is made.

use crate::error::{Failure, km_status};
use crate::ffi::{Borrowed, arg, arg_str, at, borrowed_str, count, cstring, entry, free, handle, no_nul, string_pairs};
use crate::quantity::km_quantity;
use kubemetrics::metrics::Time;
use kubemetrics::metrics::Usage;
use kubemetrics::{ErrorKind, NodeMetrics, PodMetrics};
use std::ffi::{CString, c_char};
use std::ops::Range;

/// Usage by resource name, in resource-name order.
#[derive(Debug)]
pub(crate) struct UsageTable(Vec<(CString, km_quantity)>);

impl UsageTable {
    fn new(usage: &Usage) -> Result<UsageTable, Failure> {
        usage.iter().map(|(name, q)| Ok((cstring(name, "a resource name")?, km_quantity::new(*q)))).collect::<Result<_, _>>().map(UsageTable)
    }

    fn get(&self, resource: &str, owner: &str) -> Result<&km_quantity, Failure> {
        self.0
            .iter()
            .find(|(name, _)| name.to_bytes() == resource.as_bytes())
            .map(|(_, q)| q)
            .ok_or_else(|| Failure::kind(ErrorKind::NotFound, format!("{owner} reports no usage of \"{resource}\"")))
    }
}

/// Labels, in key order.
#[derive(Debug)]
pub(crate) struct LabelTable(Vec<(CString, CString)>);

impl LabelTable {
    fn new(labels: Option<&std::collections::BTreeMap<String, String>>) -> Result<LabelTable, Failure> {
        string_pairs(labels.into_iter().flatten(), "a label").map(LabelTable)
    }

    fn get(&self, key: &str, owner: &str) -> Result<&CString, Failure> {
        self.0
            .iter()
            .find(|(k, _)| k.to_bytes() == key.as_bytes())
            .map(|(_, v)| v)
            .ok_or_else(|| Failure::kind(ErrorKind::NotFound, format!("{owner} has no label \"{key}\"")))
    }
}

/// The RFC 3339 string of a `metav1.Time`, exactly as on the wire (`2024-01-01T00:09:50Z`).
fn wire_time(t: &Time) -> Result<String, Failure> {
    match serde_json::to_value(t) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(Failure::kind(ErrorKind::Internal, format!("cannot format the timestamp {}", t.0))),
    }
}

/// The resource usage of one node (`metrics.k8s.io` `NodeMetrics`): name, labels (copied from the
/// Node), timestamp (the end of the interval the usage was measured over), window (the length of
/// that interval) and usage by resource name (CPU in cores, memory in bytes).
///
/// Owned when returned by `km_client_get_node_metrics` (free with `km_node_metrics_free`);
/// borrowed when returned by `km_node_metrics_list_get` (valid until the list is freed).
/// Strings and quantities from its accessors are borrowed from it: valid until it is freed.
#[derive(Debug)]
pub struct km_node_metrics {
    metrics: NodeMetrics,
    name: CString,
    timestamp: CString,
    usage: UsageTable,
    labels: LabelTable,
}

impl km_node_metrics {
    pub(crate) fn new(metrics: NodeMetrics) -> Result<km_node_metrics, Failure> {
        Ok(km_node_metrics {
            name: cstring(metrics.name(), "a node name")?,
            timestamp: cstring(&wire_time(&metrics.timestamp)?, "a timestamp")?,
            usage: UsageTable::new(&metrics.usage)?,
            labels: LabelTable::new(metrics.metadata.labels.as_ref())?,
            metrics,
        })
    }

    fn owner(&self) -> String {
        format!("node {}", self.metrics.name())
    }
}

/// A list of node metrics, in the order the server listed them.
///
/// Owned (from `km_client_list_node_metrics`): free with `km_node_metrics_list_free`, which also
/// frees every item borrowed from it.
#[derive(Debug)]
pub struct km_node_metrics_list {
    items: Vec<km_node_metrics>,
}

impl km_node_metrics_list {
    pub(crate) fn new(items: Vec<NodeMetrics>) -> Result<km_node_metrics_list, Failure> {
        Ok(km_node_metrics_list { items: items.into_iter().map(km_node_metrics::new).collect::<Result<_, _>>()? })
    }
}

/// The resource usage of one container of a pod: its name and usage by resource name.
///
/// Always borrowed from its `km_pod_metrics` (valid until that is freed), as are the strings and
/// quantities of its accessors.
#[derive(Debug)]
pub struct km_container_metrics {
    /// This and the other strings: in the `PodStorage` of the pod (or its list).
    name: *const c_char,
    usage: Borrowed<(*const c_char, km_quantity)>,
    pod_namespace: *const c_char,
    pod_name: *const c_char,
}

impl km_container_metrics {
    /// The usage of `resource`, if the container reports it.
    fn usage(&self, resource: &str) -> Result<&km_quantity, Failure> {
        let found = self.usage.get().iter().find(|(name, _)| {
            // SAFETY: a string of the storage this container belongs to.
            unsafe { borrowed_str(*name) }.to_bytes() == resource.as_bytes()
        });
        found.map(|(_, q)| q).ok_or_else(|| Failure::kind(ErrorKind::NotFound, format!("{} reports no usage of \"{resource}\"", self.owner())))
    }

    fn owner(&self) -> String {
        // SAFETY: strings of the storage this container belongs to (see `PodStorage`).
        let [name, namespace, pod] = [self.name, self.pod_namespace, self.pod_name].map(|p| unsafe { borrowed_str(p) }.to_string_lossy());
        format!("container {name} of pod {namespace}/{pod}")
    }
}

/// The resource usage of one pod, per container (`metrics.k8s.io` `PodMetrics`): namespace,
/// name, labels (copied from the Pod), timestamp (the end of the interval the usage was measured
/// over, the earliest container's), window (the length of that interval) and containers.
///
/// Owned when returned by `km_client_get_pod_metrics` (free with `km_pod_metrics_free`);
/// borrowed when returned by `km_pod_metrics_list_get` (valid until the list is freed).
/// Strings, quantities and containers from its accessors are borrowed from it: they sit in one
/// storage per list (or per owned object), made when the list is made, with no allocation per pod.
#[derive(Debug)]
pub struct km_pod_metrics {
    metrics: PodMetrics,
    /// This and the other strings and arrays: in `storage`, or in the list's for an item.
    name: *const c_char,
    namespace: *const c_char,
    timestamp: *const c_char,
    labels: Borrowed<[*const c_char; 2]>,
    containers: Borrowed<km_container_metrics>,
    /// The storage of an owned object (`None` for an item of a list).
    #[allow(dead_code)]
    storage: Option<Box<PodStorage>>,
}

impl km_pod_metrics {
    /// An owned object, with its own storage.
    pub(crate) fn new(metrics: PodMetrics) -> Result<km_pod_metrics, Failure> {
        let mut draft = PodDraft::default();
        let at = draft.add(&metrics)?;
        let (storage, mut items) = draft.finish(vec![(metrics, at)]);
        let mut item = items.pop().ok_or_else(|| Failure::kind(ErrorKind::Internal, "no pod metrics made".to_string()))?;
        item.storage = Some(Box::new(storage));
        Ok(item)
    }

    fn owner(&self) -> String {
        format!("pod {}/{}", self.metrics.namespace(), self.metrics.name())
    }

    /// The value of label `key`, if the pod has it.
    fn label(&self, key: &str) -> Result<*const c_char, Failure> {
        // The C labels are the core's, in the same (key) order.
        let index = self.metrics.metadata.labels.iter().flat_map(|l| l.keys()).position(|k| k == key);
        index
            .and_then(|i| self.labels.get().get(i))
            .map(|[_, v]| *v)
            .ok_or_else(|| Failure::kind(ErrorKind::NotFound, format!("{} has no label \"{key}\"", self.owner())))
    }
}

/// The C strings and arrays pod metrics handles point into, made once per list (or per owned
/// object) and never changed afterwards, so the pointers of the handles into their heap blocks
/// stay valid until it is dropped: every string once, NUL-terminated, in one buffer, and one
/// array each of labels, usage entries and containers.
#[derive(Debug, Default)]
pub(crate) struct PodStorage {
    // Only read through the handles' pointers.
    #[allow(dead_code)]
    strings: Vec<u8>,
    #[allow(dead_code)]
    labels: Vec<[*const c_char; 2]>,
    #[allow(dead_code)]
    usage: Vec<(*const c_char, km_quantity)>,
    #[allow(dead_code)]
    containers: Vec<km_container_metrics>,
}

/// A `PodStorage` being filled: offsets into the string buffer and ranges of the arrays, made
/// into pointers once everything is in place ([`PodDraft::finish`]).
#[derive(Debug, Default)]
struct PodDraft {
    strings: Vec<u8>,
    labels: Vec<[usize; 2]>,
    usage: Vec<(usize, km_quantity)>,
    containers: Vec<ContainerAt>,
}

#[derive(Debug)]
struct ContainerAt {
    name: usize,
    usage: Range<usize>,
    pod_namespace: usize,
    pod_name: usize,
}

#[derive(Debug)]
struct PodAt {
    name: usize,
    namespace: usize,
    timestamp: usize,
    labels: Range<usize>,
    containers: Range<usize>,
}

impl PodDraft {
    fn string(&mut self, s: &str, what: &str) -> Result<usize, Failure> {
        let at = self.strings.len();
        self.strings.extend_from_slice(no_nul(s, what)?.as_bytes());
        self.strings.push(0);
        Ok(at)
    }

    fn add(&mut self, pod: &PodMetrics) -> Result<PodAt, Failure> {
        let name = self.string(pod.name(), "a pod name")?;
        let namespace = self.string(pod.namespace(), "a namespace")?;
        let timestamp = self.string(&wire_time(&pod.timestamp)?, "a timestamp")?;
        let first_label = self.labels.len();
        for (k, v) in pod.metadata.labels.iter().flatten() {
            let label = [self.string(k, "a label")?, self.string(v, "a label")?];
            self.labels.push(label);
        }
        let first_container = self.containers.len();
        for c in &pod.containers {
            let container_name = self.string(&c.name, "a container name")?;
            let first_usage = self.usage.len();
            for (resource, q) in &c.usage {
                let entry = (self.string(resource, "a resource name")?, km_quantity::new(*q));
                self.usage.push(entry);
            }
            let usage = first_usage..self.usage.len();
            self.containers.push(ContainerAt { name: container_name, usage, pod_namespace: namespace, pod_name: name });
        }
        Ok(PodAt { name, namespace, timestamp, labels: first_label..self.labels.len(), containers: first_container..self.containers.len() })
    }

    /// The storage, complete, and the handles of `pods` pointing into it.
    fn finish(self, pods: Vec<(PodMetrics, PodAt)>) -> (PodStorage, Vec<km_pod_metrics>) {
        let strings = self.strings;
        let s = |at: usize| strings[at..].as_ptr().cast::<c_char>();
        let labels: Vec<[*const c_char; 2]> = self.labels.iter().map(|&[k, v]| [s(k), s(v)]).collect();
        let usage: Vec<(*const c_char, km_quantity)> = self.usage.iter().map(|&(r, q)| (s(r), q)).collect();
        let containers: Vec<km_container_metrics> = self
            .containers
            .into_iter()
            .map(|c| km_container_metrics { name: s(c.name), usage: Borrowed::of(&usage, c.usage), pod_namespace: s(c.pod_namespace), pod_name: s(c.pod_name) })
            .collect();
        let items = pods
            .into_iter()
            .map(|(metrics, at)| km_pod_metrics {
                metrics,
                name: s(at.name),
                namespace: s(at.namespace),
                timestamp: s(at.timestamp),
                labels: Borrowed::of(&labels, at.labels),
                containers: Borrowed::of(&containers, at.containers),
                storage: None,
            })
            .collect();
        // Moving the vectors moves no heap block: the pointers above stay valid.
        (PodStorage { strings, labels, usage, containers }, items)
    }
}

/// A list of pod metrics, in the order the server listed them.
///
/// Owned (from `km_client_list_pod_metrics`): free with `km_pod_metrics_list_free`, which also
/// frees every item borrowed from it.
#[derive(Debug)]
pub struct km_pod_metrics_list {
    items: Vec<km_pod_metrics>,
    /// What the items point into.
    #[allow(dead_code)]
    storage: PodStorage,
}

impl km_pod_metrics_list {
    pub(crate) fn new(pods: Vec<PodMetrics>) -> Result<km_pod_metrics_list, Failure> {
        let mut draft = PodDraft::default();
        let at = pods.iter().map(|p| draft.add(p)).collect::<Result<Vec<_>, _>>()?;
        let (storage, items) = draft.finish(pods.into_iter().zip(at).collect());
        Ok(km_pod_metrics_list { items, storage })
    }
}

// SAFETY (every `unsafe` block below): pointer arguments follow the header's contract: NULL or
// pointing to a live object of the named type, out-parameters writable.

/// The number of items of a node metrics list (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_node_metrics_list_count(list: *const km_node_metrics_list) -> usize {
    unsafe { count("km_node_metrics_list_count", list, |l| l.items.len()) }
}

/// The item at `index` (below `km_node_metrics_list_count`).
///
/// - `out`: on success, a borrowed item: valid until the list is freed; never free it.
///
/// Errors: `KM_STATUS_OUT_OF_RANGE` when `index` is not below the count.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_node_metrics_list_get(list: *const km_node_metrics_list, index: usize, out: *mut *const km_node_metrics) -> km_status {
    entry!(km_node_metrics_list_get(arg list) -> out { at(&list.items, index)? })
}

/// Frees a node metrics list and every item, string and quantity borrowed from it. NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_node_metrics_list_free(list: *mut km_node_metrics_list) {
    unsafe { free("km_node_metrics_list_free", list) }
}

/// Frees a node metrics object returned by `km_client_get_node_metrics`. NULL is a no-op. Never
/// pass an item borrowed from a list.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_node_metrics_free(metrics: *mut km_node_metrics) {
    unsafe { free("km_node_metrics_free", metrics) }
}

/// The node name.
///
/// - `out`: on success, a borrowed string: valid until `metrics` (or its list) is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_node_metrics_name(metrics: *const km_node_metrics, out: *mut *const c_char) -> km_status {
    entry!(km_node_metrics_name(arg metrics) -> out { metrics.name.as_ptr() })
}

/// The end of the interval the usage was measured over, as RFC 3339 exactly as on the wire
/// (`"2024-01-01T00:09:50Z"`).
///
/// - `out`: on success, a borrowed string: valid until `metrics` (or its list) is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_node_metrics_timestamp(metrics: *const km_node_metrics, out: *mut *const c_char) -> km_status {
    entry!(km_node_metrics_timestamp(arg metrics) -> out { metrics.timestamp.as_ptr() })
}

/// The end of the interval the usage was measured over, in seconds since the Unix epoch.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_node_metrics_timestamp_unix(metrics: *const km_node_metrics, out: *mut i64) -> km_status {
    entry!(km_node_metrics_timestamp_unix(arg metrics) -> out { metrics.metrics.timestamp.0.as_second() })
}

/// The length of the interval the usage was measured over, in milliseconds (truncated).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_node_metrics_window_ms(metrics: *const km_node_metrics, out: *mut i64) -> km_status {
    entry!(km_node_metrics_window_ms(arg metrics) -> out { metrics.metrics.window.as_nanos() / 1_000_000 })
}

/// Usage of one resource (`"cpu"`, `"memory"`, ...); CPU in cores, memory in bytes.
///
/// - `resource`: borrowed for the call.
/// - `out`: on success, a borrowed quantity: valid until `metrics` (or its list) is freed.
///
/// Errors: `KM_STATUS_NOT_FOUND` when the node reports no usage of `resource`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_node_metrics_usage(metrics: *const km_node_metrics, resource: *const c_char, out: *mut *const km_quantity) -> km_status {
    entry!(km_node_metrics_usage(arg metrics, arg_str resource) -> out { metrics.usage.get(resource, &metrics.owner())? })
}

/// The number of resources the node reports usage of (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_node_metrics_usage_count(metrics: *const km_node_metrics) -> usize {
    unsafe { count("km_node_metrics_usage_count", metrics, |m| m.usage.0.len()) }
}

/// The resource at `index` (below `km_node_metrics_usage_count`, in resource-name order) and its usage.
///
/// - `resource_out`, `quantity_out`: on success, borrowed: valid until `metrics` (or its list)
///   is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_node_metrics_usage_at(
    metrics: *const km_node_metrics,
    index: usize,
    resource_out: *mut *const c_char,
    quantity_out: *mut *const km_quantity,
) -> km_status {
    entry!(km_node_metrics_usage_at(arg metrics) -> (resource_out, quantity_out) {
        let (name, q) = at(&metrics.usage.0, index)?;
        (name.as_ptr(), q)
    })
}

/// The value of one label of the node (copied from the Node object).
///
/// - `key`: borrowed for the call.
/// - `out`: on success, a borrowed string: valid until `metrics` (or its list) is freed.
///
/// Errors: `KM_STATUS_NOT_FOUND` when the node has no such label.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_node_metrics_label(metrics: *const km_node_metrics, key: *const c_char, out: *mut *const c_char) -> km_status {
    entry!(km_node_metrics_label(arg metrics, arg_str key) -> out { metrics.labels.get(key, &metrics.owner())?.as_ptr() })
}

/// The number of labels of the node (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_node_metrics_labels_count(metrics: *const km_node_metrics) -> usize {
    unsafe { count("km_node_metrics_labels_count", metrics, |m| m.labels.0.len()) }
}

/// The label at `index` (below `km_node_metrics_labels_count`, in key order).
///
/// - `key_out`, `value_out`: on success, borrowed strings: valid until `metrics` (or its list)
///   is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_node_metrics_label_at(
    metrics: *const km_node_metrics,
    index: usize,
    key_out: *mut *const c_char,
    value_out: *mut *const c_char,
) -> km_status {
    entry!(km_node_metrics_label_at(arg metrics) -> (key_out, value_out) {
        let (k, v) = at(&metrics.labels.0, index)?;
        (k.as_ptr(), v.as_ptr())
    })
}

/// The number of items of a pod metrics list (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_pod_metrics_list_count(list: *const km_pod_metrics_list) -> usize {
    unsafe { count("km_pod_metrics_list_count", list, |l| l.items.len()) }
}

/// The item at `index` (below `km_pod_metrics_list_count`).
///
/// - `out`: on success, a borrowed item: valid until the list is freed; never free it.
///
/// Errors: `KM_STATUS_OUT_OF_RANGE` when `index` is not below the count.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_pod_metrics_list_get(list: *const km_pod_metrics_list, index: usize, out: *mut *const km_pod_metrics) -> km_status {
    entry!(km_pod_metrics_list_get(arg list) -> out { at(&list.items, index)? })
}

/// Frees a pod metrics list and every item, container, string and quantity borrowed from it.
/// NULL is a no-op.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_pod_metrics_list_free(list: *mut km_pod_metrics_list) {
    unsafe { free("km_pod_metrics_list_free", list) }
}

/// Frees a pod metrics object returned by `km_client_get_pod_metrics`. NULL is a no-op. Never
/// pass an item borrowed from a list.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_pod_metrics_free(metrics: *mut km_pod_metrics) {
    unsafe { free("km_pod_metrics_free", metrics) }
}

/// The pod name.
///
/// - `out`: on success, a borrowed string: valid until `metrics` (or its list) is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_pod_metrics_name(metrics: *const km_pod_metrics, out: *mut *const c_char) -> km_status {
    entry!(km_pod_metrics_name(arg metrics) -> out { metrics.name })
}

/// The pod namespace.
///
/// - `out`: on success, a borrowed string: valid until `metrics` (or its list) is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_pod_metrics_namespace(metrics: *const km_pod_metrics, out: *mut *const c_char) -> km_status {
    entry!(km_pod_metrics_namespace(arg metrics) -> out { metrics.namespace })
}

/// The end of the interval the usage was measured over (the earliest container's), as RFC 3339
/// exactly as on the wire (`"2024-01-01T00:09:50Z"`).
///
/// - `out`: on success, a borrowed string: valid until `metrics` (or its list) is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_pod_metrics_timestamp(metrics: *const km_pod_metrics, out: *mut *const c_char) -> km_status {
    entry!(km_pod_metrics_timestamp(arg metrics) -> out { metrics.timestamp })
}

/// The end of the interval the usage was measured over, in seconds since the Unix epoch.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_pod_metrics_timestamp_unix(metrics: *const km_pod_metrics, out: *mut i64) -> km_status {
    entry!(km_pod_metrics_timestamp_unix(arg metrics) -> out { metrics.metrics.timestamp.0.as_second() })
}

/// The length of the interval the usage was measured over, in milliseconds (truncated).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_pod_metrics_window_ms(metrics: *const km_pod_metrics, out: *mut i64) -> km_status {
    entry!(km_pod_metrics_window_ms(arg metrics) -> out { metrics.metrics.window.as_nanos() / 1_000_000 })
}

/// The value of one label of the pod (copied from the Pod object).
///
/// - `key`: borrowed for the call.
/// - `out`: on success, a borrowed string: valid until `metrics` (or its list) is freed.
///
/// Errors: `KM_STATUS_NOT_FOUND` when the pod has no such label.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_pod_metrics_label(metrics: *const km_pod_metrics, key: *const c_char, out: *mut *const c_char) -> km_status {
    entry!(km_pod_metrics_label(arg metrics, arg_str key) -> out { metrics.label(key)? })
}

/// The number of labels of the pod (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_pod_metrics_labels_count(metrics: *const km_pod_metrics) -> usize {
    unsafe { count("km_pod_metrics_labels_count", metrics, |m| m.labels.len) }
}

/// The label at `index` (below `km_pod_metrics_labels_count`, in key order).
///
/// - `key_out`, `value_out`: on success, borrowed strings: valid until `metrics` (or its list)
///   is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_pod_metrics_label_at(
    metrics: *const km_pod_metrics,
    index: usize,
    key_out: *mut *const c_char,
    value_out: *mut *const c_char,
) -> km_status {
    entry!(km_pod_metrics_label_at(arg metrics) -> (key_out, value_out) {
        let [k, v] = *at(metrics.labels.get(), index)?;
        (k, v)
    })
}

/// The sum over containers of one resource's usage (zero if no container reports it).
///
/// - `resource`: borrowed for the call.
/// - `out`: on success, an owned quantity (free with `km_quantity_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_pod_metrics_total(metrics: *const km_pod_metrics, resource: *const c_char, out: *mut *mut km_quantity) -> km_status {
    entry!(km_pod_metrics_total(arg metrics, arg_str resource) -> out { handle(km_quantity::new(metrics.metrics.total(resource))) })
}

/// The number of containers of the pod (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_pod_metrics_containers_count(metrics: *const km_pod_metrics) -> usize {
    unsafe { count("km_pod_metrics_containers_count", metrics, |m| m.containers.len) }
}

/// The container at `index` (below `km_pod_metrics_containers_count`, in the server's order).
///
/// - `out`: on success, a borrowed container: valid until `metrics` (or its list) is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_pod_metrics_container(metrics: *const km_pod_metrics, index: usize, out: *mut *const km_container_metrics) -> km_status {
    entry!(km_pod_metrics_container(arg metrics) -> out { at(metrics.containers.get(), index)? })
}

/// The container name.
///
/// - `out`: on success, a borrowed string: valid until the pod metrics (or its list) is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_container_metrics_name(container: *const km_container_metrics, out: *mut *const c_char) -> km_status {
    entry!(km_container_metrics_name(arg container) -> out { container.name })
}

/// Usage of one resource by the container (`"cpu"`, `"memory"`, ...).
///
/// - `resource`: borrowed for the call.
/// - `out`: on success, a borrowed quantity: valid until the pod metrics (or its list) is freed.
///
/// Errors: `KM_STATUS_NOT_FOUND` when the container reports no usage of `resource`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_container_metrics_usage(
    container: *const km_container_metrics,
    resource: *const c_char,
    out: *mut *const km_quantity,
) -> km_status {
    entry!(km_container_metrics_usage(arg container, arg_str resource) -> out { container.usage(resource)? })
}

/// The number of resources the container reports usage of (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_container_metrics_usage_count(container: *const km_container_metrics) -> usize {
    unsafe { count("km_container_metrics_usage_count", container, |c| c.usage.len) }
}

/// The resource at `index` (below `km_container_metrics_usage_count`, in resource-name order)
/// and its usage.
///
/// - `resource_out`, `quantity_out`: on success, borrowed: valid until the pod metrics (or its
///   list) is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_container_metrics_usage_at(
    container: *const km_container_metrics,
    index: usize,
    resource_out: *mut *const c_char,
    quantity_out: *mut *const km_quantity,
) -> km_status {
    entry!(km_container_metrics_usage_at(arg container) -> (resource_out, quantity_out) {
        let (name, q) = at(container.usage.get(), index)?;
        (*name, q)
    })
}
