//! `custom.metrics.k8s.io` (v1beta1, v1beta2) and `external.metrics.k8s.io` (v1beta1) types,
//! with fields in Go order so JSON is byte-compatible with custom-metrics-apiserver's.

use super::meta;
use super::meta::{LabelSelector, ListMeta, Time};
use crate::Quantity;
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

/// The resources whose `describedObject` kind and apiVersion are known: plural resource, kind,
/// apiVersion as custom-metrics-apiserver writes it, and whether the objects live in namespaces.
const RESOURCES: &[(&str, &str, &str, bool)] = &[
    ("pods", "Pod", "/v1", true),
    ("services", "Service", "/v1", true),
    ("namespaces", "Namespace", "/v1", false),
    ("nodes", "Node", "/v1", false),
    ("persistentvolumes", "PersistentVolume", "/v1", false),
    ("deployments", "Deployment", "apps/v1", true),
    ("statefulsets", "StatefulSet", "apps/v1", true),
    ("ingresses", "Ingress", "networking.k8s.io/v1", true),
];

fn known(resource: &str) -> Option<&'static (&'static str, &'static str, &'static str, bool)> {
    RESOURCES.iter().find(|(r, ..)| *r == resource)
}

/// The `kind` and `apiVersion` custom-metrics-apiserver writes for a resource's objects
/// (`("", "")` for a resource it does not know).
pub fn described_kind(resource: &str) -> (&'static str, &'static str) {
    known(resource).map_or(("", ""), |(_, kind, api_version, _)| (*kind, *api_version))
}

/// Whether the objects of `resource` live outside namespaces (`namespaces`, `nodes`,
/// `persistentvolumes`). Such objects never carry a namespace, whatever path asked for them: a
/// namespace's own metric is asked for at `namespaces/{ns}/metrics/{metric}` and describes the
/// namespace object itself. Resources not known here are taken as the request names them.
pub fn cluster_scoped(resource: &str) -> bool {
    known(resource).is_some_and(|(.., namespaced)| !namespaced)
}

impl ObjectRef {
    /// The object `name` of `resource` in `namespace`, without the namespace when `resource` is
    /// [`cluster_scoped`].
    pub fn new(namespace: Option<&str>, resource: &str, name: &str) -> ObjectRef {
        let namespace = if cluster_scoped(resource) { None } else { namespace.map(str::to_string) };
        ObjectRef { namespace, resource: resource.to_string(), name: name.to_string() }
    }
}

impl DescribedObject {
    /// The `describedObject` of `object`: kind and apiVersion from its resource
    /// ([`described_kind`]), its name, and its namespace unless the resource is
    /// [`cluster_scoped`]. Every value the core builds describes its object with this.
    pub fn of(object: &ObjectRef) -> DescribedObject {
        let (kind, api_version) = described_kind(&object.resource);
        let namespace = if cluster_scoped(&object.resource) { String::new() } else { object.namespace.clone().unwrap_or_default() };
        DescribedObject { kind: kind.into(), namespace, name: object.name.clone(), uid: String::new(), api_version: api_version.into() }
    }
}

impl MetricValue {
    /// The value of `metric` for `object`, measured now: `describedObject` from the object
    /// ([`DescribedObject::of`]), `metric.selector` from `metric_selector`.
    /// What a provider returns from `CustomMetricsProvider::metric_by_name` (server feature).
    pub fn for_object(object: &ObjectRef, metric: &str, metric_selector: &crate::selector::LabelSelector, value: Quantity) -> MetricValue {
        MetricValue::measured(object, metric, metric_selector, value, Time(jiff::Timestamp::now()))
    }

    fn measured(object: &ObjectRef, metric: &str, metric_selector: &crate::selector::LabelSelector, value: Quantity, at: Time) -> MetricValue {
        MetricValue {
            described_object: DescribedObject::of(object),
            metric: MetricIdentifier { name: metric.into(), selector: selector_object(metric_selector) },
            timestamp: at,
            window_seconds: None,
            value,
        }
    }
}

/// The error of a custom metric that has no value for an object (404 NotFound).
pub(crate) fn metric_not_found(metric: &str, object: &ObjectRef) -> crate::Error {
    crate::Error::new(crate::ErrorKind::NotFound, format!("the server could not find the metric {metric} for {} {}", object.resource, object.name))
        .with_status(404)
}

/// The answer of a provider for one object: the value of `metric` for `object` (`Some`), or no
/// value (`None`: the metric is not found, a `NotFound` error answered 404). What the
/// bindings' `metric_by_name` adapters call with the value a provider returned.
pub fn metric_value(object: &ObjectRef, metric: &str, metric_selector: &crate::selector::LabelSelector, value: Option<Quantity>) -> crate::Result<MetricValue> {
    match value {
        Some(v) => Ok(MetricValue::for_object(object, metric, metric_selector, v)),
        None => Err(metric_not_found(metric, object)),
    }
}

/// One item of a provider's answer to a request for the values of a metric of several objects.
#[derive(Clone, Debug, PartialEq)]
pub enum ObjectValue {
    /// The value of the object called `name`: [`SelectorQuery::values`] writes the rest.
    Named {
        /// The object's name.
        name: String,
        /// Its value.
        value: Quantity,
    },
    /// A complete value, served as it is (boxed: it is much larger than a name and a value).
    Complete(Box<MetricValue>),
}

/// A request for the values of one custom metric of the objects a label selector picks
/// (`/apis/custom.metrics.k8s.io/v1beta2/namespaces/{namespace}/{resource}/*/{metric}`, with
/// `labelSelector` and `metricLabelSelector`): what
/// a custom metrics provider's `metrics_by_selector` is asked.
#[derive(Debug, Clone, Copy)]
pub struct SelectorQuery<'a> {
    /// The namespace (`None` for cluster-scoped resources).
    pub namespace: Option<&'a str>,
    /// The resource (`pods`, `services`, `namespaces`...).
    pub resource: &'a str,
    /// `labelSelector`: which objects.
    pub selector: &'a crate::selector::LabelSelector,
    /// The metric.
    pub metric: &'a str,
    /// `metricLabelSelector`: which series of the metric.
    pub metric_selector: &'a crate::selector::LabelSelector,
}

impl SelectorQuery<'_> {
    /// The values a provider answered, in the order given: each named value becomes the
    /// [`MetricValue`] of the object of that name ([`MetricValue::for_object`], so objects of
    /// [`cluster_scoped`] resources carry no namespace, even when the request named one, as
    /// `namespaces/*/metrics/{metric}` does), all measured at the same instant, now; complete
    /// values are kept. What the bindings' `metrics_by_selector` adapters call with the names
    /// and values a provider returned.
    pub fn values(&self, answer: impl IntoIterator<Item = ObjectValue>) -> Vec<MetricValue> {
        let now = Time(jiff::Timestamp::now());
        answer
            .into_iter()
            .map(|item| match item {
                ObjectValue::Named { name, value } => {
                    let object = ObjectRef { namespace: self.namespace.map(str::to_string), resource: self.resource.to_string(), name };
                    MetricValue::measured(&object, self.metric, self.metric_selector, value, now)
                }
                ObjectValue::Complete(v) => *v,
            })
            .collect()
    }
}

/// One item of a provider's answer to a request for the series of an external metric.
#[derive(Clone, Debug, PartialEq)]
pub enum SeriesValue {
    /// The value of the series with these metric labels: [`external_values`] writes the rest.
    Labelled {
        /// The labels of the series (empty for a metric without labels).
        labels: BTreeMap<String, String>,
        /// Its value.
        value: Quantity,
    },
    /// A complete value, served as it is.
    Complete(ExternalMetricValue),
}

/// The series a provider answered for external `metric`, in the order given: each labelled
/// value becomes an [`ExternalMetricValue`] of `metric`, all measured at the same instant, now;
/// complete values are kept. What the bindings' `external_metric` adapters call.
pub fn external_values(metric: &str, answer: impl IntoIterator<Item = SeriesValue>) -> Vec<ExternalMetricValue> {
    let now = Time(jiff::Timestamp::now());
    answer
        .into_iter()
        .map(|item| match item {
            SeriesValue::Labelled { labels, value } => {
                ExternalMetricValue { metric_name: metric.into(), metric_labels: labels, timestamp: now, window_seconds: None, value }
            }
            SeriesValue::Complete(v) => v,
        })
        .collect()
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
