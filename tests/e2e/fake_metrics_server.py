"""A tiny HTTPS stand-in for metrics-server (metrics.k8s.io/v1beta1) on 127.0.0.1, standard library only.

It exists to prove the harness's aggregation plumbing (ExternalName Service -> localhost, APIService,
front-proxy certs, kubectl discovery) independently of the project's own server. Serves:

    GET /apis/metrics.k8s.io/v1beta1                         APIResourceList (legacy discovery)
    GET /apis/metrics.k8s.io/v1beta1/nodes[/NAME]            NodeMetricsList / NodeMetrics
    GET /apis/metrics.k8s.io/v1beta1/pods                    PodMetricsList (all namespaces)
    GET /apis/metrics.k8s.io/v1beta1/namespaces/NS/pods[/NAME]
    anything else -> 404 (the aggregator then falls back to legacy discovery; OpenAPI is optional)

``labelSelector`` supports equality terms only (``a=b,c==d``), which is what the HPA sends for matchLabels.
Every request is recorded in ``.requests`` as (method, path, headers) for assertions.
"""

from __future__ import annotations

import datetime as _dt
import json
import ssl
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

GV = "metrics.k8s.io/v1beta1"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")



def send_json(handler: BaseHTTPRequestHandler, code: int, body: Any) -> None:
    """Answers ``handler``'s request with ``body`` as JSON and a Content-Length."""
    data = json.dumps(body).encode()
    handler.send_response(code)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)

class FakeMetricsServer:
    def __init__(self, cert: Path, key: Path, port: int = 0):
        # node name -> {"cpu": "250m", "memory": "1Gi"}
        self.nodes: dict[str, dict[str, str]] = {}
        # (ns, pod) -> {"labels": {...}, "containers": {name: {"cpu": .., "memory": ..}}}
        self.pods: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                u = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(u.query)
                with outer._lock:
                    outer.requests.append(("GET", self.path, dict(self.headers.items())))
                    code, body = outer._route(u.path.rstrip("/"), q)
                send_json(self, code, body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="fake-metrics", daemon=True)

    def __enter__(self) -> "FakeMetricsServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # ---- content ------------------------------------------------------------------------------
    @staticmethod
    def _status(code: int, msg: str) -> tuple[int, dict]:
        return code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": msg, "reason": "NotFound" if code == 404 else "BadRequest", "code": code}

    @staticmethod
    def _selector_matches(sel: str, labels: dict[str, str]) -> bool:
        for term in filter(None, (t.strip() for t in sel.split(","))):
            k, _, v = term.replace("==", "=").partition("=")
            if labels.get(k.strip()) != v.strip():
                return False
        return True

    def _node_item(self, name: str) -> dict:
        u = self.nodes[name]
        return {"metadata": {"name": name, "creationTimestamp": _now()}, "timestamp": _now(),
                "window": "20s", "usage": {"cpu": u["cpu"], "memory": u["memory"]}}

    def _pod_item(self, ns: str, name: str) -> dict:
        p = self.pods[(ns, name)]
        return {"metadata": {"name": name, "namespace": ns, "labels": p.get("labels", {}),
                             "creationTimestamp": _now()},
                "timestamp": _now(), "window": "20s",
                "containers": [{"name": c, "usage": dict(u)} for c, u in p["containers"].items()]}

    def _route(self, path: str, q: dict[str, list[str]]) -> tuple[int, dict]:
        base = "/apis/" + GV
        if path == base:
            return 200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GV, "resources": [
                {"name": "nodes", "singularName": "", "namespaced": False, "kind": "NodeMetrics",
                 "verbs": ["get", "list"]},
                {"name": "pods", "singularName": "", "namespaced": True, "kind": "PodMetrics",
                 "verbs": ["get", "list"]},
            ]}
        if not path.startswith(base + "/"):
            return self._status(404, f"{path} not found")
        parts = path[len(base) + 1:].split("/")
        sel = (q.get("labelSelector") or [""])[0]
        if parts[0] == "nodes":
            if len(parts) == 1:
                items = [self._node_item(n) for n in sorted(self.nodes)]
                return 200, {"kind": "NodeMetricsList", "apiVersion": GV, "metadata": {}, "items": items}
            if parts[1] in self.nodes:
                return 200, {"kind": "NodeMetrics", "apiVersion": GV, **self._node_item(parts[1])}
            return self._status(404, f'nodemetrics "{parts[1]}" not found')
        ns = None
        if parts[0] == "namespaces" and len(parts) >= 3 and parts[2] == "pods":
            ns, parts = parts[1], parts[2:]
        if parts[0] == "pods":
            if len(parts) == 1:
                items = [self._pod_item(n, p) for (n, p) in sorted(self.pods)
                         if (ns is None or n == ns) and self._selector_matches(sel, self.pods[(n, p)].get("labels", {}))]
                return 200, {"kind": "PodMetricsList", "apiVersion": GV, "metadata": {}, "items": items}
            if ns is not None and (ns, parts[1]) in self.pods:
                return 200, {"kind": "PodMetrics", "apiVersion": GV, **self._pod_item(ns, parts[1])}
            return self._status(404, f'podmetrics "{parts[1]}" not found')
        return self._status(404, f"{path} not found")
