//! [`ServedNode`]: a node's metrics as a served snapshot keeps them, in about a twentieth of the
//! memory of a [`NodeMetrics`] (usage as integers, labels shared with the inventory), written to
//! the wire byte for byte as the object would be.

use super::served_json::{ServedObject, full_or_owned, write_served};
use super::{ServedUsage, SharedLabels};
use crate::metrics::protobuf::{MetaRef, NodeFields};
use crate::metrics::{GoDuration, NodeMetrics, ObjectMeta, Stamped, Time};
use crate::quantity::Quantity;
use serde::Serialize;
use std::sync::Arc;

/// A node's metrics in a served snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct ServedNode {
    /// Name.
    pub name: Arc<str>,
    /// Labels copied from the Node object.
    pub labels: Option<SharedLabels>,
    /// End of the measurement interval.
    pub timestamp: Time,
    /// Length of the interval.
    pub window: GoDuration,
    /// Usage by resource name.
    pub usage: ServedUsage,
    /// Object metadata beyond name and labels (a creation time, a uid...), when the node came
    /// from an object that carries some (fixtures); `None` for nodes the collector serves.
    pub extra_metadata: Option<Box<ObjectMeta>>,
}

impl ServedNode {
    /// Its full `ObjectMeta` (stamped with `created` when given).
    fn metadata(&self, created: Option<&Time>) -> ObjectMeta {
        let mut metadata = self.extra_metadata.as_deref().cloned().unwrap_or_default();
        metadata.name = Some(self.name.to_string());
        metadata.labels = self.labels.as_deref().cloned();
        if let Some(t) = created {
            metadata.creation_timestamp = Some(*t);
        }
        metadata
    }

    /// The full object (`creationTimestamp` = `created`).
    pub fn to_node_metrics(&self, created: Option<&Time>) -> NodeMetrics {
        NodeMetrics { metadata: self.metadata(created), timestamp: self.timestamp, window: self.window, usage: self.usage.to_usage() }
    }
}

impl From<&NodeMetrics> for ServedNode {
    fn from(n: &NodeMetrics) -> ServedNode {
        let m = &n.metadata;
        let only_basics = m.namespace.is_none() && m.creation_timestamp.is_none() && m.only_names_labels_created();
        ServedNode {
            name: Arc::from(n.name()),
            labels: m.labels.clone().map(Arc::new),
            timestamp: n.timestamp,
            window: n.window,
            usage: ServedUsage::quantities(n.usage.iter().map(|(k, v)| (k.as_str(), *v))),
            extra_metadata: (!only_basics).then(|| Box::new(m.clone())),
        }
    }
}

impl NodeFields for ServedNode {
    fn meta(&self) -> MetaRef<'_> {
        ServedObject::meta(self)
    }
    fn interval(&self) -> (&Time, GoDuration) {
        (&self.timestamp, self.window)
    }
    fn each_usage(&self, each: &mut dyn FnMut(&str, &Quantity)) {
        self.usage.for_each(each);
    }
}

impl ServedObject for ServedNode {
    const OWN: &'static str = "usage";
    type Own = ServedUsage;
    fn own(&self) -> &ServedUsage {
        &self.usage
    }
    fn meta(&self) -> MetaRef<'_> {
        let Some(full) = self.extra_metadata.as_deref() else {
            return MetaRef::Basic { name: &self.name, namespace: None, labels: self.labels.as_deref() };
        };
        let same = full.name.as_deref() == Some(&*self.name) && full.labels.as_ref() == self.labels.as_deref();
        MetaRef::Full(full_or_owned(full, same, || self.metadata(None)))
    }
    fn interval(&self) -> (&Time, &GoDuration) {
        (&self.timestamp, &self.window)
    }
}

impl Serialize for ServedNode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        write_served(self, None, s)
    }
}

impl Serialize for Stamped<'_, ServedNode> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        write_served(self.object, Some(self.created), s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::protobuf;

    #[test]
    fn served_nodes_serialize_exactly_like_the_objects() {
        let created = Time(jiff::Timestamp::from_second(1_700_000_000).expect("time"));
        let state = crate::testkit::loopback_api::fixtures::varied();
        assert!(!state.node_metrics.is_empty());
        let mut with_labels = 0;
        for n in &state.node_metrics {
            let served = ServedNode::from(n);
            with_labels += usize::from(served.labels.is_some());
            assert_eq!(serde_json::to_string(&served).expect("json"), serde_json::to_string(n).expect("json"));
            assert_eq!(
                serde_json::to_string(&Stamped { object: &served, created: &created }).expect("json"),
                serde_json::to_string(&Stamped { object: n, created: &created }).expect("json")
            );
            assert_eq!(&served.to_node_metrics(None), n);
            for stamp in [None, Some(&created)] {
                assert_eq!(protobuf::encode_node("v1beta1", &served, stamp), protobuf::encode_node("v1beta1", n, stamp));
            }
        }
        assert!(with_labels > 0, "the fixtures have labelled nodes");
        let served: Vec<ServedNode> = state.node_metrics.iter().map(ServedNode::from).collect();
        assert_eq!(
            protobuf::encode_node_list("v1beta1", &served.iter().collect::<Vec<_>>(), Some(&created)),
            protobuf::encode_node_list("v1beta1", &state.node_metrics.iter().collect::<Vec<_>>(), Some(&created))
        );
        // A node with more metadata than a name and labels keeps it.
        let mut with_extra = state.node_metrics[0].clone();
        with_extra.metadata.uid = Some("u-1".into());
        with_extra.metadata.creation_timestamp = Some(created);
        let served = ServedNode::from(&with_extra);
        assert!(served.extra_metadata.is_some());
        assert_eq!(serde_json::to_string(&served).expect("json"), serde_json::to_string(&with_extra).expect("json"));
        assert_eq!(protobuf::encode_node("v1beta1", &served, None), protobuf::encode_node("v1beta1", &with_extra, None));
        // Labels set after it was made (as a snapshot does from the Node objects) are the ones written.
        let mut relabelled = served;
        relabelled.labels = Some(Arc::new([("tier".to_string(), "b".to_string())].into()));
        with_extra.metadata.labels = Some([("tier".to_string(), "b".to_string())].into());
        assert_eq!(serde_json::to_string(&relabelled).expect("json"), serde_json::to_string(&with_extra).expect("json"));
        assert_eq!(protobuf::encode_node("v1beta1", &relabelled, Some(&created)), protobuf::encode_node("v1beta1", &with_extra, Some(&created)));
    }

    #[test]
    fn measured_usage_is_written_as_metrics_server_writes_it() {
        let t = Time(jiff::Timestamp::from_second(1_700_000_000).expect("time"));
        let served = ServedNode {
            name: Arc::from("n1"),
            labels: Some(Arc::new([("kubernetes.io/hostname".to_string(), "n1".to_string())].into())),
            timestamp: t,
            window: GoDuration(15_000_000_000),
            usage: ServedUsage::measured(250_264_852, 8_517_808_128, None),
            extra_metadata: None,
        };
        let json = serde_json::to_string(&Stamped { object: &served, created: &t }).expect("json");
        assert_eq!(
            json,
            r#"{"metadata":{"name":"n1","creationTimestamp":"2023-11-14T22:13:20Z","labels":{"kubernetes.io/hostname":"n1"}},"timestamp":"2023-11-14T22:13:20Z","window":"15s","usage":{"cpu":"250264852n","memory":"8318172Ki"}}"#
        );
        let object = served.to_node_metrics(Some(&t));
        assert_eq!(json, serde_json::to_string(&object).expect("json"));
        assert_eq!(protobuf::encode_node("v1beta1", &served, Some(&t)), protobuf::encode_node("v1beta1", &object, None));
    }
}
