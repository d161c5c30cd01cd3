//! Request routing of the metrics server: metrics paths with content negotiation (JSON, Table,
//! YAML; protobuf requests get JSON), discovery (legacy and aggregated), OpenAPI, version,
//! health checks and `/metrics`.

use super::list_stream::{self, Format, Of};
use super::provider::{MetricsProvider, MetricsSnapshot};
use super::route::{ApiGroup, Health, Objects, OpenApi, Route};
use super::self_metrics::ServerMetrics;
use crate::metrics::Time;
use crate::metrics::{NodeMetrics, PodMetrics, Stamped, Typed, list_to_wire_json, protobuf};
use crate::server::http::{self, Body, HttpResponse};
use crate::server::metrics_routes::{self, GROUP_VERSION, Picked, Selected};
use crate::store::{ServedNode, ServedPod};
use ::http::{StatusCode, header};
use bytes::Bytes;
use std::sync::Arc;

/// The group-version discovery document of `metrics.k8s.io`.
const API_GROUP: &str = r#"{"kind":"APIGroup","apiVersion":"v1","name":"metrics.k8s.io","versions":[{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}],"preferredVersion":{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}}"#;
const API_GROUP_LIST: &str = r#"{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"metrics.k8s.io","versions":[{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}],"preferredVersion":{"groupVersion":"metrics.k8s.io/v1beta1","version":"v1beta1"}}]}"#;
const AGGREGATED_CT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
const AGGREGATED: &str = r#"{"kind":"APIGroupDiscoveryList","apiVersion":"apidiscovery.k8s.io/v2","metadata":{},"items":[{"metadata":{"name":"metrics.k8s.io","creationTimestamp":null},"versions":[{"version":"v1beta1","resources":[{"resource":"nodes","responseKind":{"group":"","version":"","kind":"NodeMetrics"},"scope":"Cluster","singularResource":"","verbs":["get","list"]},{"resource":"pods","responseKind":{"group":"","version":"","kind":"PodMetrics"},"scope":"Namespaced","singularResource":"","verbs":["get","list"]}],"freshness":"Current"}]}]}"#;

/// The health checks of metrics-server, in its order.
const READYZ: &[&str] = &[
    "ping",
    "log",
    "poststarthook/generic-apiserver-start-informers",
    "informer-sync",
    "poststarthook/max-in-flight-filter",
    "metric-storage-ready",
    "metadata-informer-sync",
    "shutdown",
];
const LIVEZ: &[&str] = &[
    "ping",
    "log",
    "poststarthook/generic-apiserver-start-informers",
    "poststarthook/max-in-flight-filter",
    "metric-collection-timely",
    "metadata-informer-sync",
];

fn text(status: StatusCode, body: impl Into<Bytes>) -> HttpResponse {
    ::http::Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header("X-Content-Type-Options", "nosniff")
        .body(Body::from(body.into()))
        .unwrap_or_default()
}

fn check_ok(name: &str, provider: &dyn MetricsProvider, shutting_down: bool) -> bool {
    match name {
        "metric-storage-ready" => provider.storage_ready(),
        "metric-collection-timely" => provider.collection_timely(),
        "informer-sync" | "metadata-informer-sync" | "poststarthook/generic-apiserver-start-informers" => provider.informers_synced(),
        "shutdown" => !shutting_down,
        _ => true,
    }
}

/// `/healthz`, `/livez`, `/readyz` (`?verbose`, `/readyz/<check>`, `?exclude=<check>`), as
/// parsed into [`Route::Health`](super::route::Route::Health).
pub fn health(kind: Health, check: Option<&str>, query: Option<&str>, provider: &dyn MetricsProvider, shutting_down: bool) -> HttpResponse {
    let checks = match kind {
        Health::Readyz => READYZ,
        Health::Livez | Health::Healthz => LIVEZ,
    };
    if let Some(name) = check {
        if !checks.contains(&name) {
            return text(StatusCode::NOT_FOUND, "404 page not found\n");
        }
        return if check_ok(name, provider, shutting_down) {
            text(StatusCode::OK, "ok")
        } else {
            text(StatusCode::INTERNAL_SERVER_ERROR, format!("internal server error: {name} check failed\n"))
        };
    }
    let kind = kind.name();
    let verbose = query.is_some_and(|q| q.split('&').any(|kv| kv == "verbose" || kv.starts_with("verbose=")));
    let excluded: Vec<String> =
        query.map(|q| q.split('&').filter_map(|kv| kv.strip_prefix("exclude=")).map(http::percent_decode).collect()).unwrap_or_default();
    let mut body = String::new();
    let mut failed = false;
    for name in checks {
        if excluded.iter().any(|e| e == name) {
            body.push_str(&format!("[+]{name} excluded: ok\n"));
            continue;
        }
        if check_ok(name, provider, shutting_down) {
            body.push_str(&format!("[+]{name} ok\n"));
        } else {
            failed = true;
            body.push_str(&format!("[-]{name} failed: reason withheld\n"));
        }
    }
    if failed {
        body.push_str(&format!("{kind} check failed\n"));
        text(StatusCode::INTERNAL_SERVER_ERROR, body)
    } else if verbose {
        body.push_str(&format!("{kind} check passed\n"));
        text(StatusCode::OK, body)
    } else {
        text(StatusCode::OK, "ok")
    }
}

/// How to encode a metrics answer, from the `Accept` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/json` (also the answer to protobuf requests, as Kubernetes servers fall back).
    Json,
    /// `application/json;as=Table;g=meta.k8s.io`
    Table,
    /// `application/yaml`
    Yaml,
    /// `application/vnd.kubernetes.protobuf` (what kubectl and the HPA controller ask for).
    Protobuf,
}

/// Picks the encoding: the first acceptable entry of `Accept`.
pub fn negotiate(accept: Option<&str>) -> Encoding {
    for entry in accept.unwrap_or("application/json").split(',') {
        let e = entry.trim();
        if e.contains("as=Table") && e.contains("g=meta.k8s.io") {
            return Encoding::Table;
        }
        if e.starts_with("application/yaml") {
            return Encoding::Yaml;
        }
        if e.starts_with(protobuf::CONTENT_TYPE) && !e.contains("stream=") {
            return Encoding::Protobuf;
        }
        if e.starts_with("application/json") || e.starts_with("*/*") {
            return Encoding::Json;
        }
    }
    Encoding::Json
}

fn respond(encoding: Encoding, body: String) -> HttpResponse {
    match encoding {
        Encoding::Yaml => {
            let value: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            ::http::Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/yaml")
                .body(Body::from(Bytes::from(serde_yaml_ng::to_string(&value).unwrap_or_default())))
                .unwrap_or_default()
        }
        _ => http::json(StatusCode::OK, body),
    }
}

/// A protobuf answer (`k8s\0` envelope).
fn protobuf_answer(body: Vec<u8>) -> HttpResponse {
    ::http::Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, protobuf::CONTENT_TYPE)
        .body(Body::from(Bytes::from(body)))
        .unwrap_or_default()
}

fn one<T: serde::Serialize>(kind: &str, object: &T) -> String {
    serde_json::to_string(&Typed { kind, api_version: GROUP_VERSION, object }).unwrap_or_default()
}

fn table_row(name: &str, usage: &crate::metrics::Usage, window: &crate::GoDuration, meta: &serde_json::Value) -> serde_json::Value {
    let mut cells = vec![serde_json::Value::from(name)];
    cells.extend(usage.values().map(|q| serde_json::Value::from(q.to_string())));
    cells.push(window.to_string().into());
    serde_json::json!({"cells": cells, "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}})
}

fn table(resources: Vec<String>, rows: Vec<serde_json::Value>) -> HttpResponse {
    let mut columns = vec![serde_json::json!({"name": "Name", "type": "string", "format": "name", "description": "Name of the resource", "priority": 0})];
    for r in resources {
        columns.push(serde_json::json!({"name": r, "type": "string", "format": "quantity", "description": "", "priority": 0}));
    }
    columns.push(serde_json::json!({"name": "Window", "type": "string", "format": "duration", "description": "", "priority": 0}));
    let body = serde_json::json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {}, "columnDefinitions": columns, "rows": rows});
    http::json(StatusCode::OK, body.to_string())
}

fn node_table(nodes: &[&NodeMetrics]) -> HttpResponse {
    let resources = nodes.first().map(|n| n.usage.keys().cloned().collect()).unwrap_or_else(|| vec!["cpu".into(), "memory".into()]);
    let rows = nodes.iter().map(|n| table_row(n.name(), &n.usage, &n.window, &serde_json::to_value(&n.metadata).unwrap_or_default())).collect();
    table(resources, rows)
}

fn served_node_table(nodes: &[&ServedNode], now: &Time) -> HttpResponse {
    let objects: Vec<NodeMetrics> = nodes.iter().map(|n| n.to_node_metrics(Some(now))).collect();
    node_table(&objects.iter().collect::<Vec<_>>())
}

fn served_pod_table(pods: &[&ServedPod], now: &Time) -> HttpResponse {
    let objects: Vec<PodMetrics> = pods.iter().map(|p| p.to_pod_metrics(Some(now))).collect();
    pod_table(&objects.iter().collect::<Vec<_>>())
}

fn pod_table(pods: &[&PodMetrics]) -> HttpResponse {
    let sums: Vec<crate::metrics::Usage> = pods
        .iter()
        .map(|p| {
            let mut u = crate::metrics::Usage::new();
            for c in &p.containers {
                for (k, v) in &c.usage {
                    *u.entry(k.clone()).or_default() += *v;
                }
            }
            u
        })
        .collect();
    let resources = sums.first().map(|u| u.keys().cloned().collect()).unwrap_or_else(|| vec!["cpu".into(), "memory".into()]);
    let rows = pods.iter().zip(&sums).map(|(p, u)| table_row(p.name(), u, &p.window, &serde_json::to_value(&p.metadata).unwrap_or_default())).collect();
    table(resources, rows)
}

/// A node or pod list in JSON or protobuf, streamed from the snapshot (see [`list_stream`]).
fn streamed(encoding: Encoding, snapshot: Arc<MetricsSnapshot>, of: Of, picked: Picked, now: Time) -> HttpResponse {
    let (format, content_type) = match encoding {
        Encoding::Protobuf => (Format::Protobuf, protobuf::CONTENT_TYPE),
        _ => (Format::Json, "application/json"),
    };
    let body = list_stream::list_body(snapshot, of, format, picked, now, list_stream::CHUNK);
    let mut r = ::http::Response::builder().status(StatusCode::OK).header(header::CONTENT_TYPE, content_type);
    if let Some(len) = http_body::Body::size_hint(&body).exact() {
        r = r.header(header::CONTENT_LENGTH, len);
    }
    r.body(body).unwrap_or_default()
}

/// Answers a `metrics.k8s.io/v1beta1` request (`None`: no such path): selected objects are
/// borrowed from the snapshot and written with `creationTimestamp` = now, never copied.
///
/// Node and pod lists in JSON and protobuf are streamed: the body owns the snapshot and the
/// positions of the selected items and writes them a chunk at a time. Single objects, Table and
/// YAML answers are built whole (Table and YAML are for people, not for listing a cluster).
pub fn metrics(
    objects: &Objects<'_>,
    query: Option<&str>,
    accept: Option<&str>,
    provider: &dyn MetricsProvider,
    stats: &ServerMetrics,
) -> Option<HttpResponse> {
    let snapshot = provider.snapshot();
    let selected = match metrics_routes::select(objects, query, &snapshot.nodes, &snapshot.pods, true)? {
        Ok(s) => s,
        Err(r) => return Some(r),
    };
    let now = Time(jiff::Timestamp::now());
    let age = |ts: &Time| now.0.duration_since(ts.0).as_secs_f64().max(0.0);
    let fresh = |ts: &Time| stats.freshness(age(ts));
    let encoding = negotiate(accept);
    // The three encodings of one object, of which the request's is made.
    let answer = |table: &dyn Fn() -> HttpResponse, binary: &dyn Fn() -> Vec<u8>, json: &dyn Fn() -> String| match encoding {
        Encoding::Table => table(),
        Encoding::Protobuf => protobuf_answer(binary()),
        Encoding::Json | Encoding::Yaml => respond(encoding, json()),
    };
    Some(match selected {
        Selected::ResourceList => http::json(StatusCode::OK, metrics_routes::resource_list()),
        Selected::Nodes(items) => {
            stats.freshness_many(items.iter().map(|n| age(&n.timestamp)));
            match encoding {
                Encoding::Table => served_node_table(&items.refs(), &now),
                Encoding::Yaml => respond(encoding, list_to_wire_json("NodeMetricsList", GROUP_VERSION, &items.refs(), Some(&now))),
                Encoding::Json | Encoding::Protobuf => streamed(encoding, snapshot.clone(), Of::Nodes, items.picked, now),
            }
        }
        Selected::Node(n) => {
            fresh(&n.timestamp);
            answer(&|| served_node_table(&[n], &now), &|| protobuf::encode_node(GROUP_VERSION, n, Some(&now)), &|| {
                one("NodeMetrics", &Stamped { object: n, created: &now })
            })
        }
        Selected::Pods(items) => {
            stats.freshness_many(items.iter().map(|p| age(&p.timestamp)));
            match encoding {
                Encoding::Table => served_pod_table(&items.refs(), &now),
                Encoding::Yaml => respond(encoding, list_to_wire_json("PodMetricsList", GROUP_VERSION, &items.refs(), Some(&now))),
                Encoding::Json | Encoding::Protobuf => streamed(encoding, snapshot.clone(), Of::Pods, items.picked, now),
            }
        }
        Selected::Pod(p) => {
            fresh(&p.timestamp);
            answer(&|| served_pod_table(&[p], &now), &|| protobuf::encode_pod(GROUP_VERSION, p, Some(&now)), &|| {
                one("PodMetrics", &Stamped { object: p, created: &now })
            })
        }
    })
}

/// Discovery, OpenAPI and version documents (`None` for other routes).
pub fn discovery(route: &Route<'_>, accept: Option<&str>) -> Option<HttpResponse> {
    Some(match route {
        Route::Apis => {
            if accept.is_some_and(|a| a.contains("g=apidiscovery.k8s.io") && a.contains("v=v2")) {
                ::http::Response::builder()
                    .status(StatusCode::OK)
                    .header(header::CONTENT_TYPE, AGGREGATED_CT)
                    .body(Body::from(Bytes::from_static(AGGREGATED.as_bytes())))
                    .unwrap_or_default()
            } else {
                http::json(StatusCode::OK, API_GROUP_LIST)
            }
        }
        Route::Group(ApiGroup::Metrics) => http::json(StatusCode::OK, API_GROUP),
        Route::Metrics(Objects::Root) => http::json(StatusCode::OK, metrics_routes::resource_list()),
        Route::Version => http::json(
            StatusCode::OK,
            format!(
                r#"{{"major":"0","minor":"1","gitVersion":"v{}","goVersion":"","compiler":"rustc","platform":"{}/{}"}}"#,
                env!("CARGO_PKG_VERSION"),
                std::env::consts::OS,
                std::env::consts::ARCH
            ),
        ),
        Route::OpenApi(OpenApi::V2) => http::json(StatusCode::OK, super::openapi::v2()),
        Route::OpenApi(OpenApi::V3) => {
            http::json(StatusCode::OK, r#"{"paths":{"apis/metrics.k8s.io/v1beta1":{"serverRelativeURL":"/openapi/v3/apis/metrics.k8s.io/v1beta1"}}}"#)
        }
        Route::OpenApi(OpenApi::V3Metrics) => http::json(StatusCode::OK, super::openapi::v3()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::{Encoding, negotiate};

    #[test]
    fn the_first_acceptable_encoding_wins() {
        // kubectl and the HPA controller.
        assert_eq!(negotiate(Some("application/vnd.kubernetes.protobuf,application/json")), Encoding::Protobuf);
        assert_eq!(negotiate(Some("application/vnd.kubernetes.protobuf, */*")), Encoding::Protobuf);
        assert_eq!(negotiate(Some("application/json, application/vnd.kubernetes.protobuf")), Encoding::Json);
        // watch streams are not served in protobuf: JSON, as the fallback.
        assert_eq!(negotiate(Some("application/vnd.kubernetes.protobuf;stream=watch")), Encoding::Json);
        assert_eq!(negotiate(Some("application/json;as=Table;g=meta.k8s.io;v=v1, application/json")), Encoding::Table);
        assert_eq!(negotiate(Some("application/yaml")), Encoding::Yaml);
        assert_eq!(negotiate(None), Encoding::Json);
    }
}
