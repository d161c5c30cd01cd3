use super::*;
use proptest::prelude::*;

fn parse(path: &str) -> Route<'_> {
    Route::parse(path)
}

#[test]
fn fixed_paths_allow_trailing_slashes() {
    for (path, want) in [
        ("/version", Route::Version),
        ("/version/", Route::Version),
        ("/api", Route::Api),
        ("/apis", Route::Apis),
        ("/apis//", Route::Apis),
        ("/metrics", Route::SelfMetrics),
        ("/openapi/v2", Route::OpenApi(OpenApi::V2)),
        ("/openapi/v3/", Route::OpenApi(OpenApi::V3)),
        ("/openapi/v3/apis/metrics.k8s.io/v1beta1", Route::OpenApi(OpenApi::V3Metrics)),
        ("/apis/authentication.k8s.io/v1/tokenreviews", Route::TokenReview),
        ("/apis/authorization.k8s.io/v1/subjectaccessreviews", Route::SubjectAccessReview),
        ("/apis/metrics.k8s.io", Route::Group(ApiGroup::Metrics)),
        ("/apis/metrics.k8s.io/", Route::Group(ApiGroup::Metrics)),
        ("/apis/custom.metrics.k8s.io", Route::Group(ApiGroup::Custom)),
        ("/apis/custom.metrics.k8s.io//", Route::Group(ApiGroup::Custom)),
        ("/apis/external.metrics.k8s.io", Route::Group(ApiGroup::External)),
    ] {
        assert_eq!(parse(path), want, "{path}");
    }
}

#[test]
fn unknown_and_malformed_paths() {
    for path in [
        "",
        "/",
        "//",
        "version",
        "/versions",
        "//apis/metrics.k8s.io/v1beta1/nodes",
        "/apis/metrics.k8s.iox/v1beta1/nodes",
        "/apis/apps/v1/deployments",
        "/apis//custom.metrics.k8s.io/v1beta2/pods/x/m",
        "/api/v2/nodes",
        "/api/v1",
        "/openapi/v4",
        "/openapi",
        "/metrics/x",
        "\u{0}/%/\u{feff}",
    ] {
        assert_eq!(parse(path), Route::Unknown, "{path:?}");
    }
    // "/metrics" must be exact, like before.
    assert_eq!(parse("/metrics/"), Route::Unknown);
    // Inside a group: a version nothing serves, or the version not right after the group.
    for path in
        ["/apis/metrics.k8s.io/v1beta2/nodes", "/apis/metrics.k8s.io//v1beta1/nodes", "/apis/metrics.k8s.io/v1beta1nodes", "/apis/metrics.k8s.io/v1beta1x/"]
    {
        assert_eq!(parse(path), Route::OtherInGroup(ApiGroup::Metrics), "{path}");
    }
}

#[test]
fn resource_metrics_paths() {
    let m = |o| Route::Metrics(o);
    for (path, want) in [
        ("/apis/metrics.k8s.io/v1beta1", m(Objects::Root)),
        ("/apis/metrics.k8s.io/v1beta1/", m(Objects::Root)),
        ("/apis/metrics.k8s.io/v1beta1//", m(Objects::Root)),
        ("/apis/metrics.k8s.io/v1beta1/nodes", m(Objects::Nodes)),
        ("/apis/metrics.k8s.io/v1beta1//nodes/", m(Objects::Nodes)),
        ("/apis/metrics.k8s.io/v1beta1/nodes/n1", m(Objects::Node("n1"))),
        ("/apis/metrics.k8s.io/v1beta1/pods", m(Objects::Pods { namespace: None })),
        ("/apis/metrics.k8s.io/v1beta1/namespaces/ns/pods", m(Objects::Pods { namespace: Some("ns") })),
        ("/apis/metrics.k8s.io/v1beta1/namespaces/ns/pods/p", m(Objects::Pod { namespace: "ns", name: "p" })),
        ("/apis/metrics.k8s.io/v1beta1/namespaces/ns", m(Objects::Other)),
        ("/apis/metrics.k8s.io/v1beta1/nodes/a/b", m(Objects::Other)),
        ("/apis/metrics.k8s.io/v1beta1/namespaces/ns/pods/p/x", m(Objects::Other)),
        ("/apis/metrics.k8s.io/v1beta1/deployments", m(Objects::Other)),
    ] {
        assert_eq!(parse(path), want, "{path}");
        assert_eq!(parse(path).group(), Some(ApiGroup::Metrics));
    }
}

#[test]
fn core_v1_paths_and_the_node_proxy() {
    for (path, want) in [
        ("/api/v1/", Route::Core(Objects::Root)),
        ("/api/v1/nodes", Route::Core(Objects::Nodes)),
        ("/api/v1/nodes/n1", Route::Core(Objects::Node("n1"))),
        ("/api/v1/pods", Route::Core(Objects::Pods { namespace: None })),
        ("/api/v1/namespaces/default/pods/", Route::Core(Objects::Pods { namespace: Some("default") })),
        ("/api/v1/namespaces/default/pods/web-1", Route::Core(Objects::Pod { namespace: "default", name: "web-1" })),
        ("/api/v1/services", Route::Core(Objects::Other)),
        ("/api/v1/nodes/n1/proxy", Route::NodeProxy { node: "n1", target: "" }),
        ("/api/v1/nodes/n1/proxy/metrics/resource", Route::NodeProxy { node: "n1", target: "/metrics/resource" }),
        ("/api/v1/nodes/n1/proxy/", Route::NodeProxy { node: "n1", target: "/" }),
        ("/api/v1/nodes/n1/proxyx", Route::Core(Objects::Other)),
        ("/api/v1/nodes//proxy/x", Route::Core(Objects::Other)),
    ] {
        assert_eq!(parse(path), want, "{path}");
    }
}

#[test]
fn custom_and_external_metric_paths() {
    let custom = |version, path| Route::Custom { version, path };
    let external = |version, path| Route::External { version, path };
    for (path, want) in [
        ("/apis/custom.metrics.k8s.io/v1beta2", custom("v1beta2", MetricPath::Root)),
        ("/apis/custom.metrics.k8s.io/v1beta1/", custom("v1beta1", MetricPath::Root)),
        ("/apis/custom.metrics.k8s.io/v9", custom("v9", MetricPath::Root)),
        (
            "/apis/custom.metrics.k8s.io/v1beta2/namespaces/web/pods/*/http_requests",
            custom("v1beta2", MetricPath::Object { namespace: Some("web"), resource: "pods", name: "*", metric: "http_requests" }),
        ),
        ("/apis/custom.metrics.k8s.io/v1beta2/namespaces/web/metrics/m", custom("v1beta2", MetricPath::NamespaceMetric { namespace: "web", metric: "m" })),
        (
            "/apis/custom.metrics.k8s.io/v1beta2/nodes/n1/m",
            custom("v1beta2", MetricPath::Object { namespace: None, resource: "nodes", name: "n1", metric: "m" }),
        ),
        // For custom metrics three segments are always a root-scoped object (here: a namespace).
        (
            "/apis/custom.metrics.k8s.io/v1beta2/namespaces/web/m",
            custom("v1beta2", MetricPath::Object { namespace: None, resource: "namespaces", name: "web", metric: "m" }),
        ),
        ("/apis/custom.metrics.k8s.io/v1beta2/pods/x", custom("v1beta2", MetricPath::Other)),
        ("/apis/custom.metrics.k8s.io/v1beta2/namespaces/web/pods/x/m/extra", custom("v1beta2", MetricPath::Other)),
        ("/apis/external.metrics.k8s.io/v1beta1", external("v1beta1", MetricPath::Root)),
        (
            "/apis/external.metrics.k8s.io/v1beta1/namespaces/web/queue_depth",
            external("v1beta1", MetricPath::External { namespace: "web", metric: "queue_depth" }),
        ),
        ("/apis/external.metrics.k8s.io//v1beta1//namespaces/web/q/", external("v1beta1", MetricPath::External { namespace: "web", metric: "q" })),
        ("/apis/external.metrics.k8s.io/v1beta1/q", external("v1beta1", MetricPath::Other)),
    ] {
        assert_eq!(parse(path), want, "{path}");
    }
}

#[test]
fn health_push_and_loopback_controls() {
    let health = |kind, check| Route::Health { kind, check };
    for (path, want) in [
        ("/healthz", health(Health::Healthz, None)),
        ("/livez/", health(Health::Livez, None)),
        ("/readyz/shutdown", health(Health::Readyz, Some("shutdown"))),
        ("/readyz/poststarthook/max-in-flight-filter/", health(Health::Readyz, Some("poststarthook/max-in-flight-filter"))),
        ("/readyz//", health(Health::Readyz, Some(""))),
        ("//readyz", health(Health::Readyz, None)),
        ("/readyzz", Route::Unknown),
        ("/push/custom/namespaces/web/pods/p/m", Route::Push(MetricPath::Object { namespace: Some("web"), resource: "pods", name: "p", metric: "m" })),
        ("/push/custom/nodes/n1/m", Route::Push(MetricPath::Object { namespace: None, resource: "nodes", name: "n1", metric: "m" })),
        ("/push/external/namespaces/web/q", Route::Push(MetricPath::External { namespace: "web", metric: "q" })),
        ("/push/external/q", Route::Push(MetricPath::Other)),
        ("/push/", Route::Push(MetricPath::Other)),
        ("/push", Route::Unknown),
        ("/_loopback/fault/hang", Route::LoopbackControl("fault/hang")),
        ("/_loopback/", Route::LoopbackControl("")),
    ] {
        assert_eq!(parse(path), want, "{path}");
    }
    assert_eq!(Health::Readyz.name(), "readyz");
}

fn resource(verb: &str, group: &str, version: &str, resource: &str, namespace: &str, name: &str) -> Attributes {
    Attributes::Resource {
        verb: verb.into(),
        group: group.into(),
        version: version.into(),
        resource: resource.into(),
        namespace: namespace.into(),
        name: name.into(),
    }
}

fn attributes(method: &Method, path: &str, query: Option<&str>) -> Attributes {
    Route::parse(path).attributes(method, path, query)
}

#[test]
fn authorization_attributes() {
    let get = Method::GET;
    let m = "metrics.k8s.io";
    assert_eq!(attributes(&get, "/apis/metrics.k8s.io/v1beta1/nodes", None), resource("list", m, "v1beta1", "nodes", "", ""));
    assert_eq!(attributes(&get, "/apis/metrics.k8s.io/v1beta1/nodes/n1", None), resource("get", m, "v1beta1", "nodes", "", "n1"));
    assert_eq!(attributes(&get, "/apis/metrics.k8s.io/v1beta1/nodes", Some("watch=1")), resource("watch", m, "v1beta1", "nodes", "", ""));
    assert_eq!(attributes(&get, "/apis/metrics.k8s.io/v1beta1/namespaces/ns/pods", None), resource("list", m, "v1beta1", "pods", "ns", ""));
    assert_eq!(attributes(&get, "/apis/metrics.k8s.io/v1beta1/namespaces/ns/pods/p", Some("watch=true")), resource("watch", m, "v1beta1", "pods", "ns", "p"));
    let non = |verb: &str, path: &str| Attributes::NonResource { verb: verb.into(), path: path.into() };
    for path in ["/apis/metrics.k8s.io/v1beta1", "/apis/metrics.k8s.io/v1beta1/", "/apis", "/readyz", "/metrics", "/apis/metrics.k8s.io/v1beta1/foo"] {
        assert_eq!(attributes(&get, path, None), non("get", path));
    }
    assert_eq!(attributes(&Method::PUT, "/push/external/namespaces/web/q", None), non("put", "/push/external/namespaces/web/q"));
    assert_eq!(attributes(&Method::PUT, "/apis/metrics.k8s.io/v1beta1/nodes", None), non("put", "/apis/metrics.k8s.io/v1beta1/nodes"));
    let c = "custom.metrics.k8s.io";
    assert_eq!(attributes(&get, "/apis/custom.metrics.k8s.io/v1beta2/namespaces/web/pods/*/m", None), resource("get", c, "v1beta2", "pods", "web", ""));
    assert_eq!(
        attributes(&get, "/apis/custom.metrics.k8s.io/v1beta1/namespaces/web/metrics/m", None),
        resource("get", c, "v1beta1", "namespaces", "web", "web")
    );
    assert_eq!(attributes(&get, "/apis/custom.metrics.k8s.io/v1beta2/nodes/n1/m", None), resource("get", c, "v1beta2", "nodes", "", "n1"));
    let e = "external.metrics.k8s.io";
    assert_eq!(attributes(&get, "/apis/external.metrics.k8s.io/v1beta1/namespaces/web/q", None), resource("get", e, "v1beta1", "q", "web", ""));
}

/// The attributes as the server computed them before the parser existed, kept as the oracle
/// the parser's decisions are compared with.
fn previous_attributes(method: &Method, path: &str, query: Option<&str>) -> Attributes {
    if method == Method::PUT {
        return Attributes::NonResource { verb: "put".into(), path: path.into() };
    }
    for group in ["custom.metrics.k8s.io", "external.metrics.k8s.io"] {
        if let Some(rest) = path.strip_prefix(&format!("/apis/{group}/")) {
            let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
            let (version, namespace, resource, name) = match parts.as_slice() {
                [v, "namespaces", ns, "metrics", _m] => (*v, *ns, "namespaces", *ns),
                [v, "namespaces", ns, r, n, _m] => (*v, *ns, *r, *n),
                [v, "namespaces", ns, m] if group == "external.metrics.k8s.io" => (*v, *ns, *m, ""),
                [v, r, n, _m] => (*v, "", *r, *n),
                _ => break,
            };
            return Attributes::Resource {
                verb: "get".into(),
                group: group.into(),
                version: version.into(),
                resource: resource.into(),
                namespace: namespace.into(),
                name: if name == "*" { String::new() } else { name.into() },
            };
        }
    }
    let watch = http::query_param(query, "watch").is_some_and(|w| w == "true" || w == "1");
    if let Some(rest) = path.strip_prefix("/apis/metrics.k8s.io/v1beta1/") {
        let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
        let (resource, namespace, name) = match parts.as_slice() {
            ["nodes"] => ("nodes", "", ""),
            ["nodes", n] => ("nodes", "", *n),
            ["pods"] => ("pods", "", ""),
            ["namespaces", ns, "pods"] => ("pods", *ns, ""),
            ["namespaces", ns, "pods", n] => ("pods", *ns, *n),
            _ => return Attributes::NonResource { verb: "get".into(), path: path.into() },
        };
        let verb = if watch {
            "watch"
        } else if name.is_empty() {
            "list"
        } else {
            "get"
        };
        return Attributes::Resource {
            verb: verb.into(),
            group: "metrics.k8s.io".into(),
            version: "v1beta1".into(),
            resource: resource.into(),
            namespace: namespace.into(),
            name: name.into(),
        };
    }
    Attributes::NonResource { verb: "get".into(), path: path.into() }
}

/// Segments that make the parser's branches likely, and some that match nothing.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(vec![
            "", "", "apis", "api", "v1", "metrics.k8s.io", "custom.metrics.k8s.io", "external.metrics.k8s.io", "v1beta1", "v1beta2",
            "namespaces", "metrics", "nodes", "pods", "proxy", "push", "custom", "external", "*", "readyz", "healthz", "livez",
            "openapi", "v2", "v3", "version", "_loopback", "fault", "x", "%2A", "%", "v1beta1nodes",
        ])
        .prop_map(str::to_string),
        1 => "\\PC{0,6}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    (prop::bool::weighted(0.9), prop::collection::vec(segment(), 0..9)).prop_map(|(slash, parts)| {
        let joined = parts.join("/");
        if slash { format!("/{joined}") } else { joined }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20_000, ..ProptestConfig::default() })]

    #[test]
    fn decisions_are_those_of_before(path in path(), put in prop::bool::weighted(0.1), query in prop::option::of("(watch=(true|1|false)|a=b|watch)")) {
        let method = if put { Method::PUT } else { Method::GET };
        let decoded = http::percent_decode_path(&path);
        prop_assert_eq!(attributes(&method, &decoded, query.as_deref()), previous_attributes(&method, &decoded, query.as_deref()));
    }

    #[test]
    fn any_text_parses(path in "\\PC{0,80}") {
        let decoded = http::percent_decode_path(&path);
        let route = Route::parse(&decoded);
        let _ = route.group();
        let _ = route.attributes(&Method::GET, &decoded, Some(&path));
    }
}
