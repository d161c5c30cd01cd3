//! `metrics.k8s.io` types: [`NodeMetrics`], [`PodMetrics`], [`ContainerMetrics`] and their lists.

use super::meta::{ListMeta, ObjectMeta, Time};
use super::{GoDuration, meta};
use crate::Quantity;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// The API group of the resource metrics API.
pub const GROUP: &str = "metrics.k8s.io";

/// Resource usage by resource name (`cpu`, `memory`, `swap`, ...).
pub type Usage = BTreeMap<String, Quantity>;

fn epoch() -> Time {
    Time(jiff::Timestamp::UNIX_EPOCH)
}

fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The resource usage of one node (`metrics.k8s.io` `NodeMetrics`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeMetrics {
    /// Name, labels (copied from the Node) and creation time (the time the server answered).
    #[serde(serialize_with = "meta::object_meta", default)]
    pub metadata: ObjectMeta,
    /// The end of the interval the usage was measured over.
    pub timestamp: Time,
    /// The length of that interval.
    pub window: GoDuration,
    /// Usage by resource name; CPU in cores, memory in bytes.
    #[serde(default, deserialize_with = "null_as_default")]
    pub usage: Usage,
}

/// The resource usage of one container of a pod.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerMetrics {
    /// Container name.
    pub name: String,
    /// Usage by resource name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub usage: Usage,
}

/// The resource usage of one pod, per container (`metrics.k8s.io` `PodMetrics`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMetrics {
    /// Namespace, name, labels (copied from the Pod) and creation time.
    #[serde(serialize_with = "meta::object_meta", default)]
    pub metadata: ObjectMeta,
    /// The end of the interval the usage was measured over (the earliest container's).
    pub timestamp: Time,
    /// The length of that interval.
    pub window: GoDuration,
    /// Usage per container.
    #[serde(default, deserialize_with = "null_as_default")]
    pub containers: Vec<ContainerMetrics>,
}

impl Default for NodeMetrics {
    fn default() -> Self {
        NodeMetrics { metadata: ObjectMeta::default(), timestamp: epoch(), window: GoDuration(0), usage: Usage::new() }
    }
}

impl Default for PodMetrics {
    fn default() -> Self {
        PodMetrics { metadata: ObjectMeta::default(), timestamp: epoch(), window: GoDuration(0), containers: Vec::new() }
    }
}

impl NodeMetrics {
    /// The node name (empty if unset).
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }

    /// Usage of one resource (`"cpu"`, `"memory"`, ...), if reported.
    pub fn usage_of(&self, resource: &str) -> Option<&Quantity> {
        self.usage.get(resource)
    }
}

impl PodMetrics {
    /// The pod name (empty if unset).
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }

    /// The pod namespace (empty if unset).
    pub fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or_default()
    }

    /// The sum over containers of one resource's usage (zero if no container reports it).
    pub fn total(&self, resource: &str) -> Quantity {
        self.containers.iter().filter_map(|c| c.usage.get(resource)).sum()
    }
}

macro_rules! list_type {
    ($list:ident, $item:ident, $kind:literal) => {
        #[doc = concat!("A list of [`", stringify!($item), "`] (`", $kind, "`).")]
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        pub struct $list {
            /// List metadata (`resourceVersion`, `selfLink`, ...).
            #[serde(serialize_with = "meta::list_meta", default)]
            pub metadata: ListMeta,
            /// The items; `null` on the wire reads as empty.
            #[serde(default, deserialize_with = "null_as_default")]
            pub items: Vec<$item>,
        }
    };
}

list_type!(NodeMetricsList, NodeMetrics, "NodeMetricsList");
list_type!(PodMetricsList, PodMetrics, "PodMetricsList");

/// `k8s_openapi::Resource` impls (feature `client`): API version, kind and URL path segment of
/// the metrics types, for code that builds Kubernetes API paths generically.
#[cfg(feature = "client")]
mod k8s_resource_impls {
    use super::{GROUP, NodeMetrics, PodMetrics};

    macro_rules! k8s_resource {
        ($ty:ident, $kind:literal, $plural:literal, $scope:ty) => {
            impl k8s_openapi::Resource for $ty {
                const API_VERSION: &'static str = "metrics.k8s.io/v1beta1";
                const GROUP: &'static str = GROUP;
                const KIND: &'static str = $kind;
                const VERSION: &'static str = "v1beta1";
                const URL_PATH_SEGMENT: &'static str = $plural;
                type Scope = $scope;
            }
            impl k8s_openapi::ListableResource for $ty {
                const LIST_KIND: &'static str = concat!($kind, "List");
            }
        };
    }

    k8s_resource!(NodeMetrics, "NodeMetrics", "nodes", k8s_openapi::ClusterResourceScope);
    k8s_resource!(PodMetrics, "PodMetrics", "pods", k8s_openapi::NamespaceResourceScope);
}

/// An object with its `kind` and `apiVersion` written first, as on the wire.
///
/// `Typed::new("metrics.k8s.io/v1beta1", &list)` serializes as
/// `{"kind":"NodeMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":...}`.
#[derive(Debug, Serialize)]
pub struct Typed<'a, T: Serialize> {
    /// The kind (`NodeMetrics`, `PodMetricsList`, ...).
    pub kind: &'a str,
    /// The group/version (`metrics.k8s.io/v1beta1`).
    #[serde(rename = "apiVersion")]
    pub api_version: &'a str,
    /// The object's own fields.
    #[serde(flatten)]
    pub object: &'a T,
}

/// The wire `kind` of each metrics type.
pub trait MetricsKind {
    /// The `kind` written in JSON.
    const KIND: &'static str;
}

impl MetricsKind for NodeMetrics {
    const KIND: &'static str = "NodeMetrics";
}
impl MetricsKind for PodMetrics {
    const KIND: &'static str = "PodMetrics";
}
impl MetricsKind for NodeMetricsList {
    const KIND: &'static str = "NodeMetricsList";
}
impl MetricsKind for PodMetricsList {
    const KIND: &'static str = "PodMetricsList";
}

/// Serializes a metrics object to JSON exactly as a Kubernetes server would
/// (`kind` and `apiVersion` first, Go field order, canonical quantities).
pub fn to_wire_json<T: Serialize + MetricsKind>(object: &T, api_version: &str) -> String {
    serde_json::to_string(&Typed { kind: T::KIND, api_version, object }).unwrap_or_default()
}

/// A metrics object serialized with its `creationTimestamp` replaced by `created` (the time the
/// server answers, as metrics-server writes it), without copying the object.
#[derive(Debug)]
pub struct Stamped<'a, T> {
    /// The object.
    pub object: &'a T,
    /// The creation time to write.
    pub created: &'a Time,
}

struct StampedMeta<'a>(&'a ObjectMeta, &'a Time);

impl Serialize for StampedMeta<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        meta::object_meta_stamped(self.0, Some(self.1), s)
    }
}

/// What [`NodeMetrics`] and [`PodMetrics`] share: metadata, timestamp and window, then one
/// field of their own (a node's `usage`, a pod's `containers`), field 4 on the protobuf wire.
pub(crate) trait Sample: Default {
    /// The fourth field's type.
    type Own: Serialize;
    /// The fourth field's JSON name.
    const OWN: &'static str;
    /// The four fields.
    fn parts(&self) -> (&ObjectMeta, &Time, &GoDuration, &Self::Own);
    /// The four fields, to fill them.
    fn parts_mut(&mut self) -> (&mut ObjectMeta, &mut Time, &mut GoDuration, &mut Self::Own);
}

impl Sample for NodeMetrics {
    type Own = Usage;
    const OWN: &'static str = "usage";
    fn parts(&self) -> (&ObjectMeta, &Time, &GoDuration, &Usage) {
        (&self.metadata, &self.timestamp, &self.window, &self.usage)
    }
    fn parts_mut(&mut self) -> (&mut ObjectMeta, &mut Time, &mut GoDuration, &mut Usage) {
        (&mut self.metadata, &mut self.timestamp, &mut self.window, &mut self.usage)
    }
}

impl Sample for PodMetrics {
    type Own = Vec<ContainerMetrics>;
    const OWN: &'static str = "containers";
    fn parts(&self) -> (&ObjectMeta, &Time, &GoDuration, &Vec<ContainerMetrics>) {
        (&self.metadata, &self.timestamp, &self.window, &self.containers)
    }
    fn parts_mut(&mut self) -> (&mut ObjectMeta, &mut Time, &mut GoDuration, &mut Vec<ContainerMetrics>) {
        (&mut self.metadata, &mut self.timestamp, &mut self.window, &mut self.containers)
    }
}

impl<T: Sample> Serialize for Stamped<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (metadata, timestamp, window, own) = self.object.parts();
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("metadata", &StampedMeta(metadata, self.created))?;
        map.serialize_entry("timestamp", timestamp)?;
        map.serialize_entry("window", window)?;
        map.serialize_entry(T::OWN, own)?;
        map.end()
    }
}

/// Serializes a list of borrowed metrics objects as `kind` (`NodeMetricsList`,
/// `PodMetricsList`) in `api_version`, each stamped with `created` when given.
pub fn list_to_wire_json<T>(kind: &str, api_version: &str, items: &[&T], created: Option<&Time>) -> String
where
    T: Serialize,
    for<'a> Stamped<'a, T>: Serialize,
{
    #[derive(Serialize)]
    struct Meta {}
    #[derive(Serialize)]
    struct ListRef<'a, I: Serialize> {
        metadata: Meta,
        items: &'a [I],
    }
    let out = match created {
        Some(t) => {
            let stamped: Vec<Stamped<'_, T>> = items.iter().map(|o| Stamped { object: *o, created: t }).collect();
            serde_json::to_string(&Typed { kind, api_version, object: &ListRef { metadata: Meta {}, items: &stamped } })
        }
        None => serde_json::to_string(&Typed { kind, api_version, object: &ListRef { metadata: Meta {}, items } }),
    };
    out.unwrap_or_default()
}
