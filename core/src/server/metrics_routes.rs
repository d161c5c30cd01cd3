//! The `metrics.k8s.io/v1beta1` read paths, served from slices of metrics objects: lists with
//! label and field selectors, get by name, NotFound as a `Status`. Shared by the loopback API
//! server and `kubemetrics serve`.

use super::http::{self, HttpResponse};
use super::route::{Objects, watch};
use crate::metrics::{GROUP, NodeMetrics, PodMetrics, list_to_wire_json, to_wire_json};
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::ServedPod;
use ::http::StatusCode;
use std::collections::BTreeMap;

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

/// What pod lists are filtered and sorted by.
pub trait PodItem {
    /// Namespace.
    fn namespace(&self) -> &str;
    /// Name.
    fn name(&self) -> &str;
    /// Labels.
    fn labels(&self) -> Option<&BTreeMap<String, String>>;
}

impl PodItem for PodMetrics {
    fn namespace(&self) -> &str {
        PodMetrics::namespace(self)
    }
    fn name(&self) -> &str {
        PodMetrics::name(self)
    }
    fn labels(&self) -> Option<&BTreeMap<String, String>> {
        self.metadata.labels.as_ref()
    }
}

impl PodItem for ServedPod {
    fn namespace(&self) -> &str {
        &self.namespace
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn labels(&self) -> Option<&BTreeMap<String, String>> {
        self.labels.as_deref()
    }
}

/// What a metrics path selects (borrowed from the served slices: nothing is copied).
#[derive(Debug, Clone)]
pub enum Selected<'a, P = PodMetrics> {
    /// `/` of the group-version: the resource list.
    ResourceList,
    /// A node list.
    Nodes(Vec<&'a NodeMetrics>),
    /// One node.
    Node(&'a NodeMetrics),
    /// A pod list.
    Pods(Vec<&'a P>),
    /// One pod.
    Pod(&'a P),
}

/// What a `metrics.k8s.io/v1beta1` path selects; `None` for a path that is not a metrics path,
/// `Err` for a failure answer (bad selector, NotFound, watch). With `sorted` (nodes by name,
/// pods by namespace then name, as [`MetricsSnapshot`](crate::server::MetricsSnapshot) keeps
/// them), gets and namespace lists are binary searches instead of scans.
pub fn select<'a, P: PodItem>(
    objects: &Objects<'_>,
    query: Option<&str>,
    nodes: &'a [NodeMetrics],
    pods: &'a [P],
    sorted: bool,
) -> Option<Result<Selected<'a, P>, HttpResponse>> {
    if watch(query) {
        return Some(Err(http::status(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "watch is not supported on metrics.k8s.io", None)));
    }
    Some(match *objects {
        Objects::Root => Ok(Selected::ResourceList),
        Objects::Nodes => selectors(query).map(|(l, f)| {
            Selected::Nodes(
                nodes
                    .iter()
                    .filter(|n| l.matches(n.metadata.labels.as_ref()))
                    .filter(|n| {
                        f.matches(|field| match field {
                            "metadata.name" => Some(n.name().to_string()),
                            "metadata.namespace" => Some(String::new()),
                            _ => None,
                        })
                    })
                    .collect(),
            )
        }),
        Objects::Node(name) => {
            let found = if sorted { nodes.binary_search_by(|n| n.name().cmp(name)).ok().map(|i| &nodes[i]) } else { nodes.iter().find(|n| n.name() == name) };
            found.map(Selected::Node).ok_or_else(|| http::not_found_object("nodemetrics", GROUP, name))
        }
        Objects::Pods { namespace: None } => pod_list(None, query, pods),
        Objects::Pods { namespace: Some(ns) } => pod_list(Some(ns), query, if sorted { namespace_range(pods, ns) } else { pods }),
        Objects::Pod { namespace: ns, name } => {
            let found = if sorted {
                let in_ns = namespace_range(pods, ns);
                in_ns.binary_search_by(|p| p.name().cmp(name)).ok().map(|i| &in_ns[i])
            } else {
                pods.iter().find(|p| p.namespace() == ns && p.name() == name)
            };
            found.map(Selected::Pod).ok_or_else(|| http::not_found_object("podmetrics", GROUP, &format!("{ns}/{name}")))
        }
        Objects::Other => return None,
    })
}

/// Serves a `metrics.k8s.io/v1beta1` path as JSON (see [`select`]).
#[cfg_attr(not(feature = "testkit"), allow(dead_code))]
pub fn respond(objects: &Objects<'_>, query: Option<&str>, nodes: &[NodeMetrics], pods: &[PodMetrics]) -> Option<HttpResponse> {
    let ok = |body: String| http::json(StatusCode::OK, body);
    Some(match select(objects, query, nodes, pods, false)? {
        Err(r) => r,
        Ok(Selected::ResourceList) => http::json(StatusCode::OK, resource_list()),
        Ok(Selected::Nodes(items)) => ok(list_to_wire_json("NodeMetricsList", GROUP_VERSION, &items, None)),
        Ok(Selected::Node(n)) => ok(to_wire_json(n, GROUP_VERSION)),
        Ok(Selected::Pods(items)) => ok(list_to_wire_json("PodMetricsList", GROUP_VERSION, &items, None)),
        Ok(Selected::Pod(p)) => ok(to_wire_json(p, GROUP_VERSION)),
    })
}

/// The pods of namespace `ns` in pods sorted by namespace.
fn namespace_range<'a, P: PodItem>(pods: &'a [P], ns: &str) -> &'a [P] {
    let start = pods.partition_point(|p| p.namespace() < ns);
    let end = start + pods[start..].partition_point(|p| p.namespace() == ns);
    &pods[start..end]
}

fn pod_list<'a, P: PodItem>(ns: Option<&str>, query: Option<&str>, pods: &'a [P]) -> Result<Selected<'a, P>, HttpResponse> {
    let (l, f) = selectors(query)?;
    Ok(Selected::Pods(
        pods.iter()
            .filter(|p| ns.is_none_or(|ns| p.namespace() == ns))
            .filter(|p| l.matches(p.labels()))
            .filter(|p| {
                f.matches(|field| match field {
                    "metadata.name" => Some(p.name().to_string()),
                    "metadata.namespace" => Some(p.namespace().to_string()),
                    _ => None,
                })
            })
            .collect(),
    ))
}
