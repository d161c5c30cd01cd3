//! The `metrics.k8s.io/v1beta1` read paths, served from slices of metrics objects: lists with
//! label and field selectors, get by name, NotFound as a `Status`. Shared by the loopback API
//! server and `kubemetrics serve`.

use super::http::{self, HttpResponse};
use super::route::{Objects, watch};
use crate::metrics::{GROUP, NodeMetrics, PodMetrics, list_to_wire_json, to_wire_json};
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::{ServedNode, ServedPod};
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

/// What node lists are filtered and sorted by.
pub trait NodeItem {
    /// Name.
    fn name(&self) -> &str;
    /// Labels.
    fn labels(&self) -> Option<&BTreeMap<String, String>>;
}

impl NodeItem for NodeMetrics {
    fn name(&self) -> &str {
        NodeMetrics::name(self)
    }
    fn labels(&self) -> Option<&BTreeMap<String, String>> {
        self.metadata.labels.as_ref()
    }
}

impl NodeItem for ServedNode {
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
pub enum Selected<'a, N = NodeMetrics, P = PodMetrics> {
    /// `/` of the group-version: the resource list.
    ResourceList,
    /// A node list.
    Nodes(List<'a, N>),
    /// One node.
    Node(&'a N),
    /// A pod list.
    Pods(List<'a, P>),
    /// One pod.
    Pod(&'a P),
}

/// What a `metrics.k8s.io/v1beta1` path selects; `None` for a path that is not a metrics path,
/// `Err` for a failure answer (bad selector, NotFound, watch). With `sorted` (nodes by name,
/// pods by namespace then name, as [`MetricsSnapshot`](crate::server::MetricsSnapshot) keeps
/// them), gets and namespace lists are binary searches instead of scans.
pub fn select<'a, N: NodeItem, P: PodItem>(
    objects: &Objects<'_>,
    query: Option<&str>,
    nodes: &'a [N],
    pods: &'a [P],
    sorted: bool,
) -> Option<Result<Selected<'a, N, P>, HttpResponse>> {
    if watch(query) {
        return Some(Err(http::status(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "watch is not supported on metrics.k8s.io", None)));
    }
    Some(match *objects {
        Objects::Root => Ok(Selected::ResourceList),
        Objects::Nodes => selectors(query).map(|(l, f)| {
            let picked = if l.is_empty() && f.is_empty() {
                Picked::Range(0..nodes.len())
            } else {
                let keep = |n: &N| {
                    l.matches(n.labels())
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
fn pod_list<'a, N, P: PodItem>(ns: Option<&str>, query: Option<&str>, pods: &'a [P], range: Range<usize>) -> Result<Selected<'a, N, P>, HttpResponse> {
    let (l, f) = selectors(query)?;
    if ns.is_none() && l.is_empty() && f.is_empty() {
        return Ok(Selected::Pods(List { all: pods, picked: Picked::Range(range) }));
    }
    // Pods share label sets (the inventory keeps one per distinct set, and pods of a workload
    // sit next to each other in name order): a set is matched once per run of pods holding it,
    // recognised by its address, without reading it again.
    let mut last: Option<(*const BTreeMap<String, String>, bool)> = None;
    let mut labels_match = |labels: Option<&BTreeMap<String, String>>| {
        let at = labels.map_or(std::ptr::null(), |m| m as *const _);
        match last {
            Some((seen, matched)) if seen == at => matched,
            _ => {
                let matched = l.matches(labels);
                last = Some((at, matched));
                matched
            }
        }
    };
    let mut keep = |p: &P| {
        ns.is_none_or(|ns| p.namespace() == ns)
            && labels_match(p.labels())
            && f.matches(|field| match field {
                "metadata.name" => Some(p.name().to_string()),
                "metadata.namespace" => Some(p.namespace().to_string()),
                _ => None,
            })
    };
    let picked = range.filter(|&i| pods.get(i).is_some_and(&mut keep)).collect();
    Ok(Selected::Pods(List { all: pods, picked: Picked::Indices(picked) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{GoDuration, Time};
    use crate::store::{ServedContainer, ServedUsage, SharedLabels, SharedName};
    use std::sync::Arc;

    fn pod(namespace: &str, name: &str, labels: Option<&SharedLabels>) -> ServedPod {
        ServedPod {
            namespace: SharedName::from(namespace),
            name: Arc::from(name),
            labels: labels.cloned(),
            timestamp: Time::default(),
            window: GoDuration(15_000_000_000),
            containers: vec![ServedContainer { name: SharedName::from("c"), usage: ServedUsage::measured(1, 2, None) }].into(),
            extra_metadata: None,
        }
    }

    /// Label sets shared by runs of pods, an equal set that is another allocation, pods without
    /// labels: every selector picks what matching each pod on its own picks.
    #[test]
    fn shared_label_sets_select_what_each_pod_matches() {
        let set = |pairs: &[(&str, &str)]| Arc::new(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>());
        let (web, web_again, db) = (set(&[("app", "web")]), set(&[("app", "web")]), set(&[("app", "db"), ("tier", "data")]));
        let mut pods = Vec::new();
        for (i, labels) in [Some(&web), Some(&web), Some(&db), Some(&web_again), None, Some(&db), Some(&db), Some(&web), None].into_iter().enumerate() {
            pods.push(pod(if i < 6 { "a" } else { "b" }, &format!("p{i}"), labels));
        }
        for query in ["labelSelector=app%3Dweb", "labelSelector=app!%3Dweb", "labelSelector=tier", "labelSelector=!tier", "labelSelector=app+in+(db)"] {
            let selector = LabelSelector::parse(&http::query_param(Some(query), "labelSelector").unwrap_or_default()).expect("selector");
            for ns in [None, Some("a"), Some("b")] {
                let want: Vec<usize> =
                    (0..pods.len()).filter(|&i| ns.is_none_or(|ns| &*pods[i].namespace == ns) && selector.matches(pods[i].labels.as_deref())).collect();
                let objects = Objects::Pods { namespace: ns };
                let Some(Ok(Selected::Pods(list))) = select::<NodeMetrics, _>(&objects, Some(query), &[], &pods, true) else { panic!("{query}: a pod list") };
                assert_eq!(list.picked.iter().collect::<Vec<_>>(), want, "{query} in {ns:?}");
                assert!(!want.is_empty(), "{query} in {ns:?} picks something");
            }
        }
    }
}
