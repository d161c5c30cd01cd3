//! `ObjectMeta` / `ListMeta` written in the field order Go's encoding/json uses, so that our JSON
//! is byte-compatible with what kube-apiserver and metrics-server send.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ListMeta, ObjectMeta};
use serde::ser::{SerializeMap, Serializer};

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
pub(crate) fn object_meta_stamped<S: Serializer>(
    m: &ObjectMeta,
    created: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>,
    s: S,
) -> Result<S::Ok, S::Error> {
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
    opt!(map, "ownerReferences", m.owner_references);
    opt!(map, "finalizers", m.finalizers);
    opt!(map, "managedFields", m.managed_fields);
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
