//! The one parser of request paths: every path the metrics server and the loopback API server
//! answer, parsed once per request into a [`Route`] that both the authorization attributes
//! ([`Route::attributes`]) and the dispatch are read from.
//!
//! Paths are parsed after percent-decoding ([`http::percent_decode_path`]), so `pods/%2A/m` is
//! `pods/*/m`. The rules, kept from the string matching this replaces:
//! - the fixed paths (`/apis`, `/version`, `/openapi/v2`, group documents, ...) may end in
//!   slashes;
//! - an API prefix (`/apis/metrics.k8s.io/v1beta1`, `/apis/custom.metrics.k8s.io/`,
//!   `/apis/external.metrics.k8s.io/`, `/api/v1/`, `/push/`) must be spelled exactly, after
//!   which empty segments are ignored (`pods//x/` is `pods/x`);
//! - health paths are `/healthz`, `/livez` or `/readyz`, optionally followed by `/<check>`.
//!
//! Parsing never fails: what no server answers is [`Route::Unknown`] (or an `Other` shape
//! inside a known prefix), answered 404.

use super::auth::Attributes;
use super::http;
use ::http::Method;

/// The non-empty segments of a path: `//a/b/` gives `a`, `b`.
pub fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// An API group of metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiGroup {
    /// `metrics.k8s.io` (resource metrics of nodes and pods).
    Metrics,
    /// `custom.metrics.k8s.io`.
    Custom,
    /// `external.metrics.k8s.io`.
    External,
}

impl ApiGroup {
    /// The group's name.
    pub fn name(self) -> &'static str {
        match self {
            ApiGroup::Metrics => "metrics.k8s.io",
            ApiGroup::Custom => "custom.metrics.k8s.io",
            ApiGroup::External => "external.metrics.k8s.io",
        }
    }

    fn from_name(name: &str) -> Option<ApiGroup> {
        [ApiGroup::Metrics, ApiGroup::Custom, ApiGroup::External].into_iter().find(|g| g.name() == name)
    }
}

/// The health endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Health {
    /// `/healthz` (the livez checks, under the legacy name).
    Healthz,
    /// `/livez`.
    Livez,
    /// `/readyz`.
    Readyz,
}

impl Health {
    /// The endpoint's name, without the slash (`readyz`).
    pub fn name(self) -> &'static str {
        match self {
            Health::Healthz => "healthz",
            Health::Livez => "livez",
            Health::Readyz => "readyz",
        }
    }
}

/// The OpenAPI documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpenApi {
    /// `/openapi/v2`.
    V2,
    /// `/openapi/v3` (the index of v3 documents).
    V3,
    /// `/openapi/v3/apis/metrics.k8s.io/v1beta1`.
    V3Metrics,
}

/// Node and pod paths, the same under `metrics.k8s.io/v1beta1` and the core `v1` API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Objects<'a> {
    /// The group-version itself (its resource list).
    Root,
    /// `nodes`.
    Nodes,
    /// `nodes/{name}`.
    Node(&'a str),
    /// `pods` (every namespace) or `namespaces/{namespace}/pods`.
    Pods {
        /// The namespace, `None` for every namespace.
        namespace: Option<&'a str>,
    },
    /// `namespaces/{namespace}/pods/{name}`.
    Pod {
        /// Namespace.
        namespace: &'a str,
        /// Name.
        name: &'a str,
    },
    /// Anything else under the group-version.
    Other,
}

impl<'a> Objects<'a> {
    /// Parses the segments after the group-version.
    pub fn parse(tail: &[&'a str]) -> Objects<'a> {
        match *tail {
            [] => Objects::Root,
            ["nodes"] => Objects::Nodes,
            ["nodes", name] => Objects::Node(name),
            ["pods"] => Objects::Pods { namespace: None },
            ["namespaces", namespace, "pods"] => Objects::Pods { namespace: Some(namespace) },
            ["namespaces", namespace, "pods", name] => Objects::Pod { namespace, name },
            _ => Objects::Other,
        }
    }

    /// `(resource, namespace, name)` for the authorization of a node or pod path (empty
    /// namespace: cluster-wide; empty name: a list); `None` for the root and other paths.
    fn resource(&self) -> Option<(&'static str, &'a str, &'a str)> {
        Some(match *self {
            Objects::Nodes => ("nodes", "", ""),
            Objects::Node(name) => ("nodes", "", name),
            Objects::Pods { namespace } => ("pods", namespace.unwrap_or(""), ""),
            Objects::Pod { namespace, name } => ("pods", namespace, name),
            Objects::Root | Objects::Other => return None,
        })
    }
}

/// The paths of `custom.metrics.k8s.io` and `external.metrics.k8s.io` after the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricPath<'a> {
    /// The version itself (its discovery document).
    Root,
    /// `namespaces/{namespace}/metrics/{metric}`: a metric of the namespace object.
    NamespaceMetric {
        /// The namespace (the described object's name).
        namespace: &'a str,
        /// Metric name.
        metric: &'a str,
    },
    /// `namespaces/{namespace}/{resource}/{name}/{metric}` (`namespace: Some`) or
    /// `{resource}/{name}/{metric}` (root-scoped, `namespace: None`); `name` `*`: every object
    /// matching the label selector.
    Object {
        /// Namespace of namespaced objects.
        namespace: Option<&'a str>,
        /// Resource (`pods`, `deployments.apps`).
        resource: &'a str,
        /// Object name, or `*`.
        name: &'a str,
        /// Metric name.
        metric: &'a str,
    },
    /// `namespaces/{namespace}/{metric}`: an external metric (only under
    /// `external.metrics.k8s.io`).
    External {
        /// Namespace.
        namespace: &'a str,
        /// Metric name.
        metric: &'a str,
    },
    /// Anything else.
    Other,
}

impl<'a> MetricPath<'a> {
    /// Parses the segments after the version of `group` (custom or external).
    pub fn parse(group: ApiGroup, tail: &[&'a str]) -> MetricPath<'a> {
        match *tail {
            [] => MetricPath::Root,
            ["namespaces", namespace, "metrics", metric] => MetricPath::NamespaceMetric { namespace, metric },
            ["namespaces", namespace, resource, name, metric] => MetricPath::Object { namespace: Some(namespace), resource, name, metric },
            ["namespaces", namespace, metric] if group == ApiGroup::External => MetricPath::External { namespace, metric },
            [resource, name, metric] => MetricPath::Object { namespace: None, resource, name, metric },
            _ => MetricPath::Other,
        }
    }

    /// `(resource, namespace, name)` the request is authorized for; `None` for the root and
    /// other paths. A namespace's own metric is about the `namespaces` resource named after it.
    fn resource(&self) -> Option<(&'a str, &'a str, &'a str)> {
        let (resource, namespace, name) = match *self {
            MetricPath::NamespaceMetric { namespace, .. } => ("namespaces", namespace, namespace),
            MetricPath::Object { namespace, resource, name, .. } => (resource, namespace.unwrap_or(""), name),
            MetricPath::External { namespace, metric } => (metric, namespace, ""),
            MetricPath::Root | MetricPath::Other => return None,
        };
        Some((resource, namespace, if name == "*" { "" } else { name }))
    }
}

/// What a request path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route<'a> {
    /// `/healthz`, `/livez`, `/readyz`, with a check name after a slash (`/readyz/shutdown`).
    /// `check` is `None` for all checks, and `Some("")` for a path such as `/readyz//`.
    Health {
        /// Which endpoint.
        kind: Health,
        /// One check (trailing slashes removed).
        check: Option<&'a str>,
    },
    /// `/metrics`: the server's own metrics.
    SelfMetrics,
    /// `PUT /push/custom/[namespaces/{namespace}/]{resource}/{name}/{metric}`
    /// ([`MetricPath::Object`]), `PUT /push/external/namespaces/{namespace}/{metric}`
    /// ([`MetricPath::External`]); [`MetricPath::Other`] for anything else under `/push/`.
    Push(MetricPath<'a>),
    /// `/version`.
    Version,
    /// `/api` (legacy core API versions).
    Api,
    /// `/apis` (the group list).
    Apis,
    /// `/apis/{group}` (a group document).
    Group(ApiGroup),
    /// `/apis/metrics.k8s.io/v1beta1[/...]`.
    Metrics(Objects<'a>),
    /// `/apis/custom.metrics.k8s.io/{version}[/...]`.
    Custom {
        /// The version segment, whatever it is (only `v1beta1` and `v1beta2` are served).
        version: &'a str,
        /// What follows the version.
        path: MetricPath<'a>,
    },
    /// `/apis/external.metrics.k8s.io/{version}[/...]`.
    External {
        /// The version segment, whatever it is (only `v1beta1` is served).
        version: &'a str,
        /// What follows the version.
        path: MetricPath<'a>,
    },
    /// A path under `/apis/metrics.k8s.io/` of no version that is served.
    OtherInGroup(ApiGroup),
    /// `/openapi/...` documents.
    OpenApi(OpenApi),
    /// `/api/v1/...` Node and Pod objects.
    Core(Objects<'a>),
    /// `/api/v1/nodes/{node}/proxy{target}`: the node proxy to a kubelet. `target` is what
    /// follows `proxy` (empty or starting with `/`).
    NodeProxy {
        /// Node name.
        node: &'a str,
        /// Path on the kubelet.
        target: &'a str,
    },
    /// `/apis/authentication.k8s.io/v1/tokenreviews`.
    TokenReview,
    /// `/apis/authorization.k8s.io/v1/subjectaccessreviews`.
    SubjectAccessReview,
    /// `/_loopback/{rest}`: the loopback API server's test controls (`rest` as given).
    LoopbackControl(&'a str),
    /// Anything else.
    Unknown,
}

impl<'a> Route<'a> {
    /// Parses a (percent-decoded) request path. Never fails: see [`Route::Unknown`].
    pub fn parse(path: &'a str) -> Route<'a> {
        if let Some(route) = health(path) {
            return route;
        }
        if path == "/metrics" {
            return Route::SelfMetrics;
        }
        if path.starts_with("/push/") {
            return Route::Push(push(path));
        }
        if let Some(rest) = path.strip_prefix("/_loopback/") {
            return Route::LoopbackControl(rest);
        }
        match path.trim_end_matches('/') {
            "/version" => return Route::Version,
            "/api" => return Route::Api,
            "/apis" => return Route::Apis,
            "/openapi/v2" => return Route::OpenApi(OpenApi::V2),
            "/openapi/v3" => return Route::OpenApi(OpenApi::V3),
            "/openapi/v3/apis/metrics.k8s.io/v1beta1" => return Route::OpenApi(OpenApi::V3Metrics),
            "/apis/authentication.k8s.io/v1/tokenreviews" => return Route::TokenReview,
            "/apis/authorization.k8s.io/v1/subjectaccessreviews" => return Route::SubjectAccessReview,
            _ => {}
        }
        if let Some(rest) = path.strip_prefix("/apis/") {
            return apis(rest);
        }
        if let Some(rest) = path.strip_prefix("/api/v1/") {
            return core_v1(rest);
        }
        Route::Unknown
    }

    /// The metrics API group the path belongs to, if any (the test kit's loopback API routes on it).
    #[cfg(any(test, feature = "testkit"))]
    pub fn group(&self) -> Option<ApiGroup> {
        match *self {
            Route::Group(g) | Route::OtherInGroup(g) => Some(g),
            Route::Metrics(_) => Some(ApiGroup::Metrics),
            Route::Custom { .. } => Some(ApiGroup::Custom),
            Route::External { .. } => Some(ApiGroup::External),
            _ => None,
        }
    }

    /// What the request asks to do, for authorization: `get`, `list` or `watch` (`?watch=true`)
    /// of the resource a metrics path names; `get` of the path otherwise; `put` of the path for
    /// any `PUT`. `path` is the decoded path this route was parsed from.
    pub fn attributes(&self, method: &Method, path: &str, query: Option<&str>) -> Attributes {
        let non_resource = |verb: &str| Attributes::NonResource { verb: verb.into(), path: path.into() };
        if method == Method::PUT {
            return non_resource("put");
        }
        let resource = |verb: &str, group: ApiGroup, version: &str, (resource, namespace, name): (&str, &str, &str)| Attributes::Resource {
            verb: verb.into(),
            group: group.name().into(),
            version: version.into(),
            resource: resource.into(),
            namespace: namespace.into(),
            name: name.into(),
        };
        match *self {
            Route::Custom { version, path } => path.resource().map_or_else(|| non_resource("get"), |r| resource("get", ApiGroup::Custom, version, r)),
            Route::External { version, path } => path.resource().map_or_else(|| non_resource("get"), |r| resource("get", ApiGroup::External, version, r)),
            Route::Metrics(objects) => match objects.resource() {
                Some(r) => {
                    let verb = if watch(query) {
                        "watch"
                    } else if r.2.is_empty() {
                        "list"
                    } else {
                        "get"
                    };
                    resource(verb, ApiGroup::Metrics, "v1beta1", r)
                }
                None => non_resource("get"),
            },
            _ => non_resource("get"),
        }
    }
}

/// `?watch=true` (or `1`).
pub fn watch(query: Option<&str>) -> bool {
    http::query_param(query, "watch").is_some_and(|w| w == "true" || w == "1")
}

/// `/healthz`, `/livez`, `/readyz` and their checks (leading slashes are skipped, as before).
fn health(path: &str) -> Option<Route<'_>> {
    let path = path.trim_start_matches('/');
    let (kind, rest) = path.split_once('/').unwrap_or((path, ""));
    let kind = match kind {
        "healthz" => Health::Healthz,
        "livez" => Health::Livez,
        "readyz" => Health::Readyz,
        _ => return None,
    };
    Some(Route::Health { kind, check: (!rest.is_empty()).then(|| rest.trim_end_matches('/')) })
}

fn push(path: &str) -> MetricPath<'_> {
    let parts: Vec<&str> = segments(path).collect();
    match *parts.as_slice() {
        ["push", "custom", "namespaces", namespace, resource, name, metric] => MetricPath::Object { namespace: Some(namespace), resource, name, metric },
        ["push", "custom", resource, name, metric] => MetricPath::Object { namespace: None, resource, name, metric },
        ["push", "external", "namespaces", namespace, metric] => MetricPath::External { namespace, metric },
        _ => MetricPath::Other,
    }
}

/// Paths under `/apis/` (`rest` is what follows) other than the fixed ones.
fn apis(rest: &str) -> Route<'_> {
    let (group_name, after) = rest.split_once('/').unwrap_or((rest, ""));
    let Some(group) = ApiGroup::from_name(group_name) else { return Route::Unknown };
    if group == ApiGroup::Metrics {
        // The version directly follows the group.
        let (version, after) = after.split_once('/').unwrap_or((after, ""));
        if version == "v1beta1" {
            return Route::Metrics(Objects::parse(&segments(after).collect::<Vec<_>>()));
        }
        return if segments(rest).count() == 1 { Route::Group(group) } else { Route::OtherInGroup(group) };
    }
    let tail: Vec<&str> = segments(after).collect();
    let Some((&version, tail)) = tail.split_first() else { return Route::Group(group) };
    let path = MetricPath::parse(group, tail);
    if group == ApiGroup::Custom { Route::Custom { version, path } } else { Route::External { version, path } }
}

/// Paths under `/api/v1/` (`rest` is what follows).
fn core_v1(rest: &str) -> Route<'_> {
    let proxy = rest.strip_prefix("nodes/").and_then(|r| r.split_once('/')).and_then(|(node, after)| {
        let target = after.strip_prefix("proxy")?;
        (!node.is_empty() && (target.is_empty() || target.starts_with('/'))).then_some(Route::NodeProxy { node, target })
    });
    if let Some(route) = proxy {
        return route;
    }
    Route::Core(Objects::parse(&segments(rest).collect::<Vec<_>>()))
}

#[cfg(test)]
mod tests;
