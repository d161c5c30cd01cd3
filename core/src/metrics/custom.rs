//! `custom.metrics.k8s.io` (v1beta1, v1beta2) and `external.metrics.k8s.io` (v1beta1) types,
//! with fields in Go order so JSON is byte-compatible with custom-metrics-apiserver's.

use super::meta;
use crate::Quantity;
use super::meta::{LabelSelector, ListMeta, Time};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The API group of custom metrics.
pub const CUSTOM_GROUP: &str = "custom.metrics.k8s.io";
/// The API group of external metrics.
pub const EXTERNAL_GROUP: &str = "external.metrics.k8s.io";

/// The object a custom metric describes (a `core/v1` `ObjectReference`, Go field order).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribedObject {
    /// Kind of the object (`Pod`, `Service`, `Namespace`, ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Namespace; empty for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Name of the object.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// UID, when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// API version of the object (`/v1` for core objects, as custom-metrics-apiserver writes it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
}

/// One custom metric value (`custom.metrics.k8s.io/v1beta1` `MetricValue`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricValueV1Beta1 {
    /// The object the value describes.
    pub described_object: DescribedObject,
    /// The metric's name.
    pub metric_name: String,
    /// When the value was measured.
    pub timestamp: Time,
    /// Length of the measurement window in seconds.
    #[serde(rename = "window", default, skip_serializing_if = "Option::is_none")]
    pub window_seconds: Option<i64>,
    /// The value.
    pub value: Quantity,
    /// The metric label selector the value was selected with (`null` when none).
    #[serde(default)]
    pub selector: Option<LabelSelector>,
}

/// Names a metric and, optionally, the metric labels selected (`v1beta2` `MetricIdentifier`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricIdentifier {
    /// The metric's name.
    pub name: String,
    /// The metric label selector, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// One custom metric value (`custom.metrics.k8s.io/v1beta2` `MetricValue`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricValue {
    /// The object the value describes.
    pub described_object: DescribedObject,
    /// The metric and its label selector.
    pub metric: MetricIdentifier,
    /// When the value was measured.
    pub timestamp: Time,
    /// Length of the measurement window in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_seconds: Option<i64>,
    /// The value.
    pub value: Quantity,
}

/// One external metric value (`external.metrics.k8s.io/v1beta1` `ExternalMetricValue`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalMetricValue {
    /// The metric's name.
    pub metric_name: String,
    /// The labels of this series of the metric.
    #[serde(default)]
    pub metric_labels: BTreeMap<String, String>,
    /// When the value was measured.
    pub timestamp: Time,
    /// Length of the measurement window in seconds.
    #[serde(rename = "window", default, skip_serializing_if = "Option::is_none")]
    pub window_seconds: Option<i64>,
    /// The value.
    pub value: Quantity,
}

macro_rules! value_list {
    ($list:ident, $item:ident, $kind:literal) => {
        #[doc = concat!("A `", $kind, "` of [`", stringify!($item), "`].")]
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        pub struct $list {
            /// List metadata.
            #[serde(serialize_with = "meta::list_meta", default)]
            pub metadata: ListMeta,
            /// The values (`null` on the wire reads as empty).
            #[serde(default, deserialize_with = "null_as_empty")]
            pub items: Vec<$item>,
        }
        impl super::MetricsKind for $list {
            const KIND: &'static str = $kind;
        }
    };
}

fn null_as_empty<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

value_list!(MetricValueListV1Beta1, MetricValueV1Beta1, "MetricValueList");
value_list!(MetricValueList, MetricValue, "MetricValueList");
value_list!(ExternalMetricValueList, ExternalMetricValue, "ExternalMetricValueList");

/// The object a custom metric is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    /// Namespace (`None` for cluster-scoped objects).
    pub namespace: Option<String>,
    /// Plural resource (`pods`).
    pub resource: String,
    /// Object name.
    pub name: String,
}

/// The `kind` and `apiVersion` custom-metrics-apiserver writes for a resource's objects.
pub fn described_kind(resource: &str) -> (&'static str, &'static str) {
    match resource {
        "pods" => ("Pod", "/v1"),
        "services" => ("Service", "/v1"),
        "namespaces" => ("Namespace", "/v1"),
        "nodes" => ("Node", "/v1"),
        "deployments" => ("Deployment", "apps/v1"),
        "statefulsets" => ("StatefulSet", "apps/v1"),
        "ingresses" => ("Ingress", "networking.k8s.io/v1"),
        _ => ("", ""),
    }
}

impl MetricValue {
    /// The value of `metric` for `object`, measured now: `describedObject` filled from the
    /// object (kind and apiVersion from its resource), `metric.selector` from `metric_selector`.
    /// What a provider returns from `CustomMetricsProvider::metric_by_name` (feature `server`).
    pub fn for_object(object: &ObjectRef, metric: &str, metric_selector: &crate::selector::LabelSelector, value: Quantity) -> MetricValue {
        let (kind, api_version) = described_kind(&object.resource);
        MetricValue {
            described_object: DescribedObject {
                kind: kind.into(),
                namespace: object.namespace.clone().unwrap_or_default(),
                name: object.name.clone(),
                uid: String::new(),
                api_version: api_version.into(),
            },
            metric: MetricIdentifier { name: metric.into(), selector: selector_object(metric_selector) },
            timestamp: Time(jiff::Timestamp::now()),
            window_seconds: None,
            value,
        }
    }
}

impl ExternalMetricValue {
    /// One series of external `metric` with `labels`, measured now.
    pub fn new(metric: &str, labels: BTreeMap<String, String>, value: Quantity) -> ExternalMetricValue {
        ExternalMetricValue { metric_name: metric.into(), metric_labels: labels, timestamp: Time(jiff::Timestamp::now()), window_seconds: None, value }
    }
}

/// A metav1.LabelSelector for the `selector` field (only `matchLabels` of equality requirements).
fn selector_object(s: &crate::selector::LabelSelector) -> Option<meta::LabelSelector> {
    if s.is_empty() {
        return None;
    }
    let labels = s
        .requirements()
        .iter()
        .filter_map(|r| match r {
            crate::selector::LabelRequirement::Equals(k, v) => Some((k.clone(), v.clone())),
            _ => None,
        })
        .collect();
    Some(meta::LabelSelector { match_labels: Some(labels), match_expressions: None })
}

