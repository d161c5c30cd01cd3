//! [`ServedPod`]: a pod's metrics as a served snapshot keeps them, in about a seventh of the
//! memory of a [`PodMetrics`] (shared namespace, container and resource names; labels shared
//! with the inventory), written to the wire byte for byte as the object would be.

use super::served_json::{ServedObject, full_or_owned, write_served};
use super::{NO_SWAP, SharedName};
use crate::metrics::protobuf::MetaRef;
use crate::metrics::{ContainerMetrics, GoDuration, PodMetrics, Stamped, Usage};
use crate::metrics::{ObjectMeta, Time};
use crate::quantity::{Format, Quantity};
use serde::Serialize;
use serde::ser::SerializeMap;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Pod labels, shared between the inventory and every snapshot that serves the pod.
pub type SharedLabels = Arc<BTreeMap<String, String>>;

/// One container's usage in a [`ServedPod`].
#[derive(Debug, Clone, PartialEq)]
pub struct ServedContainer {
    /// Container name.
    pub name: SharedName,
    /// Usage by resource name.
    pub usage: ServedUsage,
}

/// A served container's usage: what a metrics server measures (CPU, memory, optional swap) kept
/// as three integers, or any resources as quantities (pods served from fixtures). Quantities are
/// made only when the usage is written or read, so a snapshot of 2,000,000 containers holds
/// no `Quantity` (32 bytes each) for its measured ones.
#[derive(Debug, Clone, PartialEq)]
pub struct ServedUsage(UsageRepr);

#[derive(Debug, Clone, PartialEq)]
enum UsageRepr {
    /// Swap as a [`SwapCode`], whose zero the other variant's tag lives in: 24 bytes in all
    /// (3,900,000 containers: 31 MB less than with a tag of its own).
    Measured { cpu_nanocores: u64, memory_bytes: u64, swap: SwapCode },
    /// Sorted by resource name.
    Quantities(Box<[(Arc<str>, Quantity)]>),
}

/// Swap bytes + 1, or `u64::MAX` when the kubelet did not report swap (never 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SwapCode(std::num::NonZeroU64);

impl SwapCode {
    const NONE: SwapCode = SwapCode(std::num::NonZeroU64::MAX);

    /// `u64::MAX - 1` bytes and more cannot be told from "not reported": they are kept as
    /// `u64::MAX - 2` (16 EiB of swap).
    fn of(bytes: Option<u64>) -> SwapCode {
        match bytes {
            None => SwapCode::NONE,
            Some(b) => SwapCode(std::num::NonZeroU64::MIN.saturating_add(b.min(u64::MAX - 2))),
        }
    }

    /// The bytes, or [`NO_SWAP`].
    fn bytes(self) -> u64 {
        if self == SwapCode::NONE { NO_SWAP } else { self.0.get() - 1 }
    }
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The quantities of measured usage, in resource-name order, and how many there are.
fn measured_pairs(cpu_nanocores: u64, memory_bytes: u64, swap_bytes: u64) -> ([(&'static str, Quantity); 3], usize) {
    let pairs = [
        ("cpu", Quantity::from_nano(int(cpu_nanocores), Format::DecimalSI)),
        ("memory", Quantity::from_int(int(memory_bytes), Format::BinarySI)),
        ("swap", Quantity::from_int(int(swap_bytes), Format::BinarySI)),
    ];
    (pairs, if swap_bytes == NO_SWAP { 2 } else { 3 })
}

impl ServedUsage {
    /// Measured usage: CPU in nanocores (written as DecimalSI, `"250264852n"`), memory and swap
    /// in bytes (BinarySI, `"8318172Ki"`), as metrics-server writes them.
    pub fn measured(cpu_nanocores: u64, memory_bytes: u64, swap_bytes: Option<u64>) -> ServedUsage {
        ServedUsage(UsageRepr::Measured { cpu_nanocores, memory_bytes, swap: SwapCode::of(swap_bytes) })
    }

    /// Any resources, with their quantities.
    pub fn quantities<'a>(usage: impl IntoIterator<Item = (&'a str, Quantity)>) -> ServedUsage {
        let mut pairs: Vec<(Arc<str>, Quantity)> = usage.into_iter().map(|(k, v)| (resource_name(k), v)).collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        ServedUsage(UsageRepr::Quantities(pairs.into()))
    }

    /// Calls `f` with an iterator over every resource name and quantity, in resource-name order
    /// (as [`Usage`] iterates); measured quantities are made on the stack for the call.
    pub fn with_pairs<R>(&self, f: impl FnOnce(&mut dyn Iterator<Item = (&str, &Quantity)>) -> R) -> R {
        match &self.0 {
            UsageRepr::Measured { cpu_nanocores, memory_bytes, swap } => {
                let (pairs, n) = measured_pairs(*cpu_nanocores, *memory_bytes, swap.bytes());
                f(&mut pairs[..n].iter().map(|(k, v)| (*k, v)))
            }
            UsageRepr::Quantities(pairs) => f(&mut pairs.iter().map(|(k, v)| (&**k, v))),
        }
    }

    /// Calls `each` with every resource name and quantity, in resource-name order.
    pub fn for_each(&self, each: &mut dyn FnMut(&str, &Quantity)) {
        self.with_pairs(|pairs| pairs.for_each(|(k, v)| each(k, v)));
    }

    /// The usage as a [`Usage`] map.
    pub fn to_usage(&self) -> Usage {
        let mut u = Usage::new();
        self.for_each(&mut |k, v| {
            u.insert(k.to_string(), *v);
        });
        u
    }
}

/// A pod's metrics in a served snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct ServedPod {
    /// Namespace.
    pub namespace: SharedName,
    /// Name.
    pub name: Arc<str>,
    /// Labels copied from the Pod object.
    pub labels: Option<SharedLabels>,
    /// End of the measurement interval.
    pub timestamp: Time,
    /// Length of the interval.
    pub window: GoDuration,
    /// Containers, in name order.
    pub containers: Box<[ServedContainer]>,
    /// Object metadata beyond name, namespace and labels (a creation time, a uid...), when the
    /// pod came from an object that carries some (fixtures); `None` for pods the collector serves.
    pub extra_metadata: Option<Box<ObjectMeta>>,
}

/// Shares the usual resource names instead of allocating one per container.
fn resource_name(name: &str) -> Arc<str> {
    static NAMES: std::sync::OnceLock<[Arc<str>; 3]> = std::sync::OnceLock::new();
    let known = NAMES.get_or_init(|| [Arc::from("cpu"), Arc::from("memory"), Arc::from("swap")]);
    known.iter().find(|n| &***n == name).cloned().unwrap_or_else(|| Arc::from(name))
}

impl ServedPod {
    /// Its full `ObjectMeta` (stamped with `created` when given).
    fn metadata(&self, created: Option<&Time>) -> ObjectMeta {
        let mut metadata = self.extra_metadata.as_deref().cloned().unwrap_or_default();
        metadata.name = Some(self.name.to_string());
        metadata.namespace = Some(self.namespace.to_string());
        metadata.labels = self.labels.as_deref().cloned();
        if let Some(t) = created {
            metadata.creation_timestamp = Some(*t);
        }
        metadata
    }

    /// The full object (`creationTimestamp` = `created`).
    pub fn to_pod_metrics(&self, created: Option<&Time>) -> PodMetrics {
        PodMetrics {
            metadata: self.metadata(created),
            timestamp: self.timestamp,
            window: self.window,
            containers: self.containers.iter().map(|c| ContainerMetrics { name: c.name.to_string(), usage: c.usage.to_usage() }).collect(),
        }
    }
}

impl crate::metrics::protobuf::PodFields for ServedPod {
    fn meta(&self) -> MetaRef<'_> {
        ServedObject::meta(self)
    }
    fn interval(&self) -> (&Time, GoDuration) {
        (&self.timestamp, self.window)
    }
    fn each_container(&self, each: &mut dyn FnMut(&str, &mut dyn Iterator<Item = (&str, &Quantity)>)) {
        for c in &self.containers {
            c.usage.with_pairs(|pairs| each(&c.name, pairs));
        }
    }
}

impl From<&PodMetrics> for ServedPod {
    fn from(p: &PodMetrics) -> ServedPod {
        let m = &p.metadata;
        let only_basics = m.creation_timestamp.is_none() && m.only_names_labels_created();
        ServedPod {
            namespace: SharedName::from(p.namespace()),
            name: Arc::from(p.name()),
            labels: m.labels.clone().map(Arc::new),
            timestamp: p.timestamp,
            window: p.window,
            containers: p
                .containers
                .iter()
                .map(|c| ServedContainer {
                    name: SharedName::from(c.name.as_str()),
                    usage: ServedUsage::quantities(c.usage.iter().map(|(k, v)| (k.as_str(), *v))),
                })
                .collect(),
            extra_metadata: (!only_basics).then(|| Box::new(m.clone())),
        }
    }
}

impl ServedObject for ServedPod {
    const OWN: &'static str = "containers";
    type Own = [ServedContainer];
    fn own(&self) -> &[ServedContainer] {
        &self.containers
    }
    fn meta(&self) -> MetaRef<'_> {
        let Some(full) = self.extra_metadata.as_deref() else {
            return MetaRef::Basic { name: &self.name, namespace: Some(&self.namespace), labels: self.labels.as_deref() };
        };
        let same =
            full.name.as_deref() == Some(&*self.name) && full.namespace.as_deref() == Some(&*self.namespace) && full.labels.as_ref() == self.labels.as_deref();
        MetaRef::Full(full_or_owned(full, same, || self.metadata(None)))
    }
    fn interval(&self) -> (&Time, &GoDuration) {
        (&self.timestamp, &self.window)
    }
}

impl Serialize for ServedUsage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        let mut result = Ok(());
        self.for_each(&mut |k, v| {
            if result.is_ok() {
                result = map.serialize_entry(k, v);
            }
        });
        result?;
        map.end()
    }
}

impl Serialize for ServedContainer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("name", &*self.name)?;
        map.serialize_entry("usage", &self.usage)?;
        map.end()
    }
}

impl Serialize for ServedPod {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        write_served(self, None, s)
    }
}

impl Serialize for Stamped<'_, ServedPod> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        write_served(self.object, Some(self.created), s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::protobuf;

    #[test]
    fn a_served_container_takes_32_bytes() {
        // 65,000 nodes x 60 containers: every 8 bytes here is 31 MB of a snapshot.
        assert_eq!(std::mem::size_of::<ServedUsage>(), 24);
        assert_eq!(std::mem::size_of::<ServedContainer>(), 32);
    }

    #[test]
    fn measured_usage_is_written_as_its_quantities() {
        let created = Time(jiff::Timestamp::from_second(1_700_000_000).expect("time"));
        for (cpu, memory, swap) in [
            (250_264_852, 8_517_808_128, None),
            (0, 0, Some(0)),
            (u64::MAX, u64::MAX, Some(u64::MAX)),
            (1, 1023, Some(4096)),
            (7, 7, Some(u64::MAX - 2)),
            (7, 7, Some(u64::MAX - 1)),
        ] {
            let served = ServedPod {
                namespace: SharedName::from("ns"),
                name: Arc::from("p"),
                labels: None,
                timestamp: created,
                window: GoDuration(15_000_000_000),
                containers: Box::new([ServedContainer { name: SharedName::from("c"), usage: ServedUsage::measured(cpu, memory, swap) }]),
                extra_metadata: None,
            };
            let object = served.to_pod_metrics(None);
            let usage = &object.containers[0].usage;
            assert_eq!(usage["cpu"], Quantity::from_nano(int(cpu), Format::DecimalSI));
            assert_eq!(usage["memory"], Quantity::from_int(int(memory), Format::BinarySI));
            assert_eq!(usage.get("swap").copied(), swap.map(|b| Quantity::from_int(int(b.min(u64::MAX - 2)), Format::BinarySI)));
            assert_eq!(serde_json::to_string(&served).expect("json"), serde_json::to_string(&object).expect("json"));
            assert_eq!(protobuf::encode_pod("v1beta1", &served, Some(&created)), protobuf::encode_pod("v1beta1", &object, Some(&created)));
            assert_eq!(ServedPod::from(&object).to_pod_metrics(None), object, "the quantities form keeps the same usage");
        }
    }

    #[test]
    fn served_pods_serialize_exactly_like_the_objects() {
        let created = Time(jiff::Timestamp::from_second(1_700_000_000).expect("time"));
        let state = crate::testkit::loopback_api::fixtures::varied();
        assert!(!state.pod_metrics.is_empty());
        for p in &state.pod_metrics {
            let served = ServedPod::from(p);
            assert_eq!(serde_json::to_string(&served).expect("json"), serde_json::to_string(p).expect("json"));
            assert_eq!(
                serde_json::to_string(&Stamped { object: &served, created: &created }).expect("json"),
                serde_json::to_string(&Stamped { object: p, created: &created }).expect("json")
            );
            assert_eq!(&served.to_pod_metrics(None), p);
            // The protobuf encoder writes the compact pod byte for byte as the object, stamped or not.
            for stamp in [None, Some(&created)] {
                assert_eq!(protobuf::encode_pod("v1beta1", &served, stamp), protobuf::encode_pod("v1beta1", p, stamp));
            }
        }
        let served: Vec<ServedPod> = state.pod_metrics.iter().map(ServedPod::from).collect();
        assert_eq!(
            protobuf::encode_pod_list("v1beta1", &served.iter().collect::<Vec<_>>(), Some(&created)),
            protobuf::encode_pod_list("v1beta1", &state.pod_metrics.iter().collect::<Vec<_>>(), Some(&created))
        );
        let mut with_extra = state.pod_metrics[0].clone();
        with_extra.metadata.uid = Some("u-1".into());
        with_extra.metadata.labels = None;
        let served = ServedPod::from(&with_extra);
        assert!(served.extra_metadata.is_some());
        assert_eq!(
            serde_json::to_string(&Stamped { object: &served, created: &created }).expect("json"),
            serde_json::to_string(&Stamped { object: &with_extra, created: &created }).expect("json")
        );
        assert_eq!(protobuf::encode_pod("v1beta1", &served, Some(&created)), protobuf::encode_pod("v1beta1", &with_extra, Some(&created)));
        // Labels set after it was made (as a snapshot does from the Pod objects) are the ones written.
        let mut relabelled = served;
        relabelled.labels = Some(Arc::new([("app".to_string(), "x".to_string())].into()));
        with_extra.metadata.labels = Some([("app".to_string(), "x".to_string())].into());
        assert_eq!(serde_json::to_string(&relabelled).expect("json"), serde_json::to_string(&with_extra).expect("json"));
        assert_eq!(protobuf::encode_pod("v1beta1", &relabelled, Some(&created)), protobuf::encode_pod("v1beta1", &with_extra, Some(&created)));
    }
}
