//! Custom (`custom.metrics.k8s.io`) and external (`external.metrics.k8s.io`) metrics: the
//! TypeScript shape of the values clients read (built by [`crate::wire`] from the core's
//! Kubernetes JSON), the options of those reads, and the object reference shared by reads and
//! providers.

use crate::Quantity;
use napi_derive::napi;
use std::collections::BTreeMap;

/// The object a custom metric belongs to: what `client.getCustomMetric` asks for and what a
/// provider's `metricByName` receives.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct MetricObject {
    /// The namespace; absent for cluster-scoped objects (`nodes`, and `namespaces` themselves).
    pub namespace: Option<String>,
    /// The plural resource (`pods`, `services`, `namespaces`, `nodes`, `deployments`, ...).
    pub resource: String,
    /// The object's name.
    pub name: String,
}

impl From<MetricObject> for kubemetrics::metrics::custom::ObjectRef {
    fn from(o: MetricObject) -> Self {
        kubemetrics::metrics::custom::ObjectRef { namespace: o.namespace, resource: o.resource, name: o.name }
    }
}

impl From<&kubemetrics::metrics::custom::ObjectRef> for MetricObject {
    fn from(o: &kubemetrics::metrics::custom::ObjectRef) -> Self {
        MetricObject { namespace: o.namespace.clone(), resource: o.resource.clone(), name: o.name.clone() }
    }
}

/// Options of `client.getCustomMetric`.
#[napi(object, object_to_js = false)]
#[derive(Debug, Default)]
pub struct CustomMetricOptions {
    /// A selector of the metric's own labels (`metricLabelSelector`, e.g. `queue=jobs`).
    pub metric_selector: Option<String>,
}

/// Options of `client.listCustomMetrics`.
#[napi(object, object_to_js = false)]
#[derive(Debug, Default)]
pub struct CustomMetricsListOptions {
    /// The namespace of the objects (absent: cluster-scoped objects such as `nodes`).
    pub namespace: Option<String>,
    /// Which objects: a label selector on the objects (`app=web`).
    pub label_selector: Option<String>,
    /// A selector of the metric's own labels (`metricLabelSelector`).
    pub metric_selector: Option<String>,
}

/// Options of `client.getExternalMetric`.
#[napi(object, object_to_js = false)]
#[derive(Debug, Default)]
pub struct ExternalMetricOptions {
    /// Which series: a selector of the metric's labels (`queue=jobs`).
    pub label_selector: Option<String>,
}

/// The object a custom metric value describes (a `core/v1` `ObjectReference`). Fields the server
/// left empty are absent.
#[napi(object, object_from_js = false)]
#[derive(Debug)]
pub struct DescribedObject {
    /// Kind (`Pod`, `Service`, `Namespace`, ...).
    pub kind: Option<String>,
    /// Namespace (absent for cluster-scoped objects).
    pub namespace: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// UID, when the server knows it.
    pub uid: Option<String>,
    /// API version of the object (`/v1` for core objects, as custom-metrics-apiserver writes it).
    pub api_version: Option<String>,
}

/// Names a metric and, when one was given, the selector of its labels (`v1beta2`
/// `MetricIdentifier`).
#[napi(object, object_from_js = false)]
#[derive(Debug)]
pub struct MetricIdentifier {
    /// The metric's name.
    pub name: String,
    /// The metric label selector the value was selected with, as a Kubernetes `LabelSelector`
    /// object (`{ matchLabels: { queue: 'jobs' } }`).
    #[napi(ts_type = "{ matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: Array<string> }> }")]
    pub selector: Option<BTreeMap<String, String>>,
}

/// One custom metric value (`custom.metrics.k8s.io/v1beta2` `MetricValue`) in the Kubernetes JSON
/// shape, plus `valueQuantity`. Values read from a `v1beta1`-only server are given in this same
/// `v1beta2` shape.
#[napi(object, object_from_js = false)]
#[derive(Debug)]
pub struct MetricValue {
    /// The object the value describes.
    pub described_object: DescribedObject,
    /// The metric and its label selector.
    pub metric: MetricIdentifier,
    /// When the value was measured (`"2024-01-01T00:09:50Z"`).
    pub timestamp: String,
    /// The length of the measurement window in seconds, when the server said.
    pub window_seconds: Option<i64>,
    /// The value as a canonical quantity string, exactly as in Kubernetes JSON (`"500m"`).
    pub value: String,
    /// The same value, parsed: an exact `Quantity` (computed on first read, then kept;
    /// `JSON.stringify` writes it as the canonical string).
    pub value_quantity: Quantity,
}

/// One series of an external metric (`external.metrics.k8s.io/v1beta1` `ExternalMetricValue`)
/// in the Kubernetes JSON shape, plus `valueQuantity`.
#[napi(object, object_from_js = false)]
#[derive(Debug)]
pub struct ExternalMetricValue {
    /// The metric's name.
    pub metric_name: String,
    /// The labels of this series.
    pub metric_labels: BTreeMap<String, String>,
    /// When the value was measured.
    pub timestamp: String,
    /// The length of the measurement window in seconds, when the server said (Kubernetes JSON
    /// calls it `window`).
    pub window: Option<i64>,
    /// The value as a canonical quantity string, exactly as in Kubernetes JSON.
    pub value: String,
    /// The same value, parsed: an exact `Quantity` (computed on first read, then kept).
    pub value_quantity: Quantity,
}
