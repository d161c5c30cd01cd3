//! The JSON writing that [`ServedPod`](super::ServedPod) and [`ServedNode`](super::ServedNode)
//! share: Go's field order for their metadata, interval and one field of their own, byte for
//! byte as the objects they stand for are written.

use crate::metrics::protobuf::MetaRef;
use crate::metrics::{GoDuration, ObjectMeta, Time};
use serde::Serialize;
use serde::ser::SerializeMap;
use std::borrow::Cow;

/// A served object as the JSON writer reads it.
pub(super) trait ServedObject {
    /// The name of its own field (a pod's `containers`, a node's `usage`).
    const OWN: &'static str;
    /// Its own field.
    type Own: Serialize + ?Sized;
    /// Its own field's value.
    fn own(&self) -> &Self::Own;
    /// Its metadata (the protobuf encoder reads the same).
    fn meta(&self) -> MetaRef<'_>;
    /// The end of its measurement interval and the interval's length.
    fn interval(&self) -> (&Time, &GoDuration);
}

/// `full`, borrowed when `same` (its name, namespace and labels are the object's own), else a
/// copy with the object's made by `owned`.
pub(super) fn full_or_owned<'a>(full: &'a ObjectMeta, same: bool, owned: impl FnOnce() -> ObjectMeta) -> Cow<'a, ObjectMeta> {
    if same { Cow::Borrowed(full) } else { Cow::Owned(owned()) }
}

struct Meta<'a, T>(&'a T, Option<&'a Time>);

impl<T: ServedObject> Serialize for Meta<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (o, created) = (self.0, self.1);
        let (name, namespace, labels) = match o.meta() {
            MetaRef::Full(m) => return crate::metrics::meta::object_meta_stamped(&m, created, s),
            MetaRef::Basic { name, namespace, labels } => (name, namespace, labels),
        };
        // Go's ObjectMeta order for the fields a served object has.
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("name", name)?;
        if let Some(ns) = namespace {
            map.serialize_entry("namespace", ns)?;
        }
        if let Some(t) = created {
            map.serialize_entry("creationTimestamp", t)?;
        }
        if let Some(l) = labels {
            map.serialize_entry("labels", l)?;
        }
        map.end()
    }
}

/// Writes `o` with `creationTimestamp` = `created` when given.
pub(super) fn write_served<T: ServedObject, S: serde::Serializer>(o: &T, created: Option<&Time>, s: S) -> Result<S::Ok, S::Error> {
    let (timestamp, window) = o.interval();
    let mut map = s.serialize_map(Some(4))?;
    map.serialize_entry("metadata", &Meta(o, created))?;
    map.serialize_entry("timestamp", timestamp)?;
    map.serialize_entry("window", window)?;
    map.serialize_entry(T::OWN, o.own())?;
    map.end()
}
