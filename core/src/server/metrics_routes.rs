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
use std::ops::Range;

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

/// Which items of a served slice a list holds, by position (so that a streamed answer can own
/// them along with the snapshot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Picked {
    /// A run of items: all of them, or a namespace of a sorted slice, when no selector filters.
    Range(Range<usize>),
    /// The positions of the items, in order.
    Indices(Vec<usize>),
}

impl Picked {
    /// The number of items.
    pub fn len(&self) -> usize {
        match self {
            Picked::Range(r) => r.len(),
            Picked::Indices(v) => v.len(),
        }
    }

    /// The position of the `n`th item.
    pub fn get(&self, n: usize) -> Option<usize> {
        match self {
            Picked::Range(r) => r.clone().nth(n),
            Picked::Indices(v) => v.get(n).copied(),
        }
    }

    /// The positions, in order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len()).filter_map(|n| self.get(n))
    }
}

/// The items of a list: a served slice and which of its items the list holds.
#[derive(Debug, Clone)]
pub struct List<'a, T> {
    /// The served slice.
    pub all: &'a [T],
    /// The items of the list.
    pub picked: Picked,
}

impl<'a, T> List<'a, T> {
    /// The items, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a T> + '_ {
        let all = self.all;
        self.picked.iter().filter_map(move |i| all.get(i))
    }

    /// The items, borrowed, for the whole-body encoders.
    pub fn refs(&self) -> Vec<&'a T> {
        self.iter().collect()
    }
}

/// What a metrics path selects (borrowed from the served slices: nothing is copied).
#[derive(Debug, Clone)]
pub enum Selected<'a, P = PodMetrics> {
    /// `/` of the group-version: the resource list.
    ResourceList,
    /// A node list.
    Nodes(List<'a, NodeMetrics>),
    /// One node.
    Node(&'a NodeMetrics),
    /// A pod list.
    Pods(List<'a, P>),
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
            let picked = if l.is_empty() && f.is_empty() {
                Picked::Range(0..nodes.len())
            } else {
                let keep = |n: &NodeMetrics| {
                    l.matches(n.metadata.labels.as_ref())
                        && f.matches(|field| match field {
                            "metadata.name" => Some(n.name().to_string()),
                            "metadata.namespace" => Some(String::new()),
                            _ => None,
                        })
                };
                Picked::Indices(nodes.iter().enumerate().filter(|(_, n)| keep(n)).map(|(i, _)| i).collect())
            };
            Selected::Nodes(List { all: nodes, picked })
        }),
        Objects::Node(name) => {
            let found = if sorted { nodes.binary_search_by(|n| n.name().cmp(name)).ok().map(|i| &nodes[i]) } else { nodes.iter().find(|n| n.name() == name) };
            found.map(Selected::Node).ok_or_else(|| http::not_found_object("nodemetrics", GROUP, name))
        }
        Objects::Pods { namespace: None } => pod_list(None, query, pods, 0..pods.len()),
        Objects::Pods { namespace: Some(ns) } if sorted => pod_list(None, query, pods, namespace_range(pods, ns)),
        Objects::Pods { namespace: Some(ns) } => pod_list(Some(ns), query, pods, 0..pods.len()),
        Objects::Pod { namespace: ns, name } => {
            let found = if sorted {
                let in_ns = &pods[namespace_range(pods, ns)];
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
        Ok(Selected::Nodes(items)) => ok(list_to_wire_json("NodeMetricsList", GROUP_VERSION, &items.refs(), None)),
        Ok(Selected::Node(n)) => ok(to_wire_json(n, GROUP_VERSION)),
        Ok(Selected::Pods(items)) => ok(list_to_wire_json("PodMetricsList", GROUP_VERSION, &items.refs(), None)),
        Ok(Selected::Pod(p)) => ok(to_wire_json(p, GROUP_VERSION)),
    })
}

/// The positions of the pods of namespace `ns` in pods sorted by namespace.
fn namespace_range<P: PodItem>(pods: &[P], ns: &str) -> Range<usize> {
    let start = pods.partition_point(|p| p.namespace() < ns);
    let end = start + pods[start..].partition_point(|p| p.namespace() == ns);
    start..end
}

/// The pods of `pods[range]` in namespace `ns` (any, when `None`) that the query's selectors
/// match.
fn pod_list<'a, P: PodItem>(ns: Option<&str>, query: Option<&str>, pods: &'a [P], range: Range<usize>) -> Result<Selected<'a, P>, HttpResponse> {
    let (l, f) = selectors(query)?;
    if ns.is_none() && l.is_empty() && f.is_empty() {
        return Ok(Selected::Pods(List { all: pods, picked: Picked::Range(range) }));
    }
    let keep = |p: &P| {
        ns.is_none_or(|ns| p.namespace() == ns)
            && l.matches(p.labels())
            && f.matches(|field| match field {
                "metadata.name" => Some(p.name().to_string()),
                "metadata.namespace" => Some(p.namespace().to_string()),
                _ => None,
            })
    };
    let picked = range.filter(|&i| pods.get(i).is_some_and(keep)).collect();
    Ok(Selected::Pods(List { all: pods, picked: Picked::Indices(picked) }))
}
