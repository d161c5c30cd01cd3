//! The `custom.metrics.k8s.io` (v1beta1, v1beta2) and `external.metrics.k8s.io` (v1beta1)
//! paths, answered from providers: discovery, object metrics by name, by label selector,
//! namespace metrics and root-scoped objects; `kind`/`apiVersion` on every body; provider
//! errors and timeouts as Kubernetes `Status` responses.

use super::PushProvider;
use super::provider::{CustomMetricsProvider, ExternalMetricsProvider};
use crate::error::{Error, ErrorKind};
use crate::metrics::custom::{CUSTOM_GROUP, EXTERNAL_GROUP, ExternalMetricValueList, MetricValue, MetricValueList, MetricValueListV1Beta1, MetricValueV1Beta1};
use crate::metrics::custom::{ObjectRef, SelectorQuery};
use crate::metrics::{MetricsKind, Typed};
use crate::selector::LabelSelector;
use crate::server::http::{self, HttpResponse};
use crate::server::route::{ApiGroup, MetricPath};
use ::http::StatusCode;
use std::time::Duration;

/// How long a provider may take before the request fails with 504.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

fn error_response(e: &Error) -> HttpResponse {
    match e.kind() {
        ErrorKind::NotFound => http::status(StatusCode::NOT_FOUND, "NotFound", e.message(), None),
        ErrorKind::Config | ErrorKind::Quantity => http::status(StatusCode::BAD_REQUEST, "BadRequest", e.message(), None),
        _ => http::status(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", &format!("Internal error occurred: {}", e.message()), None),
    }
}

fn typed<T: serde::Serialize + MetricsKind>(object: &T, api_version: &str) -> HttpResponse {
    http::json(StatusCode::OK, serde_json::to_string(&Typed { kind: T::KIND, api_version, object }).unwrap_or_default())
}

async fn with_timeout<T>(f: impl std::future::Future<Output = crate::Result<T>>) -> Result<T, HttpResponse> {
    match tokio::time::timeout(PROVIDER_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(error_response(&e)),
        Err(_) => Err(http::status(StatusCode::GATEWAY_TIMEOUT, "Timeout", &format!("the metrics provider did not answer within {PROVIDER_TIMEOUT:?}"), None)),
    }
}

fn selector(query: Option<&str>, name: &str) -> Result<LabelSelector, HttpResponse> {
    LabelSelector::parse(&http::query_param(query, name).unwrap_or_default()).map_err(|e| http::bad_request(&e.to_string()))
}

fn to_v1beta1(v: MetricValue) -> MetricValueV1Beta1 {
    MetricValueV1Beta1 {
        described_object: v.described_object,
        metric_name: v.metric.name,
        timestamp: v.timestamp,
        window_seconds: v.window_seconds,
        value: v.value,
        selector: v.metric.selector,
    }
}

fn value_list(items: Vec<MetricValue>, version: &str) -> HttpResponse {
    let api_version = format!("{CUSTOM_GROUP}/{version}");
    if version == "v1beta1" {
        typed(&MetricValueListV1Beta1 { metadata: Default::default(), items: items.into_iter().map(to_v1beta1).collect() }, &api_version)
    } else {
        typed(&MetricValueList { metadata: Default::default(), items }, &api_version)
    }
}

/// Discovery of `custom.metrics.k8s.io/{version}`: one resource per metric (`pods/http_requests`).
pub async fn custom_resource_list(provider: &dyn CustomMetricsProvider, version: &str) -> HttpResponse {
    let metrics = match with_timeout(provider.list_metrics()).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let resources: Vec<serde_json::Value> = metrics
        .into_iter()
        .map(|m| serde_json::json!({"name": format!("{}/{}", m.resource, m.metric), "singularName": "", "namespaced": m.namespaced, "kind": "MetricValueList", "verbs": ["get"]}))
        .collect();
    http::json(
        StatusCode::OK,
        serde_json::json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": format!("{CUSTOM_GROUP}/{version}"), "resources": resources})
            .to_string(),
    )
}

/// Discovery of `external.metrics.k8s.io/v1beta1`: one resource per metric.
pub async fn external_resource_list(provider: &dyn ExternalMetricsProvider) -> HttpResponse {
    let metrics = match with_timeout(provider.list_external_metrics()).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let resources: Vec<serde_json::Value> = metrics
        .into_iter()
        .map(|m| serde_json::json!({"name": m, "singularName": "", "namespaced": true, "kind": "ExternalMetricValueList", "verbs": ["get"]}))
        .collect();
    http::json(
        StatusCode::OK,
        serde_json::json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": format!("{EXTERNAL_GROUP}/v1beta1"), "resources": resources})
            .to_string(),
    )
}

/// Answers a path under `/apis/custom.metrics.k8s.io/{version}` (`rest` is what follows); the tests' entry.
#[cfg(test)]
pub async fn custom(provider: &dyn CustomMetricsProvider, version: &str, rest: &str, query: Option<&str>) -> HttpResponse {
    let tail: Vec<&str> = crate::server::route::segments(rest).collect();
    custom_path(provider, version, &MetricPath::parse(ApiGroup::Custom, &tail), query).await
}

/// Answers a parsed `custom.metrics.k8s.io/{version}` path (see [`Route::Custom`](crate::server::route::Route::Custom)).
pub async fn custom_path(provider: &dyn CustomMetricsProvider, version: &str, path: &MetricPath<'_>, query: Option<&str>) -> HttpResponse {
    if version != "v1beta1" && version != "v1beta2" {
        return http::not_found_path();
    }
    let metric_selector = match selector(query, "metricLabelSelector") {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (namespace, resource, name, metric) = match *path {
        MetricPath::Root => return custom_resource_list(provider, version).await,
        MetricPath::NamespaceMetric { namespace, metric } => (Some(namespace), "namespaces", namespace, metric),
        MetricPath::Object { namespace, resource, name, metric } => (namespace, resource, name, metric),
        MetricPath::External { .. } | MetricPath::Other => return http::not_found_path(),
    };
    // A namespace's own metric describes the namespace object, which is cluster-scoped.
    let object_namespace = if resource == "namespaces" { None } else { namespace.map(str::to_string) };
    let answer = if name == "*" {
        let label_selector = match selector(query, "labelSelector") {
            Ok(s) => s,
            Err(r) => return r,
        };
        let query = SelectorQuery { namespace, resource, selector: &label_selector, metric, metric_selector: &metric_selector };
        with_timeout(provider.metrics_by_selector(query)).await
    } else {
        let object = ObjectRef { namespace: object_namespace, resource: resource.to_string(), name: name.to_string() };
        with_timeout(provider.metric_by_name(&object, metric, &metric_selector)).await.map(|v| vec![v])
    };
    match answer {
        Ok(items) => value_list(items, version),
        Err(r) => r,
    }
}

/// Answers a path under `/apis/external.metrics.k8s.io/v1beta1` (`rest` is what follows); the tests' entry.
#[cfg(test)]
pub async fn external(provider: &dyn ExternalMetricsProvider, rest: &str, query: Option<&str>) -> HttpResponse {
    let tail: Vec<&str> = crate::server::route::segments(rest).collect();
    external_path(provider, &MetricPath::parse(ApiGroup::External, &tail), query).await
}

/// Answers a parsed `external.metrics.k8s.io/v1beta1` path (see [`Route::External`](crate::server::route::Route::External)).
pub async fn external_path(provider: &dyn ExternalMetricsProvider, path: &MetricPath<'_>, query: Option<&str>) -> HttpResponse {
    match *path {
        MetricPath::Root => external_resource_list(provider).await,
        MetricPath::External { namespace, metric } => {
            let s = match selector(query, "labelSelector") {
                Ok(s) => s,
                Err(r) => return r,
            };
            match with_timeout(provider.external_metric(namespace, metric, &s)).await {
                Ok(items) => typed(&ExternalMetricValueList { metadata: Default::default(), items }, &format!("{EXTERNAL_GROUP}/v1beta1")),
                Err(r) => r,
            }
        }
        _ => http::not_found_path(),
    }
}

fn group_doc(name: &str, versions: &[&str]) -> serde_json::Value {
    let v: Vec<serde_json::Value> = versions.iter().map(|v| serde_json::json!({"groupVersion": format!("{name}/{v}"), "version": v})).collect();
    serde_json::json!({"name": name, "versions": v, "preferredVersion": v[0]})
}

/// `/apis` listing the groups that are served (`metrics.k8s.io` when `resource` is set).
pub fn group_list(resource: bool, custom: bool, external: bool) -> HttpResponse {
    let mut groups = Vec::new();
    if resource {
        groups.push(group_doc("metrics.k8s.io", &["v1beta1"]));
    }
    if custom {
        groups.push(group_doc(CUSTOM_GROUP, &["v1beta2", "v1beta1"]));
    }
    if external {
        groups.push(group_doc(EXTERNAL_GROUP, &["v1beta1"]));
    }
    http::json(StatusCode::OK, serde_json::json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}).to_string())
}

/// The `/apis/custom.metrics.k8s.io` and `/apis/external.metrics.k8s.io` group documents, when
/// that group is served (`None` otherwise, and for `metrics.k8s.io`).
pub fn group(group: ApiGroup, custom: bool, external: bool) -> Option<HttpResponse> {
    let mut doc = match group {
        ApiGroup::Custom if custom => group_doc(CUSTOM_GROUP, &["v1beta2", "v1beta1"]),
        ApiGroup::External if external => group_doc(EXTERNAL_GROUP, &["v1beta1"]),
        _ => return None,
    };
    doc["kind"] = "APIGroup".into();
    doc["apiVersion"] = "v1".into();
    Some(http::json(StatusCode::OK, doc.to_string()))
}

/// `PUT /push/custom/namespaces/{ns}/{resource}/{name}/{metric}?value=V&ttl=60s&labels=k%3Dv,...`
/// (object labels, for selector queries) and `PUT /push/external/namespaces/{ns}/{metric}?value=V&ttl=60s&labels=...`
/// (the series' metric labels).
pub fn push(provider: Option<&PushProvider>, path: &MetricPath<'_>, query: Option<&str>) -> HttpResponse {
    let Some(provider) = provider else { return http::not_found_path() };
    let value = match http::query_param(query, "value").map(|v| v.parse::<crate::Quantity>()) {
        Some(Ok(v)) => v,
        Some(Err(e)) => return http::bad_request(&e.to_string()),
        None => return http::bad_request("missing value= (a Kubernetes quantity)"),
    };
    let ttl = match http::query_param(query, "ttl").map(|t| t.parse::<crate::GoDuration>()) {
        None => Duration::from_secs(60),
        Some(Ok(t)) if t.as_nanos() > 0 => t.to_std(),
        Some(_) => return http::bad_request("ttl= must be a positive duration such as 30s or 5m"),
    };
    let mut labels = std::collections::BTreeMap::new();
    for kv in http::query_param(query, "labels").unwrap_or_default().split(',').filter(|s| !s.is_empty()) {
        match kv.split_once('=') {
            Some((k, v)) => {
                labels.insert(k.to_string(), v.to_string());
            }
            None => return http::bad_request(&format!("labels= takes key=value pairs, not {kv:?}")),
        }
    }
    let result = match *path {
        MetricPath::Object { namespace, resource, name, metric } => {
            // A namespace's own metric describes the namespace object, which is cluster-scoped.
            let namespace = if resource == "namespaces" { None } else { namespace.map(str::to_string) };
            provider.set_custom(ObjectRef { namespace, resource: resource.to_string(), name: name.to_string() }, labels, metric, value, ttl)
        }
        MetricPath::External { namespace, metric } => provider.set_external(namespace, metric, labels, value, ttl),
        MetricPath::Root | MetricPath::NamespaceMetric { .. } | MetricPath::Other => return http::not_found_path(),
    };
    match result {
        Ok(()) => http::json(StatusCode::OK, serde_json::json!({"value": value.to_string(), "ttlSeconds": ttl.as_secs()}).to_string()),
        Err(e) => error_response(&e),
    }
}
