//! Plain JavaScript objects for the core types: the TypeScript shape of the metrics objects (built
//! by [`crate::wire`]) and the `top` rows.

use crate::Quantity;
use crate::raw::{out, scoped};
use crate::wire::RawValue;
use napi::bindgen_prelude::{Result, ToNapiValue, TypeName, ValueType};
use napi::{check_status, sys};
use napi_derive::napi;
use std::collections::BTreeMap;

/// Object metadata, as in Kubernetes JSON: the fields metrics objects carry are typed here; any
/// other field the server sent is kept as it was sent. Fields the server did not send are absent.
#[napi(object, object_from_js = false)]
#[derive(Debug)]
pub struct ObjectMeta {
    /// Name, unique within the namespace.
    pub name: Option<String>,
    /// Prefix of a server-generated name.
    pub generate_name: Option<String>,
    /// Namespace (pods only).
    pub namespace: Option<String>,
    /// Deprecated self link.
    pub self_link: Option<String>,
    /// Unique id.
    pub uid: Option<String>,
    /// Version of the object, for watches and updates.
    pub resource_version: Option<String>,
    /// Creation time; for metrics objects, the time the server answered.
    pub creation_timestamp: Option<String>,
    /// Labels (copied from the Node or Pod).
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations.
    pub annotations: Option<BTreeMap<String, String>>,
}

/// The resource usage of one node (`metrics.k8s.io` `NodeMetrics`), in the Kubernetes JSON
/// shape plus `usageQuantities`.
#[napi(object, object_from_js = false)]
#[derive(Debug)]
pub struct NodeMetrics {
    /// Name, labels (copied from the Node) and creation time (the time the server answered).
    pub metadata: ObjectMeta,
    /// The end of the interval the usage was measured over (`"2024-01-01T00:09:50Z"`).
    pub timestamp: String,
    /// The length of that interval, as a Go duration (`"20s"`).
    pub window: String,
    /// Usage by resource name (`cpu`, `memory`, `swap`, ...) as canonical quantity strings,
    /// exactly as in Kubernetes JSON; CPU in cores, memory in bytes.
    pub usage: BTreeMap<String, String>,
    /// The same usage, parsed: the same keys as `usage`, each an exact `Quantity` (computed on
    /// first read, then kept; `JSON.stringify` writes them as canonical strings).
    pub usage_quantities: BTreeMap<String, Quantity>,
}

/// The resource usage of one container of a pod.
#[napi(object, object_from_js = false)]
#[derive(Debug)]
pub struct ContainerMetrics {
    /// Container name.
    pub name: String,
    /// Usage by resource name as canonical quantity strings, exactly as in Kubernetes JSON.
    pub usage: BTreeMap<String, String>,
    /// The same usage, parsed: the same keys as `usage`, each an exact `Quantity` (computed on
    /// first read, then kept; `JSON.stringify` writes them as canonical strings).
    pub usage_quantities: BTreeMap<String, Quantity>,
}

/// The resource usage of one pod, per container (`metrics.k8s.io` `PodMetrics`), in the
/// Kubernetes JSON shape plus parsed quantities in each container.
#[napi(object, object_from_js = false)]
#[derive(Debug)]
pub struct PodMetrics {
    /// Namespace, name, labels (copied from the Pod) and creation time.
    pub metadata: ObjectMeta,
    /// The end of the interval the usage was measured over (the earliest container's).
    pub timestamp: String,
    /// The length of that interval, as a Go duration (`"14.982s"`).
    pub window: String,
    /// Usage per container.
    pub containers: Vec<ContainerMetrics>,
}

/// One row of `top node`: quantities as canonical strings, percentages as numbers.
#[napi(object, object_from_js = false, use_nullable = true)]
#[derive(Debug)]
pub struct NodeRow {
    /// Node name.
    pub name: String,
    /// CPU usage (`null`: the node reported no metrics, kubectl's `<unknown>`).
    pub cpu: Option<String>,
    /// Memory usage (`null`: no metrics).
    pub memory: Option<String>,
    /// CPU allocatable (or capacity with `showCapacity`), if the Node object states it.
    pub cpu_available: Option<String>,
    /// Memory allocatable (or capacity with `showCapacity`), if the Node object states it.
    pub memory_available: Option<String>,
    /// CPU usage in percent of `cpuAvailable`, truncated like kubectl.
    pub cpu_percent: Option<i64>,
    /// Memory usage in percent of `memoryAvailable`, truncated like kubectl.
    pub memory_percent: Option<i64>,
}

impl From<kubemetrics::top::NodeRow> for NodeRow {
    fn from(r: kubemetrics::top::NodeRow) -> Self {
        let s = |q: Option<kubemetrics::Quantity>| q.map(|q| q.canonical());
        NodeRow {
            name: r.name,
            cpu: s(r.cpu),
            memory: s(r.memory),
            cpu_available: s(r.cpu_available),
            memory_available: s(r.memory_available),
            cpu_percent: r.cpu_percent,
            memory_percent: r.memory_percent,
        }
    }
}

/// One container's usage in `top pod`.
#[napi(object, object_from_js = false)]
#[derive(Debug)]
pub struct ContainerRow {
    /// Container name.
    pub name: String,
    /// CPU usage.
    pub cpu: String,
    /// Memory usage.
    pub memory: String,
}

/// One pod's usage in `top pod`: the sum over its containers.
#[napi(object, object_from_js = false)]
#[derive(Debug)]
pub struct PodRow {
    /// Namespace.
    pub namespace: String,
    /// Pod name.
    pub name: String,
    /// CPU usage, summed over containers.
    pub cpu: String,
    /// Memory usage, summed over containers.
    pub memory: String,
    /// Per-container usage, in kubectl's container order for the chosen sort.
    pub containers: Vec<ContainerRow>,
}

/// The result of `top pod`.
#[napi(object, object_from_js = false, use_nullable = true)]
#[derive(Debug)]
pub struct TopPods {
    /// Rows in kubectl's order, built on first read (a `Proxy` of an `Array`); `usageColumns`
    /// (not enumerable) holds every row's CPU in millicores and memory in bytes as exact
    /// `BigInt64Array`s.
    #[napi(ts_type = "Array<PodRow> & { readonly usageColumns: PodRowUsageColumns }")]
    pub pods: RawValue,
    /// Total CPU over all rows (what `--sum` prints).
    pub total_cpu: String,
    /// Total memory over all rows.
    pub total_memory: String,
    /// The namespace read (`null` for all namespaces).
    pub namespace: Option<String>,
}

impl TopPods {
    /// The rows go over as columns of the core's table and are built in JavaScript when read.
    pub fn from_core(env: &napi::Env, t: kubemetrics::top::TopPodsTable) -> Result<TopPods> {
        Ok(TopPods {
            pods: crate::columns::top_pods(env, &t)?,
            total_cpu: t.total_cpu().canonical(),
            total_memory: t.total_memory().canonical(),
            namespace: t.namespace().map(str::to_string),
        })
    }
}

/// A list converted to a JavaScript array one item per handle scope, so that converting 100,000
/// objects does not leave millions of live handles for the garbage collector to scan.
#[derive(Debug)]
pub struct ScopedArray<T>(pub Vec<T>);

impl<T> TypeName for ScopedArray<T> {
    fn type_name() -> &'static str {
        "Array"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl<T: ToNapiValue> ToNapiValue for ScopedArray<T> {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        // SAFETY: `env` is the live environment napi hands to every conversion; `array` lives in
        // the enclosing scope, and an item's handle only until it is stored in the array.
        unsafe {
            let array = out!(napi_create_array_with_length(env, val.0.len()))?;
            for (i, item) in val.0.into_iter().enumerate() {
                scoped(env, || check_status!(sys::napi_set_element(env, array, i as u32, T::to_napi_value(env, item)?)))?;
            }
            Ok(array)
        }
    }
}
