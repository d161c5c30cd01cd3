//! Provider interfaces for serving custom and external metrics (the equivalent of
//! custom-metrics-apiserver's three provider methods), and [`PushProvider`], which serves values
//! that applications set, each with a time to live.

use crate::Quantity;
use crate::error::{Error, ErrorKind, Result};
use crate::metrics::Time;
use crate::metrics::custom::{ExternalMetricValue, MetricValue, ObjectRef, SelectorQuery, metric_not_found};
use crate::selector::LabelSelector;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A boxed, sendable future (providers may be written in other languages and answer later).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A custom metric a provider serves, for discovery.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomMetricInfo {
    /// Plural resource of the described objects (`pods`, `services`, `namespaces`, `nodes`).
    pub resource: String,
    /// Metric name.
    pub metric: String,
    /// Whether the described objects are namespaced.
    pub namespaced: bool,
}

/// Why a name cannot be listed in discovery (`None` when it can): empty, or holding a `/`.
fn unlistable(what: &str, name: &str) -> Option<Error> {
    (name.is_empty() || name.contains('/'))
        .then(|| Error::new(ErrorKind::Internal, format!("{what} {name:?} cannot be listed: expected a non-empty name without '/'")))
}

impl CustomMetricInfo {
    /// The metric `metric` of the objects of `resource`, for discovery (listed as
    /// `resource/metric`); `namespaced` is `true` unless given. What the bindings make of each
    /// item a provider's `list_metrics` returns: an `Internal` error (500) when `resource` or
    /// `metric` is empty or holds a `/`.
    pub fn new(resource: impl Into<String>, metric: impl Into<String>, namespaced: Option<bool>) -> Result<CustomMetricInfo> {
        let (resource, metric) = (resource.into(), metric.into());
        if let Some(e) = unlistable("resource", &resource).or_else(|| unlistable("metric", &metric)) {
            return Err(e);
        }
        Ok(CustomMetricInfo { resource, metric, namespaced: namespaced.unwrap_or(true) })
    }
}

/// The external metric names a provider's `list_external_metrics` returned, checked: an
/// `Internal` error (500) for the first that is empty or holds a `/`.
pub fn external_metric_names(names: Vec<String>) -> Result<Vec<String>> {
    match names.iter().find_map(|n| unlistable("external metric", n)) {
        Some(e) => Err(e),
        None => Ok(names),
    }
}

/// Serves `custom.metrics.k8s.io`: list, value by object name, values by label selector.
pub trait CustomMetricsProvider: Send + Sync + 'static {
    /// Every metric served (discovery). Asked on every discovery request, so keep it cheap.
    fn list_metrics(&self) -> BoxFuture<'_, Result<Vec<CustomMetricInfo>>>;
    /// The value of `metric` for one object; `NotFound` when unknown.
    fn metric_by_name<'a>(&'a self, object: &'a ObjectRef, metric: &'a str, metric_selector: &'a LabelSelector) -> BoxFuture<'a, Result<MetricValue>>;
    /// The values of `query.metric` for the objects of `query.resource` in `query.namespace`
    /// whose labels match `query.selector`.
    fn metrics_by_selector<'a>(&'a self, query: SelectorQuery<'a>) -> BoxFuture<'a, Result<Vec<MetricValue>>>;
}

/// Serves `external.metrics.k8s.io`: list, values by namespace and metric label selector.
pub trait ExternalMetricsProvider: Send + Sync + 'static {
    /// Every external metric served (discovery). Asked on every discovery request.
    fn list_external_metrics(&self) -> BoxFuture<'_, Result<Vec<String>>>;
    /// The series of `metric` in `namespace` whose labels match `selector`.
    fn external_metric<'a>(&'a self, namespace: &'a str, metric: &'a str, selector: &'a LabelSelector) -> BoxFuture<'a, Result<Vec<ExternalMetricValue>>>;
}

#[derive(Debug, Clone)]
struct Pushed {
    value: Quantity,
    labels: BTreeMap<String, String>,
    at: jiff::Timestamp,
    expires: Instant,
}

/// Values set by applications (`set_custom`, `set_external`), served until their TTL ends.
///
/// The simplest way to autoscale on an application metric: the application (or a sidecar)
/// pushes `queue_depth=42` for its pod every few seconds; the HPA reads it.
#[derive(Debug, Default)]
pub struct PushProvider {
    custom: Mutex<HashMap<(ObjectRef, String), Pushed>>,
    external: Mutex<HashMap<(String, String, BTreeMap<String, String>), Pushed>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl PushProvider {
    /// An empty provider.
    pub fn new() -> PushProvider {
        PushProvider::default()
    }

    /// Sets `metric` of `object` (whose labels are `object_labels`, for selector queries) to
    /// `value` for `ttl`.
    pub fn set_custom(&self, object: ObjectRef, object_labels: BTreeMap<String, String>, metric: &str, value: Quantity, ttl: Duration) -> Result<()> {
        if metric.is_empty() || object.name.is_empty() || object.resource.is_empty() {
            return Err(Error::new(ErrorKind::Config, "a custom metric needs a resource, an object name and a metric name"));
        }
        let entry = Pushed { value, labels: object_labels, at: jiff::Timestamp::now(), expires: Instant::now() + ttl };
        lock(&self.custom).insert((object, metric.to_string()), entry);
        Ok(())
    }

    /// Sets the series of external `metric` in `namespace` with `metric_labels` to `value` for `ttl`.
    pub fn set_external(&self, namespace: &str, metric: &str, metric_labels: BTreeMap<String, String>, value: Quantity, ttl: Duration) -> Result<()> {
        if metric.is_empty() || namespace.is_empty() {
            return Err(Error::new(ErrorKind::Config, "an external metric needs a namespace and a metric name"));
        }
        let entry = Pushed { value, labels: BTreeMap::new(), at: jiff::Timestamp::now(), expires: Instant::now() + ttl };
        lock(&self.external).insert((namespace.to_string(), metric.to_string(), metric_labels), entry);
        Ok(())
    }

    fn prune(&self) {
        let now = Instant::now();
        lock(&self.custom).retain(|_, v| v.expires > now);
        lock(&self.external).retain(|_, v| v.expires > now);
    }

    fn value(object: &ObjectRef, metric: &str, p: &Pushed, metric_selector: &LabelSelector) -> MetricValue {
        let mut v = MetricValue::for_object(object, metric, metric_selector, p.value);
        v.timestamp = Time(p.at);
        v
    }
}

impl CustomMetricsProvider for PushProvider {
    fn list_metrics(&self) -> BoxFuture<'_, Result<Vec<CustomMetricInfo>>> {
        self.prune();
        let mut v: Vec<CustomMetricInfo> = lock(&self.custom)
            .keys()
            .map(|(o, m)| CustomMetricInfo { resource: o.resource.clone(), metric: m.clone(), namespaced: o.namespace.is_some() })
            .collect();
        v.sort();
        v.dedup();
        Box::pin(std::future::ready(Ok(v)))
    }

    fn metric_by_name<'a>(&'a self, object: &'a ObjectRef, metric: &'a str, metric_selector: &'a LabelSelector) -> BoxFuture<'a, Result<MetricValue>> {
        Box::pin(async move {
            self.prune();
            let map = lock(&self.custom);
            let p = map.get(&(object.clone(), metric.to_string())).ok_or_else(|| metric_not_found(metric, object))?;
            Ok(Self::value(object, metric, p, metric_selector))
        })
    }

    fn metrics_by_selector<'a>(&'a self, q: SelectorQuery<'a>) -> BoxFuture<'a, Result<Vec<MetricValue>>> {
        Box::pin(async move {
            self.prune();
            let map = lock(&self.custom);
            let mut out: Vec<MetricValue> = map
                .iter()
                .filter(|((o, m), p)| m == q.metric && o.resource == q.resource && o.namespace.as_deref() == q.namespace && q.selector.matches(Some(&p.labels)))
                .map(|((o, m), p)| Self::value(o, m, p, q.metric_selector))
                .collect();
            out.sort_by(|a, b| a.described_object.name.cmp(&b.described_object.name));
            Ok(out)
        })
    }
}

impl ExternalMetricsProvider for PushProvider {
    fn list_external_metrics(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        self.prune();
        let mut v: Vec<String> = lock(&self.external).keys().map(|(_, m, _)| m.clone()).collect();
        v.sort();
        v.dedup();
        Box::pin(std::future::ready(Ok(v)))
    }

    fn external_metric<'a>(&'a self, namespace: &'a str, metric: &'a str, selector: &'a LabelSelector) -> BoxFuture<'a, Result<Vec<ExternalMetricValue>>> {
        Box::pin(async move {
            self.prune();
            let map = lock(&self.external);
            let mut out: Vec<ExternalMetricValue> = map
                .iter()
                .filter(|((ns, m, labels), _)| ns == namespace && m == metric && selector.matches(Some(labels)))
                .map(|((_, m, labels), p)| ExternalMetricValue {
                    metric_name: m.clone(),
                    metric_labels: labels.clone(),
                    timestamp: Time(p.at),
                    window_seconds: None,
                    value: p.value,
                })
                .collect();
            out.sort_by(|a, b| a.metric_labels.cmp(&b.metric_labels));
            Ok(out)
        })
    }
}
