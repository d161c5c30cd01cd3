"""Custom and external metrics providers written with the bindings, behind the real kube-apiserver
aggregator, read by the real kube-controller-manager's HorizontalPodAutoscaler.

One control plane for the module. On it:

- ``examples/python/custom_metrics_provider.py`` (the Python binding's ``serve_custom_metrics``) runs
  as ServiceAccount ``kube-system/custom-metrics-provider`` (``system:auth-delegator``,
  ``extension-apiserver-authentication-reader``; token kubeconfig) with the harness's serving cert for
  ``metrics-server.kube-system.svc`` and no CA flags: it reads the client CA, the front-proxy CA and
  the allowed names from ``kube-system/extension-apiserver-authentication``. It serves the objects of
  a JSON file the tests rewrite, registered as APIServices ``v1beta1`` and ``v1beta2.custom.metrics.k8s.io``
  (caBundle = the cluster CA, through the harness's ExternalName Service).
- ``examples/node/external_metrics_provider.mjs`` (the Node binding), when present and built, serves
  ``queue_messages_ready`` from a file, registered as ``v1beta1.external.metrics.k8s.io``.

Tests, in file order: discovery and every custom route through the aggregator (``kubectl get --raw``,
kubectl 1.32, and the Python binding's Client through kube-apiserver), provider errors through the
aggregator, an HPA (autoscaling/v2, type Pods) scaling a Deployment on the Python provider's
``queue_depth``, and an HPA (type External) on the Node provider's ``queue_messages_ready``.

Run: python3 -m pytest tests/e2e/test_custom_providers.py -q -p no:cacheprovider
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from custom_providers import (
    PYTHON_EXAMPLE, SERVING, FakeKubelet, ValuesFile, binding_python, node_provider_command, provider_kubeconfig,
)
from harness import ControlPlane
from metrics_stack import TIMINGS, ensure_namespace, wait_until

CUSTOM = "/apis/custom.metrics.k8s.io"
EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"
NODE = "node-a"
# What the Python provider serves besides the HPA's pods (written by the tests; see the example's doc).
STATIC = [
    {"resource": "pods", "namespace": "shop", "name": "api-1", "labels": {"app": "api"}, "metrics": {"queue_depth": 12}},
    {"resource": "pods", "namespace": "shop", "name": "api-2", "labels": {"app": "api"}, "metrics": {"queue_depth": "2500m"}},
    {"resource": "pods", "namespace": "shop", "name": "web-1", "labels": {"app": "web"}, "metrics": {"queue_depth": 1}},
    {"resource": "namespaces", "name": "shop", "metrics": {"queue_depth": 40}},
    {"resource": "nodes", "name": NODE, "labels": {"tier": "a"}, "metrics": {"temperature": 61.5}},
]


@dataclass
class Stack:
    cp: ControlPlane
    python: str
    values: ValuesFile
    port: int
    kubeconfig: Path  # the providers' ServiceAccount

    def raw(self, path: str, *, check: bool = True) -> Any:
        """``kubectl get --raw`` through kube-apiserver (kubectl 1.32, admin)."""
        r = self.cp.kubectl("get", "--raw", path, version="1.32", check=False)
        if not check:
            return r
        assert r.returncode == 0, f"{path}: {r.stderr}"
        return json.loads(r.stdout)


@pytest.fixture(scope="module")
def stack(cp: ControlPlane) -> Stack:
    py = binding_python()
    if py is None:
        pytest.skip("the Python binding is not built (bash bindings-python/scripts/test.sh builds it; "
                    "scripts/test.sh runs that stage before this suite)")
    t0 = time.monotonic()
    assert cp.dir is not None
    cp.create_node(NODE, kubelet_port=10250, cpu="4", memory="8Gi", labels={"tier": "a"})
    ensure_namespace(cp, "shop")
    kubeconfig = provider_kubeconfig(cp, "custom-metrics-provider", cp.dir / "custom-metrics-provider.kubeconfig")
    values = ValuesFile(cp.dir / "custom-metrics.json", {"objects": STATIC})
    cert, key = cp.certs.metrics_server_cert
    _, m = cp.spawn("python-custom-metrics-provider", [
        py, PYTHON_EXAMPLE, "--values", values.path, "--bind-address=127.0.0.1", "--secure-port=0",
        f"--tls-cert-file={cert}", f"--tls-private-key-file={key}", f"--kubeconfig={kubeconfig}",
    ], wait_for=SERVING)
    assert m is not None
    port = int(m.group(2))
    cp.register_apiservice("custom.metrics.k8s.io", "v1beta1", port, version_priority=100, wait_available=True)
    cp.register_apiservice("custom.metrics.k8s.io", "v1beta2", port, version_priority=200, wait_available=True)
    TIMINGS.append(f"python custom metrics provider started and both APIServices Available: {time.monotonic() - t0:.1f}")
    return Stack(cp, py, values, port, kubeconfig)


def without_timestamps(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for item in items:
        assert item.pop("timestamp").endswith("Z")
    return items


def pod(name: str, ns: str = "shop") -> dict[str, str]:
    return {"kind": "Pod", "namespace": ns, "name": name, "apiVersion": "/v1"}


def test_apiservices_available_and_discovery(stack: Stack):
    for version in ("v1beta1", "v1beta2"):
        svc = stack.cp.get_json("apiservice", f"{version}.custom.metrics.k8s.io")
        available = {c["type"]: c for c in svc["status"]["conditions"]}["Available"]
        assert available["status"] == "True", available
        assert "insecureSkipTLSVerify" not in svc["spec"] and svc["spec"]["caBundle"]
        doc = stack.raw(f"{CUSTOM}/{version}")
        assert doc["groupVersion"] == f"custom.metrics.k8s.io/{version}"
        assert [(r["name"], r["namespaced"], r["kind"]) for r in doc["resources"]] == [
            ("namespaces/queue_depth", False, "MetricValueList"),
            ("nodes/temperature", False, "MetricValueList"),
            ("pods/queue_depth", True, "MetricValueList"),
        ]
    group = stack.raw(CUSTOM)
    assert group["preferredVersion"]["version"] == "v1beta2"
    assert {v["version"] for v in group["versions"]} == {"v1beta1", "v1beta2"}


def test_every_custom_route_through_the_aggregator(stack: Stack):
    for version in ("v1beta1", "v1beta2"):
        by_name = stack.raw(f"{CUSTOM}/{version}/namespaces/shop/pods/api-2/queue_depth")
        assert (by_name["kind"], by_name["apiVersion"]) == ("MetricValueList", f"custom.metrics.k8s.io/{version}")
        by_selector = stack.raw(f"{CUSTOM}/{version}/namespaces/shop/pods/*/queue_depth?labelSelector=app%3Dapi")
        if version == "v1beta2":
            assert without_timestamps(by_name["items"]) == [
                {"describedObject": pod("api-2"), "metric": {"name": "queue_depth"}, "value": "2500m"}]
            assert without_timestamps(by_selector["items"]) == [
                {"describedObject": pod("api-1"), "metric": {"name": "queue_depth"}, "value": "12"},
                {"describedObject": pod("api-2"), "metric": {"name": "queue_depth"}, "value": "2500m"}]
        else:
            assert without_timestamps(by_name["items"]) == [
                {"describedObject": pod("api-2"), "metricName": "queue_depth", "value": "2500m", "selector": None}]
            assert without_timestamps(by_selector["items"]) == [
                {"describedObject": pod("api-1"), "metricName": "queue_depth", "value": "12", "selector": None},
                {"describedObject": pod("api-2"), "metricName": "queue_depth", "value": "2500m", "selector": None}]
    # the metric label selector is handed to the provider and echoed in the answer
    selected = stack.raw(f"{CUSTOM}/v1beta2/namespaces/shop/pods/web-1/queue_depth?metricLabelSelector=queue%3Dhigh")
    assert selected["items"][0]["metric"] == {"name": "queue_depth", "selector": {"matchLabels": {"queue": "high"}}}
    # a namespace's own metric, a cluster-scoped object by name and by selector
    ns = stack.raw(f"{CUSTOM}/v1beta2/namespaces/shop/metrics/queue_depth")
    assert without_timestamps(ns["items"]) == [{"describedObject": {"kind": "Namespace", "name": "shop", "apiVersion": "/v1"},
                                                "metric": {"name": "queue_depth"}, "value": "40"}]
    for path in (f"/nodes/{NODE}/temperature", "/nodes/*/temperature?labelSelector=tier%3Da"):
        node = stack.raw(f"{CUSTOM}/v1beta1{path}")
        assert without_timestamps(node["items"]) == [{"describedObject": {"kind": "Node", "name": NODE, "apiVersion": "/v1"},
                                                      "metricName": "temperature", "value": "61500m", "selector": None}]
    assert stack.raw(f"{CUSTOM}/v1beta2/namespaces/shop/pods/*/queue_depth?labelSelector=app%3Dnone")["items"] == []

    # the Python binding's own client, through kube-apiserver as admin
    script = (
        "import json, sys, kubemetrics\n"
        "c = kubemetrics.Client(sys.argv[1])\n"
        "print(json.dumps({'version': c.custom_metrics_version(), 'names': c.list_custom_metric_names(),\n"
        "  'one': str(c.get_custom_metric('shop', 'pods', 'api-1', 'queue_depth').value),\n"
        "  'web': [(v.object_name, str(v.value)) for v in c.list_custom_metrics('shop', 'pods', 'queue_depth', 'app!=api')]}))\n"
    )
    r = subprocess.run([stack.python, "-c", script, str(stack.cp.kubeconfig)], capture_output=True, text=True, timeout=60, cwd="/")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"version": "v1beta2", "names": ["namespaces/queue_depth", "nodes/temperature", "pods/queue_depth"],
                                    "one": "12", "web": [["web-1", "1"]]}


def test_provider_errors_through_the_aggregator(stack: Stack):
    r = stack.raw(f"{CUSTOM}/v1beta2/namespaces/shop/pods/nobody/queue_depth", check=False)
    assert r.returncode == 1 and r.stderr.strip() == "Error from server (NotFound): no metric queue_depth for pods shop/nobody", r.stderr
    r = stack.raw(f"{CUSTOM}/v1beta1/namespaces/shop/pods/*/latency?labelSelector=app%3Dapi", check=False)
    assert r.returncode == 1 and r.stderr.strip() == "Error from server (NotFound): no metric latency for pods", r.stderr
    # a provider exception (the values file cannot be read) is a 500 with its message
    stack.values.write_text("{half a document")
    try:
        r = stack.raw(f"{CUSTOM}/v1beta2/namespaces/shop/pods/api-1/queue_depth", check=False)
        assert r.returncode == 1 and r.stderr.startswith(
            f"Error from server (InternalError): Internal error occurred: cannot read {stack.values.path}: JSONDecodeError("), r.stderr
    finally:
        stack.values.write({"objects": STATIC})
    assert stack.raw(f"{CUSTOM}/v1beta2/namespaces/shop/pods/api-1/queue_depth")["items"][0]["value"] == "12"
    # an invalid selector never reaches the provider: 400 from the binding's server
    r = stack.raw(f"{CUSTOM}/v1beta2/namespaces/shop/pods/*/queue_depth?labelSelector=app%20in%20api", check=False)
    assert r.returncode == 1 and "Error from server (BadRequest): invalid label selector" in r.stderr, r.stderr


# ---------------------------------------------------------------------------------------------
# HorizontalPodAutoscalers


def deployment(cp: ControlPlane, ns: str, name: str, replicas: int) -> None:
    labels = {"app": name}
    cp.apply_json({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"nodeName": NODE, "terminationGracePeriodSeconds": 0,
                                       "automountServiceAccountToken": False,
                                       "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}}},
    })


def hpa(cp: ControlPlane, ns: str, name: str, metric: dict[str, Any]) -> None:
    cp.apply_json({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": name, "namespace": ns},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                 "minReplicas": 1, "maxReplicas": 4, "metrics": [metric],
                 "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}}},
    })


def replicas(cp: ControlPlane, ns: str, name: str) -> int:
    return int(cp.get_json("deployment", name, "-n", ns)["spec"]["replicas"])


def hpa_metric(cp: ControlPlane, ns: str, name: str, kind: str) -> tuple[int | None, str | None]:
    """(status.desiredReplicas, the current averageValue the HPA read for its one metric)."""
    status = cp.get_json("hpa", name, "-n", ns).get("status", {})
    current = [m.get(kind, {}).get("current", {}).get("averageValue") for m in status.get("currentMetrics") or []]
    return status.get("desiredReplicas"), (current[0] if current else None)


def rescale_events(cp: ControlPlane, ns: str) -> str:
    return cp.kubectl("get", "events", "-n", ns, "--field-selector=reason=SuccessfulRescale",
                      "-o", "jsonpath={.items[*].message}").stdout


def ensure_controller_manager(cp: ControlPlane) -> None:
    if "kube-controller-manager" not in cp.procs:
        cp.start_controller_manager(controllers=["deployment", "replicaset", "horizontalpodautoscaling"])


def teardown(cp: ControlPlane, ns: str, name: str, kubelet: FakeKubelet) -> None:
    cp.kubectl("delete", "hpa", name, "-n", ns, "--ignore-not-found")
    cp.kubectl("scale", "deployment", name, "-n", ns, "--replicas=0", check=False)
    try:
        wait_until(f"{name} pods gone", lambda: kubelet.running() == 0, 30)
    finally:
        kubelet.stop.set()
        kubelet.join(10)
        cp.kubectl("delete", "deployment", name, "-n", ns, "--ignore-not-found")


def test_hpa_scales_a_deployment_on_the_python_providers_pods_metric(stack: Stack):
    cp, ns, name = stack.cp, "queue", "worker"
    ensure_namespace(cp, ns)
    deployment(cp, ns, name, 1)
    # the queue's depth, spread over the live pods, written for the provider by the kubelet stand-in
    kubelet = FakeKubelet(cp, ns, f"app%3D{name}", values=stack.values, total=5, extra=STATIC)
    kubelet.start()
    try:
        ensure_controller_manager(cp)
        wait_until("1 worker pod running", lambda: kubelet.running() == 1, 60)
        hpa(cp, ns, name, {"type": "Pods", "pods": {"metric": {"name": "queue_depth"},
                                                     "target": {"type": "AverageValue", "averageValue": "10"}}})
        # 5 per pod against a target of 10: the HPA reads it and keeps 1 replica
        wait_until("the HPA to read queue_depth 5", lambda: hpa_metric(cp, ns, name, "pods") == (1, "5"), 60, interval=1)
        t0 = time.monotonic()
        kubelet.set_total(60)  # 60 per pod: 6 wanted, 4 at most
        wait_until("the HPA to scale worker to 4", lambda: replicas(cp, ns, name) == 4, 90, interval=1)
        TIMINGS.append(f"HPA on the Python provider's Pods metric, scale up 1 -> 4: {time.monotonic() - t0:.1f}")
        assert "New size: 4; reason: pods metric queue_depth above target" in rescale_events(cp, ns)
        wait_until("the HPA to read 15 per pod over 4 pods", lambda: hpa_metric(cp, ns, name, "pods") == (4, "15"), 60, interval=1)
        t1 = time.monotonic()
        kubelet.set_total(20)  # 5 per pod over 4: ceil(4 x 5 / 10) = 2
        wait_until("the HPA to scale worker down to 2", lambda: replicas(cp, ns, name) == 2, 90, interval=1)
        TIMINGS.append(f"HPA on the Python provider's Pods metric, scale down 4 -> 2: {time.monotonic() - t1:.1f}")
        assert "New size: 2; reason: All metrics below target" in rescale_events(cp, ns)
        wait_until("the HPA to settle at 2 pods of 10", lambda: hpa_metric(cp, ns, name, "pods") == (2, "10"), 60, interval=1)
        assert not kubelet.errors, kubelet.errors[:5]
    finally:
        teardown(cp, ns, name, kubelet)
        stack.values.write({"objects": STATIC})


def test_hpa_scales_a_deployment_on_the_node_providers_external_metric(stack: Stack):
    command, why = node_provider_command()
    if command is None:
        pytest.skip(why)
    cp, ns, name = stack.cp, "queue", "consumer"
    assert cp.dir is not None
    value = ValuesFile(cp.dir / "queue_messages_ready.txt")
    value.write_text("30")
    cert, key = cp.certs.metrics_server_cert
    config = {"bindAddress": "127.0.0.1", "securePort": 0, "tlsCertFile": str(cert), "tlsPrivateKeyFile": str(key),
              "kubeconfig": str(stack.kubeconfig), "valueFile": str(value.path)}
    _, m = cp.spawn("node-external-metrics-provider", [*command, json.dumps(config)], wait_for=SERVING)
    assert m is not None
    cp.register_apiservice("external.metrics.k8s.io", "v1beta1", int(m.group(2)), wait_available=True)
    items = stack.raw(f"{EXTERNAL}/namespaces/{ns}/queue_messages_ready")["items"]
    assert [(i["metricName"], i["value"]) for i in items] == [("queue_messages_ready", "30")]

    ensure_namespace(cp, ns)
    deployment(cp, ns, name, 1)
    kubelet = FakeKubelet(cp, ns, f"app%3D{name}")
    kubelet.start()
    try:
        ensure_controller_manager(cp)
        t0 = time.monotonic()
        hpa(cp, ns, name, {"type": "External", "external": {"metric": {"name": "queue_messages_ready"},
                                                             "target": {"type": "AverageValue", "averageValue": "10"}}})
        wait_until("the HPA to scale consumer to 3", lambda: replicas(cp, ns, name) == 3, 90, interval=1)
        TIMINGS.append(f"HPA on the Node provider's External metric, scale up 1 -> 3: {time.monotonic() - t0:.1f}")
        assert "New size: 3; reason: external metric queue_messages_ready(nil) above target" in rescale_events(cp, ns)
        value.write_text("5")
        wait_until("the HPA to scale consumer down to 1", lambda: replicas(cp, ns, name) == 1, 90, interval=1)
        assert not kubelet.errors, kubelet.errors[:5]
    finally:
        teardown(cp, ns, name, kubelet)
