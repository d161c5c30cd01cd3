//! The `metrics.k8s.io/v1beta1` read paths, served from slices of metrics objects: lists with
//! label and field selectors, get by name, NotFound as a `Status`. Shared by the loopback API
//! server and `kubemetrics serve`.

use super::http::{self, HttpResponse};
use crate::metrics::{GROUP, NodeMetrics, NodeMetricsList, PodMetrics, PodMetricsList, to_wire_json};
use crate::selector::{FieldSelector, LabelSelector};
use ::http::StatusCode;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta;

/// The group-version served.
pub const GROUP_VERSION: &str = "metrics.k8s.io/v1beta1";

/// The `APIResourceList` of `metrics.k8s.io/v1beta1`.
pub fn resource_list() -> &'static str {
    r#"{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"metrics.k8s.io/v1beta1","resources":[{"name":"nodes","singularName":"","namespaced":false,"kind":"NodeMetrics","verbs":["get","list"]},{"name":"pods","singularName":"","namespaced":true,"kind":"PodMetrics","verbs":["get","list"]}]}"#
}

fn selectors(query: Option<&str>) -> Result<(LabelSelector, FieldSelector), HttpResponse> {
    let label = http::query_param(query, "labelSelector").unwrap_or_default();
    let field = http::query_param(query, "fieldSelector").unwrap_or_default();
    let l = LabelSelector::parse(&label).map_err(|e| http::bad_request(&e.to_string()))?;
    let f = FieldSelector::parse(&field).map_err(|e| http::bad_request(&e.to_string()))?;
    for name in f.fields() {
        if name != "metadata.name" && name != "metadata.namespace" {
            return Err(http::bad_request(&format!("field label not supported: {name}")));
        }
    }
    Ok((l, f))
}

/// Serves `rest`, the path after `/apis/metrics.k8s.io/v1beta1` (e.g. `/nodes`, `/namespaces/ns/pods/p`).
/// Returns `None` for a path that is not a metrics path.
pub fn respond(rest: &str, query: Option<&str>, nodes: &[NodeMetrics], pods: &[PodMetrics]) -> Option<HttpResponse> {
    let parts: Vec<&str> = rest.trim_matches('/').split('/').filter(|p| !p.is_empty()).collect();
    if http::query_param(query, "watch").is_some_and(|w| w == "true" || w == "1") {
        return Some(http::status(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "watch is not supported on metrics.k8s.io", None));
    }
    let ok = |body: String| http::json(StatusCode::OK, body);
    Some(match parts.as_slice() {
        [] => http::json(StatusCode::OK, resource_list()),
        ["nodes"] => {
            let (l, f) = match selectors(query) {
                Ok(s) => s,
                Err(r) => return Some(r),
            };
            let items: Vec<NodeMetrics> = nodes
                .iter()
                .filter(|n| l.matches(n.metadata.labels.as_ref()))
                .filter(|n| f.matches(|field| (field == "metadata.name").then(|| n.name().to_string()).or_else(|| (field == "metadata.namespace").then(String::new))))
                .cloned()
                .collect();
            ok(to_wire_json(&NodeMetricsList { metadata: ListMeta::default(), items }, GROUP_VERSION))
        }
        ["nodes", name] => match nodes.iter().find(|n| n.name() == *name) {
            Some(n) => ok(to_wire_json(n, GROUP_VERSION)),
            None => http::not_found_object("nodemetrics", GROUP, name),
        },
        ["pods"] => pod_list(None, query, pods),
        ["namespaces", ns, "pods"] => pod_list(Some(ns), query, pods),
        ["namespaces", ns, "pods", name] => match pods.iter().find(|p| p.namespace() == *ns && p.name() == *name) {
            Some(p) => ok(to_wire_json(p, GROUP_VERSION)),
            None => http::not_found_object("podmetrics", GROUP, name),
        },
        _ => return None,
    })
}

fn pod_list(ns: Option<&str>, query: Option<&str>, pods: &[PodMetrics]) -> HttpResponse {
    let (l, f) = match selectors(query) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let items: Vec<PodMetrics> = pods
        .iter()
        .filter(|p| ns.is_none_or(|ns| p.namespace() == ns))
        .filter(|p| l.matches(p.metadata.labels.as_ref()))
        .filter(|p| {
            f.matches(|field| match field {
                "metadata.name" => Some(p.name().to_string()),
                "metadata.namespace" => Some(p.namespace().to_string()),
                _ => None,
            })
        })
        .cloned()
        .collect();
    http::json(StatusCode::OK, to_wire_json(&PodMetricsList { metadata: ListMeta::default(), items }, GROUP_VERSION))
}
