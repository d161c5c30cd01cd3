//! `metrics.k8s.io` objects: `km_node_metrics`, `km_pod_metrics`, `km_container_metrics` and
//! their lists, with C strings and quantities prepared once when the handle is made.

use crate::error::{Failure, km_status};
use crate::ffi::{arg, arg_str, at, count, cstring, entry, free, handle, string_pairs};
use crate::quantity::km_quantity;
use kubemetrics::metrics::Time;
use kubemetrics::metrics::Usage;
use kubemetrics::{ContainerMetrics, ErrorKind, NodeMetrics, PodMetrics};
use std::ffi::{CString, c_char};

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
fn wire_time(t: &Time) -> Result<CString, Failure> {
    match serde_json::to_value(t) {
        Ok(serde_json::Value::String(s)) => cstring(&s, "a timestamp"),
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
            timestamp: wire_time(&metrics.timestamp)?,
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
    name: CString,
    usage: UsageTable,
    owner: String,
}

impl km_container_metrics {
    fn new(c: &ContainerMetrics, pod: &PodMetrics) -> Result<km_container_metrics, Failure> {
        Ok(km_container_metrics {
            name: cstring(&c.name, "a container name")?,
            usage: UsageTable::new(&c.usage)?,
            owner: format!("container {} of pod {}/{}", c.name, pod.namespace(), pod.name()),
        })
    }
}

/// The resource usage of one pod, per container (`metrics.k8s.io` `PodMetrics`): namespace,
/// name, labels (copied from the Pod), timestamp (the end of the interval the usage was measured
/// over, the earliest container's), window (the length of that interval) and containers.
///
/// Owned when returned by `km_client_get_pod_metrics` (free with `km_pod_metrics_free`);
/// borrowed when returned by `km_pod_metrics_list_get` (valid until the list is freed).
/// Strings, quantities and containers from its accessors are borrowed from it.
#[derive(Debug)]
pub struct km_pod_metrics {
    metrics: PodMetrics,
    name: CString,
    namespace: CString,
    timestamp: CString,
    labels: LabelTable,
    containers: Vec<km_container_metrics>,
}

impl km_pod_metrics {
    pub(crate) fn new(metrics: PodMetrics) -> Result<km_pod_metrics, Failure> {
        Ok(km_pod_metrics {
            name: cstring(metrics.name(), "a pod name")?,
            namespace: cstring(metrics.namespace(), "a namespace")?,
            timestamp: wire_time(&metrics.timestamp)?,
            labels: LabelTable::new(metrics.metadata.labels.as_ref())?,
            containers: metrics.containers.iter().map(|c| km_container_metrics::new(c, &metrics)).collect::<Result<_, _>>()?,
            metrics,
        })
    }

    fn owner(&self) -> String {
        format!("pod {}/{}", self.metrics.namespace(), self.metrics.name())
    }
}

/// A list of pod metrics, in the order the server listed them.
///
/// Owned (from `km_client_list_pod_metrics`): free with `km_pod_metrics_list_free`, which also
/// frees every item borrowed from it.
#[derive(Debug)]
pub struct km_pod_metrics_list {
    items: Vec<km_pod_metrics>,
}

impl km_pod_metrics_list {
    pub(crate) fn new(items: Vec<PodMetrics>) -> Result<km_pod_metrics_list, Failure> {
        Ok(km_pod_metrics_list { items: items.into_iter().map(km_pod_metrics::new).collect::<Result<_, _>>()? })
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
    entry!(km_pod_metrics_name(arg metrics) -> out { metrics.name.as_ptr() })
}

/// The pod namespace.
///
/// - `out`: on success, a borrowed string: valid until `metrics` (or its list) is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_pod_metrics_namespace(metrics: *const km_pod_metrics, out: *mut *const c_char) -> km_status {
    entry!(km_pod_metrics_namespace(arg metrics) -> out { metrics.namespace.as_ptr() })
}

/// The end of the interval the usage was measured over (the earliest container's), as RFC 3339
/// exactly as on the wire (`"2024-01-01T00:09:50Z"`).
///
/// - `out`: on success, a borrowed string: valid until `metrics` (or its list) is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_pod_metrics_timestamp(metrics: *const km_pod_metrics, out: *mut *const c_char) -> km_status {
    entry!(km_pod_metrics_timestamp(arg metrics) -> out { metrics.timestamp.as_ptr() })
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
    entry!(km_pod_metrics_label(arg metrics, arg_str key) -> out { metrics.labels.get(key, &metrics.owner())?.as_ptr() })
}

/// The number of labels of the pod (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_pod_metrics_labels_count(metrics: *const km_pod_metrics) -> usize {
    unsafe { count("km_pod_metrics_labels_count", metrics, |m| m.labels.0.len()) }
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
        let (k, v) = at(&metrics.labels.0, index)?;
        (k.as_ptr(), v.as_ptr())
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
    unsafe { count("km_pod_metrics_containers_count", metrics, |m| m.containers.len()) }
}

/// The container at `index` (below `km_pod_metrics_containers_count`, in the server's order).
///
/// - `out`: on success, a borrowed container: valid until `metrics` (or its list) is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_pod_metrics_container(metrics: *const km_pod_metrics, index: usize, out: *mut *const km_container_metrics) -> km_status {
    entry!(km_pod_metrics_container(arg metrics) -> out { at(&metrics.containers, index)? })
}

/// The container name.
///
/// - `out`: on success, a borrowed string: valid until the pod metrics (or its list) is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_container_metrics_name(container: *const km_container_metrics, out: *mut *const c_char) -> km_status {
    entry!(km_container_metrics_name(arg container) -> out { container.name.as_ptr() })
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
    entry!(km_container_metrics_usage(arg container, arg_str resource) -> out { container.usage.get(resource, &container.owner)? })
}

/// The number of resources the container reports usage of (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_container_metrics_usage_count(container: *const km_container_metrics) -> usize {
    unsafe { count("km_container_metrics_usage_count", container, |c| c.usage.0.len()) }
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
        let (name, q) = at(&container.usage.0, index)?;
        (name.as_ptr(), q)
    })
}
