//! `metrics.k8s.io` objects: `km_node_metrics`, `km_pod_metrics`, `km_container_metrics` and
//! their lists. A list (or an owned object) keeps every C string and array its handles hand out
//! in one [`Storage`], made once when the list is made.

use crate::error::{Failure, km_status};
use crate::ffi::{Borrowed, arg, arg_str, at, borrowed_str, count, entry, free, handle, no_nul};
use crate::quantity::km_quantity;
use kubemetrics::metrics::whole_table::{WholePodMetricsTable, WholePodView};
use kubemetrics::metrics::{GoDuration, Time};
use kubemetrics::{ErrorKind, NodeMetrics, PodMetrics, Quantity};
use std::ffi::c_char;
use std::ops::Range;

/// The RFC 3339 string of a `metav1.Time`, exactly as on the wire (`2024-01-01T00:09:50Z`).
fn wire_time(t: &Time) -> Result<String, Failure> {
    match serde_json::to_value(t) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(Failure::kind(ErrorKind::Internal, format!("cannot format the timestamp {}", t.0))),
    }
}

/// A usage entry: the resource name and its quantity.
type UsageEntry = (*const c_char, km_quantity);

/// The C strings and arrays that metrics handles point into, made once per list (or per owned
/// object) and never changed afterwards, so the pointers of the handles into its heap blocks stay
/// valid until it is dropped: every string once, NUL-terminated, in one buffer, and one array
/// each of labels, usage entries and containers. No allocation is made per object.
#[derive(Debug, Default)]
pub(crate) struct Storage {
    strings: Vec<u8>,
    labels: Vec<[*const c_char; 2]>,
    usage: Vec<UsageEntry>,
    containers: Vec<km_container_metrics>,
}

impl Storage {
    fn string(&self, at: usize) -> *const c_char {
        self.strings.get(at..).unwrap_or_default().as_ptr().cast()
    }
}

/// A [`Storage`] being filled: offsets into the string buffer and ranges of the arrays, made into
/// pointers once everything is in place ([`Draft::finish`]).
#[derive(Debug, Default)]
struct Draft {
    strings: Vec<u8>,
    labels: Vec<[usize; 2]>,
    usage: Vec<(usize, km_quantity)>,
    containers: Vec<ContainerAt>,
}

/// Where the strings of an object (pod or node) and its ranges of the arrays are in a [`Draft`].
#[derive(Debug)]
struct ObjectAt {
    name: usize,
    namespace: usize,
    timestamp: usize,
    labels: Range<usize>,
    /// Usage entries (nodes) or containers (pods).
    parts: Range<usize>,
}

#[derive(Debug)]
struct ContainerAt {
    name: usize,
    usage: Range<usize>,
    pod_namespace: usize,
    pod_name: usize,
}

impl Draft {
    fn string(&mut self, s: &str, what: &str) -> Result<usize, Failure> {
        let at = self.strings.len();
        self.strings.extend_from_slice(no_nul(s, what)?.as_bytes());
        self.strings.push(0);
        Ok(at)
    }

    fn labels<'s>(&mut self, labels: impl IntoIterator<Item = (&'s str, &'s str)>) -> Result<Range<usize>, Failure> {
        let first = self.labels.len();
        for (k, v) in labels {
            let label = [self.string(k, "a label")?, self.string(v, "a label")?];
            self.labels.push(label);
        }
        Ok(first..self.labels.len())
    }

    fn usage<'s>(&mut self, usage: impl IntoIterator<Item = (&'s str, Quantity)>) -> Result<Range<usize>, Failure> {
        let first = self.usage.len();
        for (resource, q) in usage {
            let entry = (self.string(resource, "a resource name")?, km_quantity::new(q));
            self.usage.push(entry);
        }
        Ok(first..self.usage.len())
    }

    /// The name, wire timestamp and labels of an object; `namespace` is that of its name for a
    /// node (which has none).
    fn object<'s>(
        &mut self,
        name: &str,
        namespace: Option<&str>,
        timestamp: &Time,
        labels: impl IntoIterator<Item = (&'s str, &'s str)>,
    ) -> Result<ObjectAt, Failure> {
        let name = self.string(name, "a name")?;
        let namespace = match namespace {
            Some(ns) => self.string(ns, "a namespace")?,
            None => name,
        };
        let timestamp = self.string(&wire_time(timestamp)?, "a timestamp")?;
        let labels = self.labels(labels)?;
        Ok(ObjectAt { name, namespace, timestamp, labels, parts: 0..0 })
    }

    fn node(&mut self, node: &NodeMetrics) -> Result<ObjectAt, Failure> {
        let labels = node.metadata.labels.iter().flatten().map(|(k, v)| (k.as_str(), v.as_str()));
        let mut at = self.object(node.name(), None, &node.timestamp, labels)?;
        at.parts = self.usage(node.usage.iter().map(|(r, q)| (r.as_str(), *q)))?;
        Ok(at)
    }

    fn pod(&mut self, pod: &WholePodView<'_>) -> Result<ObjectAt, Failure> {
        let mut at = self.object(pod.name(), Some(pod.namespace()), &pod.timestamp(), pod.labels().into_iter().flatten())?;
        let first = self.containers.len();
        for c in pod.containers() {
            let name = self.string(c.name(), "a container name")?;
            let usage = self.usage(c.usage_entries())?;
            self.containers.push(ContainerAt { name, usage, pod_namespace: at.namespace, pod_name: at.name });
        }
        at.parts = first..self.containers.len();
        Ok(at)
    }

    fn finish(self) -> Storage {
        let mut storage = Storage { strings: self.strings, ..Storage::default() };
        storage.labels = self.labels.iter().map(|&[k, v]| [storage.string(k), storage.string(v)]).collect();
        storage.usage = self.usage.iter().map(|&(r, q)| (storage.string(r), q)).collect();
        storage.containers = self
            .containers
            .into_iter()
            .map(|c| km_container_metrics {
                name: storage.string(c.name),
                usage: Borrowed::of(&storage.usage, c.usage),
                pod_namespace: storage.string(c.pod_namespace),
                pod_name: storage.string(c.pod_name),
            })
            .collect();
        // Moving the vectors into `storage` moved no heap block: the pointers stay valid.
        storage
    }
}

/// Makes the handles of `objects` (with `make`), pointing into one storage: for a list, the
/// items and the storage; `make` gets each object, where its strings are, and the storage.
fn build<T, H>(
    objects: Vec<T>,
    add: impl Fn(&mut Draft, &T) -> Result<ObjectAt, Failure>,
    make: impl Fn(T, ObjectAt, &Storage) -> H,
) -> Result<(Vec<H>, Storage), Failure> {
    let mut draft = Draft::default();
    let at = objects.iter().map(|o| add(&mut draft, o)).collect::<Result<Vec<_>, _>>()?;
    let storage = draft.finish();
    let items = objects.into_iter().zip(at).map(|(o, at)| make(o, at, &storage)).collect();
    Ok((items, storage))
}

/// The value of label `key` among the C labels of an object.
fn label(c_labels: &Borrowed<[*const c_char; 2]>, key: &str, owner: impl FnOnce() -> String) -> Result<*const c_char, Failure> {
    let found = c_labels.get().iter().find(|[k, _]| {
        // SAFETY: a string of the storage the labels belong to.
        unsafe { borrowed_str(*k) }.to_bytes() == key.as_bytes()
    });
    found.map(|[_, v]| *v).ok_or_else(|| Failure::kind(ErrorKind::NotFound, format!("{} has no label \"{key}\"", owner())))
}

/// The usage of `resource` among the C usage entries of a node or container.
fn usage<'a>(entries: &'a Borrowed<UsageEntry>, resource: &str, owner: impl FnOnce() -> String) -> Result<&'a km_quantity, Failure> {
    let found = entries.get().iter().find(|(name, _)| {
        // SAFETY: a string of the storage the entries belong to.
        unsafe { borrowed_str(*name) }.to_bytes() == resource.as_bytes()
    });
    found.map(|(_, q)| q).ok_or_else(|| Failure::kind(ErrorKind::NotFound, format!("{} reports no usage of \"{resource}\"", owner())))
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
    /// This and the other strings and arrays: in `storage`, or in the list's for an item.
    name: *const c_char,
    timestamp: *const c_char,
    labels: Borrowed<[*const c_char; 2]>,
    usage: Borrowed<UsageEntry>,
    /// The storage of an owned object (`None` for an item of a list); only read through the
    /// pointers above.
    #[allow(dead_code)]
    storage: Option<Box<Storage>>,
}

impl km_node_metrics {
    /// An owned object, with its own storage.
    pub(crate) fn new(metrics: NodeMetrics) -> Result<km_node_metrics, Failure> {
        let (items, storage) = km_node_metrics_list::build(vec![metrics])?;
        owned(items, storage, |item, storage| item.storage = Some(storage))
    }

    fn at(metrics: NodeMetrics, at: ObjectAt, storage: &Storage) -> km_node_metrics {
        km_node_metrics {
            name: storage.string(at.name),
            timestamp: storage.string(at.timestamp),
            labels: Borrowed::of(&storage.labels, at.labels),
            usage: Borrowed::of(&storage.usage, at.parts),
            storage: None,
            metrics,
        }
    }

    fn owner(&self) -> String {
        format!("node {}", self.metrics.name())
    }
}

/// The one item of `items`, owning `storage` (moved into a box: its heap blocks stay in place).
fn owned<H>(mut items: Vec<H>, storage: Storage, keep: impl FnOnce(&mut H, Box<Storage>)) -> Result<H, Failure> {
    let mut item = items.pop().ok_or_else(|| Failure::kind(ErrorKind::Internal, "no metrics object made".to_string()))?;
    keep(&mut item, Box::new(storage));
    Ok(item)
}

/// A list of node metrics, in the order the server listed them.
///
/// Owned (from `km_client_list_node_metrics`): free with `km_node_metrics_list_free`, which also
/// frees every item borrowed from it.
#[derive(Debug)]
pub struct km_node_metrics_list {
    items: Vec<km_node_metrics>,
    /// What the items point into.
    #[allow(dead_code)]
    storage: Storage,
}

impl km_node_metrics_list {
    pub(crate) fn new(nodes: Vec<NodeMetrics>) -> Result<km_node_metrics_list, Failure> {
        let (items, storage) = km_node_metrics_list::build(nodes)?;
        Ok(km_node_metrics_list { items, storage })
    }

    fn build(nodes: Vec<NodeMetrics>) -> Result<(Vec<km_node_metrics>, Storage), Failure> {
        build(nodes, Draft::node, km_node_metrics::at)
    }
}

/// The resource usage of one container of a pod: its name and usage by resource name.
///
/// Always borrowed from its `km_pod_metrics` (valid until that is freed), as are the strings and
/// quantities of its accessors.
#[derive(Debug)]
pub struct km_container_metrics {
    /// This and the other strings and arrays: in the `Storage` of the pod (or its list).
    name: *const c_char,
    usage: Borrowed<UsageEntry>,
    pod_namespace: *const c_char,
    pod_name: *const c_char,
}

impl km_container_metrics {
    fn owner(&self) -> String {
        // SAFETY: strings of the storage this container belongs to.
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
    time: Time,
    window: GoDuration,
    /// This and the other strings and arrays: in `storage`, or in the list's for an item.
    name: *const c_char,
    namespace: *const c_char,
    timestamp: *const c_char,
    labels: Borrowed<[*const c_char; 2]>,
    containers: Borrowed<km_container_metrics>,
    /// The storage of an owned object (`None` for an item of a list); only read through the
    /// pointers above.
    #[allow(dead_code)]
    storage: Option<Box<Storage>>,
}

impl km_pod_metrics {
    /// An owned object, with its own storage.
    pub(crate) fn new(metrics: PodMetrics) -> Result<km_pod_metrics, Failure> {
        let (items, storage) = km_pod_metrics_list::build(&WholePodMetricsTable::from_pods(&[metrics]))?;
        owned(items, storage, |item, storage| item.storage = Some(storage))
    }

    fn at(pod: WholePodView<'_>, at: ObjectAt, storage: &Storage) -> km_pod_metrics {
        km_pod_metrics {
            time: pod.timestamp(),
            window: pod.window(),
            name: storage.string(at.name),
            namespace: storage.string(at.namespace),
            timestamp: storage.string(at.timestamp),
            labels: Borrowed::of(&storage.labels, at.labels),
            containers: Borrowed::of(&storage.containers, at.parts),
            storage: None,
        }
    }

    fn owner(&self) -> String {
        // SAFETY: strings of the storage this object points into.
        let (namespace, name) = unsafe { (borrowed_str(self.namespace), borrowed_str(self.name)) };
        format!("pod {}/{}", namespace.to_string_lossy(), name.to_string_lossy())
    }

    /// The sum over containers of one resource's usage (zero if no container reports it).
    fn total(&self, resource: &str) -> Quantity {
        let entries = self.containers.get().iter().flat_map(|c| c.usage.get());
        entries
            .filter(|(name, _)| {
                // SAFETY: a string of the storage this object points into.
                unsafe { borrowed_str(*name) }.to_bytes() == resource.as_bytes()
            })
            .map(|(_, q)| q.q)
            .sum()
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
    storage: Storage,
}

impl km_pod_metrics_list {
    /// The list's items made straight from the table (no `PodMetrics` per pod).
    pub(crate) fn new(table: &WholePodMetricsTable) -> Result<km_pod_metrics_list, Failure> {
        let (items, storage) = km_pod_metrics_list::build(table)?;
        Ok(km_pod_metrics_list { items, storage })
    }

    fn build(table: &WholePodMetricsTable) -> Result<(Vec<km_pod_metrics>, Storage), Failure> {
        build(table.iter().collect(), |draft, pod| draft.pod(pod), km_pod_metrics::at)
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
    entry!(km_node_metrics_name(arg metrics) -> out { metrics.name })
}

/// The end of the interval the usage was measured over, as RFC 3339 exactly as on the wire
/// (`"2024-01-01T00:09:50Z"`).
///
/// - `out`: on success, a borrowed string: valid until `metrics` (or its list) is freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_node_metrics_timestamp(metrics: *const km_node_metrics, out: *mut *const c_char) -> km_status {
    entry!(km_node_metrics_timestamp(arg metrics) -> out { metrics.timestamp })
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
    entry!(km_node_metrics_usage(arg metrics, arg_str resource) -> out { usage(&metrics.usage, resource, || metrics.owner())? })
}

/// The number of resources the node reports usage of (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_node_metrics_usage_count(metrics: *const km_node_metrics) -> usize {
    unsafe { count("km_node_metrics_usage_count", metrics, |m| m.usage.len) }
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
        let (name, q) = at(metrics.usage.get(), index)?;
        (*name, q)
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
    entry!(km_node_metrics_label(arg metrics, arg_str key) -> out { label(&metrics.labels, key, || metrics.owner())? })
}

/// The number of labels of the node (0 for NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_node_metrics_labels_count(metrics: *const km_node_metrics) -> usize {
    unsafe { count("km_node_metrics_labels_count", metrics, |m| m.labels.len) }
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
        let [k, v] = *at(metrics.labels.get(), index)?;
        (k, v)
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
    entry!(km_pod_metrics_timestamp_unix(arg metrics) -> out { metrics.time.0.as_second() })
}

/// The length of the interval the usage was measured over, in milliseconds (truncated).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_pod_metrics_window_ms(metrics: *const km_pod_metrics, out: *mut i64) -> km_status {
    entry!(km_pod_metrics_window_ms(arg metrics) -> out { metrics.window.as_nanos() / 1_000_000 })
}

/// The value of one label of the pod (copied from the Pod object).
///
/// - `key`: borrowed for the call.
/// - `out`: on success, a borrowed string: valid until `metrics` (or its list) is freed.
///
/// Errors: `KM_STATUS_NOT_FOUND` when the pod has no such label.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn km_pod_metrics_label(metrics: *const km_pod_metrics, key: *const c_char, out: *mut *const c_char) -> km_status {
    entry!(km_pod_metrics_label(arg metrics, arg_str key) -> out { label(&metrics.labels, key, || metrics.owner())? })
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
    entry!(km_pod_metrics_total(arg metrics, arg_str resource) -> out { handle(km_quantity::new(metrics.total(resource))) })
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
    entry!(km_container_metrics_usage(arg container, arg_str resource) -> out { usage(&container.usage, resource, || container.owner())? })
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
