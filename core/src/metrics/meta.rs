//! Object and list metadata of the metrics types, as Kubernetes writes them: [`ObjectMeta`],
//! [`ListMeta`], [`Time`] and the wire [`LabelSelector`] of `metav1`.
//!
//! These are kubemetrics' own plain types, so that the wire types need no Kubernetes API version
//! chosen (and no `k8s-openapi`) to be used. Field names and types match `k8s-openapi`'s, and
//! with the `client` feature they convert to and from them with `From`. Serialization writes
//! fields in the order Go's encoding/json uses, so our JSON is byte-compatible with what
//! kube-apiserver and metrics-server send.

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A point in time as Kubernetes writes it: RFC 3339 in UTC, whole seconds (`metav1.Time`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub jiff::Timestamp);

impl Time {
    /// The current time.
    pub fn now() -> Time {
        Time(jiff::Timestamp::now())
    }
}

impl Default for Time {
    /// The Unix epoch.
    fn default() -> Time {
        Time(jiff::Timestamp::UNIX_EPOCH)
    }
}

impl fmt::Display for Time {
    /// `2024-01-02T03:04:05Z` (sub-second digits are dropped, as Go's `metav1.Time` does).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match jiff::fmt::strtime::format("%Y-%m-%dT%H:%M:%SZ", self.0) {
            Ok(s) => f.write_str(&s),
            Err(_) => Err(fmt::Error),
        }
    }
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = jiff::fmt::strtime::format("%Y-%m-%dT%H:%M:%SZ", self.0).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        Ok(Time(jiff::Timestamp::deserialize(d)?))
    }
}

/// The metadata of one object (`metav1.ObjectMeta`, the fields metrics objects carry).
///
/// Serialized in Go's field order, unset fields left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ObjectMeta {
    /// Name.
    pub name: Option<String>,
    /// Prefix for a generated name.
    pub generate_name: Option<String>,
    /// Namespace (none for cluster-scoped objects such as nodes).
    pub namespace: Option<String>,
    /// Deprecated self link, as older servers still write it.
    pub self_link: Option<String>,
    /// Unique ID.
    pub uid: Option<String>,
    /// Resource version.
    pub resource_version: Option<String>,
    /// Generation.
    pub generation: Option<i64>,
    /// Creation time (metrics servers write the time they answered).
    pub creation_timestamp: Option<Time>,
    /// Deletion time.
    pub deletion_timestamp: Option<Time>,
    /// Deletion grace period.
    pub deletion_grace_period_seconds: Option<i64>,
    /// Labels (metrics servers copy the node's or pod's labels).
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations.
    pub annotations: Option<BTreeMap<String, String>>,
    /// Finalizers.
    pub finalizers: Option<Vec<String>>,
}

impl ObjectMeta {
    /// Whether nothing is set beyond a name, a namespace, labels and a creation time (what a
    /// metrics server's pods carry): compact forms keep only those.
    pub(crate) fn only_names_labels_created(&self) -> bool {
        self.generate_name.is_none()
            && self.self_link.is_none()
            && self.uid.is_none()
            && self.resource_version.is_none()
            && self.generation.is_none()
            && self.deletion_timestamp.is_none()
            && self.deletion_grace_period_seconds.is_none()
            && self.annotations.is_none()
            && self.finalizers.is_none()
    }
}

/// The metadata of a list (`metav1.ListMeta`), serialized in Go's field order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ListMeta {
    /// Deprecated self link.
    pub self_link: Option<String>,
    /// Resource version of the list.
    pub resource_version: Option<String>,
    /// Continue token of a paginated list.
    #[serde(rename = "continue")]
    pub continue_: Option<String>,
    /// Items left after this page.
    pub remaining_item_count: Option<i64>,
}

/// A label selector as written in objects (`metav1.LabelSelector`); custom metric values carry
/// the metric selector they were selected with in this form. See [`crate::selector`] for parsing
/// and matching the string form (`app=web,tier!=db`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LabelSelector {
    /// Exact label values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
    /// Set-based requirements.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Vec<LabelSelectorRequirement>>,
}

/// One set-based requirement of a [`LabelSelector`] (`metav1.LabelSelectorRequirement`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSelectorRequirement {
    /// The label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// The values (`In`/`NotIn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

impl Serialize for ObjectMeta {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        object_meta(self, s)
    }
}

impl Serialize for ListMeta {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        list_meta(self, s)
    }
}

macro_rules! opt {
    ($map:ident, $key:literal, $value:expr) => {
        if let Some(v) = &$value {
            $map.serialize_entry($key, v)?;
        }
    };
}

/// Serializes `ObjectMeta` in Go order (name, generateName, namespace, selfLink, uid, ...).
pub(crate) fn object_meta<S: Serializer>(m: &ObjectMeta, s: S) -> Result<S::Ok, S::Error> {
    object_meta_stamped(m, None, s)
}

/// [`object_meta`] with `creationTimestamp` replaced by `created` when given (servers stamp
/// metrics objects with the time they answer, without copying them).
pub(crate) fn object_meta_stamped<S: Serializer>(m: &ObjectMeta, created: Option<&Time>, s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(None)?;
    opt!(map, "name", m.name);
    opt!(map, "generateName", m.generate_name);
    opt!(map, "namespace", m.namespace);
    opt!(map, "selfLink", m.self_link);
    opt!(map, "uid", m.uid);
    opt!(map, "resourceVersion", m.resource_version);
    opt!(map, "generation", m.generation);
    match created {
        Some(t) => map.serialize_entry("creationTimestamp", t)?,
        None => opt!(map, "creationTimestamp", m.creation_timestamp),
    }
    opt!(map, "deletionTimestamp", m.deletion_timestamp);
    opt!(map, "deletionGracePeriodSeconds", m.deletion_grace_period_seconds);
    opt!(map, "labels", m.labels);
    opt!(map, "annotations", m.annotations);
    opt!(map, "finalizers", m.finalizers);
    map.end()
}

/// Serializes `ListMeta` in Go order (selfLink, resourceVersion, continue, remainingItemCount).
pub(crate) fn list_meta<S: Serializer>(m: &ListMeta, s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(None)?;
    opt!(map, "selfLink", m.self_link);
    opt!(map, "resourceVersion", m.resource_version);
    opt!(map, "continue", m.continue_);
    opt!(map, "remainingItemCount", m.remaining_item_count);
    map.end()
}

/// Conversions to and from `k8s-openapi`'s types of the same names (feature `client`).
#[cfg(feature = "client")]
mod k8s {
    use super::{LabelSelector, LabelSelectorRequirement, ListMeta, ObjectMeta, Time};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1 as k8s;

    impl From<k8s::Time> for Time {
        fn from(t: k8s::Time) -> Time {
            Time(t.0)
        }
    }
    impl From<Time> for k8s::Time {
        fn from(t: Time) -> k8s::Time {
            k8s::Time(t.0)
        }
    }

    impl From<ObjectMeta> for k8s::ObjectMeta {
        fn from(m: ObjectMeta) -> k8s::ObjectMeta {
            k8s::ObjectMeta {
                name: m.name,
                generate_name: m.generate_name,
                namespace: m.namespace,
                self_link: m.self_link,
                uid: m.uid,
                resource_version: m.resource_version,
                generation: m.generation,
                creation_timestamp: m.creation_timestamp.map(k8s::Time::from),
                deletion_timestamp: m.deletion_timestamp.map(k8s::Time::from),
                deletion_grace_period_seconds: m.deletion_grace_period_seconds,
                labels: m.labels,
                annotations: m.annotations,
                finalizers: m.finalizers,
                ..Default::default()
            }
        }
    }
    impl From<k8s::ListMeta> for ListMeta {
        fn from(m: k8s::ListMeta) -> ListMeta {
            ListMeta { self_link: m.self_link, resource_version: m.resource_version, continue_: m.continue_, remaining_item_count: m.remaining_item_count }
        }
    }
    impl From<k8s::LabelSelector> for LabelSelector {
        fn from(s: k8s::LabelSelector) -> LabelSelector {
            LabelSelector {
                match_labels: s.match_labels,
                match_expressions: s
                    .match_expressions
                    .map(|v| v.into_iter().map(|r| LabelSelectorRequirement { key: r.key, operator: r.operator, values: r.values }).collect()),
            }
        }
    }
}
