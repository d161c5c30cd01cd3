//! OpenAPI documents of `metrics.k8s.io/v1beta1` (v2 for the aggregator's merged spec, v3 for
//! `kubectl explain`).

fn schemas() -> serde_json::Value {
    let quantity_map = serde_json::json!({"type": "object", "additionalProperties": {"type": "string", "description": "Quantity"}});
    let meta = serde_json::json!({"type": "object", "description": "Standard object metadata."});
    serde_json::json!({
        "io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics": {
            "description": "NodeMetrics sets resource usage metrics of a node.", "type": "object", "required": ["timestamp", "window", "usage"],
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": meta, "timestamp": {"type": "string", "format": "date-time"}, "window": {"type": "string"}, "usage": quantity_map},
            "x-kubernetes-group-version-kind": [{"group": "metrics.k8s.io", "kind": "NodeMetrics", "version": "v1beta1"}]
        },
        "io.k8s.metrics.pkg.apis.metrics.v1beta1.ContainerMetrics": {
            "description": "ContainerMetrics sets resource usage metrics of a container.", "type": "object", "required": ["name", "usage"],
            "properties": {"name": {"type": "string"}, "usage": quantity_map}
        },
        "io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics": {
            "description": "PodMetrics sets resource usage metrics of a pod.", "type": "object", "required": ["timestamp", "window", "containers"],
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": meta, "timestamp": {"type": "string", "format": "date-time"}, "window": {"type": "string"},
                "containers": {"type": "array", "items": {"$ref": "#/definitions/io.k8s.metrics.pkg.apis.metrics.v1beta1.ContainerMetrics"}}},
            "x-kubernetes-group-version-kind": [{"group": "metrics.k8s.io", "kind": "PodMetrics", "version": "v1beta1"}]
        }
    })
}

/// The Swagger 2.0 document.
pub fn v2() -> String {
    let op = |kind: &str, list: bool| {
        let reference = format!("#/definitions/io.k8s.metrics.pkg.apis.metrics.v1beta1.{kind}");
        let schema = if list {
            serde_json::json!({"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": reference}}}})
        } else {
            serde_json::json!({"$ref": reference})
        };
        serde_json::json!({"get": {"produces": ["application/json", "application/yaml"], "responses": {"200": {"description": "OK", "schema": schema}}}})
    };
    serde_json::json!({
        "swagger": "2.0",
        "info": {"title": "kubemetrics", "version": env!("CARGO_PKG_VERSION")},
        "paths": {
            "/apis/metrics.k8s.io/v1beta1/nodes": op("NodeMetrics", true),
            "/apis/metrics.k8s.io/v1beta1/nodes/{name}": op("NodeMetrics", false),
            "/apis/metrics.k8s.io/v1beta1/pods": op("PodMetrics", true),
            "/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods": op("PodMetrics", true),
            "/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/{name}": op("PodMetrics", false)
        },
        "definitions": schemas()
    })
    .to_string()
}

/// The OpenAPI 3.0 document of the group-version.
pub fn v3() -> String {
    let text = serde_json::json!({"openapi": "3.0.0", "info": {"title": "kubemetrics", "version": env!("CARGO_PKG_VERSION")}, "paths": {}, "components": {"schemas": schemas()}}).to_string();
    text.replace("#/definitions/", "#/components/schemas/")
}
