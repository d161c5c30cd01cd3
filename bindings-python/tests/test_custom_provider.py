"""Custom and external metrics providers written in Python (`serve_custom_metrics`), served for real
on 127.0.0.1 over TLS and read with real clients: `kubectl get --raw` (kubectl 1.32, a client
certificate CN=carol O=system:masters, SubjectAccessReview answered by `kubemetrics loopback-api`),
HTTPS requests, and the binding's own Client / AsyncClient. Every test runs against a provider of
plain `def` methods and one of `async def` methods."""

from __future__ import annotations

import asyncio
import datetime
import json
import pickle
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import pytest

from conftest import Loopback
from kubemetrics import (
    ApiError,
    AsyncClient,
    Client,
    ConfigError,
    CustomMetricInfo,
    CustomMetricsServer,
    ExternalMetricValue,
    IoError,
    LabelSelector,
    MetricValue,
    NotFoundError,
    ObjectRef,
    Quantity,
    serve_custom_metrics,
)

CUSTOM = "/apis/custom.metrics.k8s.io"
EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"
LOOP_THREAD = "kubemetrics-provider-loop"

# ---------------------------------------------------------------------------------------------
# The providers: the same data and behaviour, once with `def` methods and once with `async def`

PODS: dict[str, tuple[dict[str, str], Any]] = {
    "web-1": ({"app": "web"}, 10),
    "web-2": ({"app": "web"}, Quantity("1500m")),
    "db-1": ({"app": "db"}, "250m"),
}
NODES: dict[str, tuple[dict[str, str], Any]] = {"node-a": ({"tier": "a"}, 61.5), "node-b": ({"tier": "b"}, 40)}
QUEUES: list[tuple[dict[str, str], Any]] = [({"queue": "jobs"}, 42), ({"queue": "mail"}, "7")]
# What metric_by_name returns for these metrics: results of the wrong shape.
GARBAGE: dict[str, Any] = {"garbage_none": None, "garbage_text": "lots", "garbage_bool": True, "garbage_nan": float("nan")}
METRICS = [
    CustomMetricInfo("pods", "queue_depth"),
    ("namespaces", "queue_total", False),
    ("nodes", "temperature", False),
    "namespaces/pods_in_namespace",
]


@dataclass
class Record:
    """What the provider was called with, and on which threads."""

    calls: list[tuple[Any, ...]] = field(default_factory=list)
    threads: set[str] = field(default_factory=set)
    cancelled: list[str] = field(default_factory=list)

    def note(self, *call: Any) -> None:
        self.calls.append(call)
        self.threads.add(threading.current_thread().name)


def by_name(record: Record, obj: ObjectRef, metric: str, metric_selector: LabelSelector) -> Any:
    """The answer of metric_by_name (or how long to sleep first: a float)."""
    record.note("metric_by_name", obj, metric, metric_selector)
    if metric == "boom":
        raise RuntimeError("the queue backend is down")
    if metric == "invalid":
        raise ValueError(f"metric selector {str(metric_selector)!r} names no queue")
    if metric == "not_found":
        raise NotFoundError("no queue for this object")
    if metric in GARBAGE:
        return GARBAGE[metric]
    if obj.resource == "pods" and metric == "queue_depth" and obj.name in PODS:
        return PODS[obj.name][1]
    if obj == ObjectRef(None, "namespaces", "web") and metric == "queue_total":
        return 0.5
    if obj.resource == "nodes" and metric == "temperature" and obj.name in NODES:
        return NODES[obj.name][1]
    raise KeyError(f"no metric {metric} for {obj.resource} {obj.name}")


def by_selector(record: Record, namespace: Optional[str], resource: str, selector: LabelSelector, metric: str,
                metric_selector: LabelSelector) -> Any:
    record.note("metrics_by_selector", namespace, resource, selector, metric, metric_selector)
    if metric == "pairs":  # an iterable of (name, value) pairs, and a MetricValue
        now = datetime.datetime.now(datetime.timezone.utc)
        return [("web-1", 1), ["web-2", "2k"],
                MetricValue("Pod", "web", "web-3", "pairs", 3, now, window_seconds=30, object_api_version="/v1")]
    if metric == "bad_pair":
        return {"web-1": object()}
    if resource == "pods" and metric == "queue_depth":
        return {name: value for name, (labels, value) in PODS.items() if selector.matches(labels)}
    if resource == "nodes" and metric == "temperature":
        return ((name, value) for name, (labels, value) in NODES.items() if selector.matches(labels))
    raise LookupError(f"no metric {metric} for {resource}")


def series(record: Record, namespace: str, metric: str, selector: LabelSelector) -> Any:
    record.note("external_metric", namespace, metric, selector)
    if metric == "queue_messages_ready":
        return [(labels, value) for labels, value in QUEUES if selector.matches(labels)]
    if metric == "single":
        return 3.25
    if metric == "mapping":
        return {"queue": 1}
    raise KeyError(f"no external metric {metric}")


class SyncProvider:
    """Custom and external metrics with plain methods; `slow` sleeps (the pod name is the seconds)."""

    def __init__(self, kubeconfig: Path):
        self.kubeconfig, self.record = kubeconfig, Record()

    def list_metrics(self) -> list[Any]:
        self.record.note("list_metrics")
        return METRICS

    def metric_by_name(self, obj: ObjectRef, metric: str, metric_selector: LabelSelector) -> Any:
        if metric == "slow":
            time.sleep(float(obj.name))
            return obj.name
        if metric == "pods_in_namespace":  # a provider may use the binding's own client
            return len(Client(self.kubeconfig).pod_requests(obj.name))
        return by_name(self.record, obj, metric, metric_selector)

    def metrics_by_selector(self, namespace: Optional[str], resource: str, selector: LabelSelector, metric: str,
                            metric_selector: LabelSelector) -> Any:
        return by_selector(self.record, namespace, resource, selector, metric, metric_selector)

    def list_external_metrics(self) -> Iterator[str]:
        yield from ("queue_messages_ready", "single")

    def external_metric(self, namespace: str, metric: str, selector: LabelSelector) -> Any:
        return series(self.record, namespace, metric, selector)


class AsyncProvider:
    """The same with `async def` methods (run on the binding's event loop thread)."""

    def __init__(self, kubeconfig: Path):
        self.kubeconfig, self.record = kubeconfig, Record()

    async def list_metrics(self) -> list[Any]:
        await asyncio.sleep(0)
        self.record.note("list_metrics")
        return METRICS

    async def metric_by_name(self, obj: ObjectRef, metric: str, metric_selector: LabelSelector) -> Any:
        if metric == "slow":
            try:
                await asyncio.sleep(float(obj.name))
            except asyncio.CancelledError:
                self.record.cancelled.append(obj.name)
                raise
            return obj.name
        if metric == "pods_in_namespace":
            return len(await AsyncClient(self.kubeconfig).pod_requests(obj.name))
        await asyncio.sleep(0.01)
        return by_name(self.record, obj, metric, metric_selector)

    async def metrics_by_selector(self, namespace: Optional[str], resource: str, selector: LabelSelector, metric: str,
                                  metric_selector: LabelSelector) -> Any:
        await asyncio.sleep(0.01)
        return by_selector(self.record, namespace, resource, selector, metric, metric_selector)

    async def list_external_metrics(self) -> list[str]:
        return ["queue_messages_ready", "single"]

    async def external_metric(self, namespace: str, metric: str, selector: LabelSelector) -> Any:
        await asyncio.sleep(0.01)
        return series(self.record, namespace, metric, selector)


# ---------------------------------------------------------------------------------------------
# Servers and clients


@dataclass
class Served:
    kind: str
    server: CustomMetricsServer
    provider: Union[SyncProvider, AsyncProvider]
    kubeconfig: Path
    certs: Path

    def get(self, path: str, *, client_cert: bool = True) -> tuple[int, Any]:
        """GET over HTTPS as carol (or without a client certificate): (status, parsed body)."""
        return https_get(self.server, self.certs, path, client_cert=client_cert)

    def kubectl(self, path: str) -> subprocess.CompletedProcess[str]:
        """`kubectl get --raw PATH` (kubectl 1.32) through the kubeconfig of carol."""
        return subprocess.run(
            [kubectl(), "get", "--raw", path, f"--kubeconfig={self.kubeconfig}",
             f"--cache-dir={self.kubeconfig.parent / 'kubectl-cache'}"],
            capture_output=True, text=True, timeout=60,
        )

    def raw(self, path: str) -> Any:
        out = self.kubectl(path)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)


def https_get(server: CustomMetricsServer, certs: Path, path: str, *, client_cert: bool = True) -> tuple[int, Any]:
    """GET over HTTPS as carol (or without a client certificate): (status, parsed body)."""
    context = ssl.create_default_context(cafile=str(certs / "serving-ca.crt"))
    if client_cert:
        context.load_cert_chain(str(certs / "carol.crt"), str(certs / "carol.key"))
    try:
        with urllib.request.urlopen(f"{server.url}{path}", timeout=30, context=context) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def kubectl() -> str:
    """kubectl 1.32 (beside the kubectl on PATH), else the kubectl on PATH."""
    found = shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl is not on PATH")
    beside = Path(found).resolve().parent / "kubectl.1.32"
    return str(beside) if beside.exists() else found


def client_kubeconfig(path: Path, url: str, certs: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: cm\n  cluster:\n"
        f"    server: {url}\n    certificate-authority: {certs / 'serving-ca.crt'}\n"
        "contexts:\n- name: cm\n  context:\n    cluster: cm\n    user: carol\n    namespace: web\ncurrent-context: cm\n"
        f"users:\n- name: carol\n  user:\n    client-certificate: {certs / 'carol.crt'}\n    client-key: {certs / 'carol.key'}\n"
    )
    return path


def start(provider: Any, external: Any, certs: Path, loopback: Loopback) -> CustomMetricsServer:
    return serve_custom_metrics(
        provider, external, bind_address="127.0.0.1", secure_port=0,
        tls_cert_file=certs / "serving.crt", tls_private_key_file=certs / "serving.key",
        client_ca_file=certs / "client-ca.crt", kubeconfig=loopback.kubeconfig,
    )


@pytest.fixture(scope="module", params=["sync", "async"])
def served(request: pytest.FixtureRequest, certs: Path, loopback_server: Loopback,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    cls = SyncProvider if request.param == "sync" else AsyncProvider
    provider = cls(loopback_server.kubeconfig)
    with start(provider, provider, certs, loopback_server) as server:
        kubeconfig = client_kubeconfig(tmp_path_factory.mktemp(f"cm-{request.param}") / "kubeconfig", server.url, certs)
        yield Served(request.param, server, provider, kubeconfig, certs)


def described(name: str, namespace: str = "web", kind: str = "Pod") -> dict[str, str]:
    return {"kind": kind, "namespace": namespace, "name": name, "apiVersion": "/v1"}


def without_timestamps(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The items without their timestamps, after checking each is a recent RFC 3339 UTC time."""
    out = []
    for item in items:
        item = dict(item)
        ts = datetime.datetime.strptime(item.pop("timestamp"), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
        assert abs(datetime.datetime.now(datetime.timezone.utc) - ts) < datetime.timedelta(minutes=1)
        out.append(item)
    return out


# ---------------------------------------------------------------------------------------------
# The value types


def test_value_types() -> None:
    o = ObjectRef("web", "pods", "web-1")
    assert (o.namespace, o.resource, o.name) == ("web", "pods", "web-1")
    assert repr(o) == "ObjectRef(namespace='web', resource='pods', name='web-1')"
    assert o == ObjectRef("web", "pods", "web-1") != ObjectRef(None, "pods", "web-1")
    assert hash(o) == hash(ObjectRef("web", "pods", "web-1")) and pickle.loads(pickle.dumps(o)) == o
    s = LabelSelector("app = web, tier in (a,b),!canary")
    assert str(s) == "app=web,tier in (a,b),!canary" and repr(s) == "LabelSelector('app=web,tier in (a,b),!canary')"
    assert s.matches({"app": "web", "tier": "a"}) and not s.matches({"app": "web", "tier": "a", "canary": "1"})
    assert not s.matches(None) and not s.matches({})
    assert LabelSelector().matches(None) and not LabelSelector() and s and str(LabelSelector()) == ""
    assert s == LabelSelector(str(s)) and hash(s) == hash(LabelSelector(str(s))) and pickle.loads(pickle.dumps(s)) == s
    assert LabelSelector("x!=1").matches(_Labels({"y": "1"}))  # any Mapping
    with pytest.raises(ConfigError, match="invalid label selector"):
        LabelSelector("app in web")
    i = CustomMetricInfo("pods", "queue_depth")
    assert (i.resource, i.metric, i.namespaced) == ("pods", "queue_depth", True)
    assert repr(CustomMetricInfo("nodes", "t", False)) == "CustomMetricInfo(resource='nodes', metric='t', namespaced=False)"
    assert i == CustomMetricInfo("pods", "queue_depth", True) and pickle.loads(pickle.dumps(i)) == i and hash(i) == hash(pickle.loads(pickle.dumps(i)))


class _Labels(Mapping[str, str]):
    def __init__(self, d: dict[str, str]):
        self.d = d

    def __getitem__(self, k: str) -> str:
        return self.d[k]

    def __iter__(self) -> Iterator[str]:
        return iter(self.d)

    def __len__(self) -> int:
        return len(self.d)


# ---------------------------------------------------------------------------------------------
# Reads


def test_discovery(served: Served) -> None:
    want = [
        {"kind": "MetricValueList", "name": "pods/queue_depth", "namespaced": True, "singularName": "", "verbs": ["get"]},
        {"kind": "MetricValueList", "name": "namespaces/queue_total", "namespaced": False, "singularName": "", "verbs": ["get"]},
        {"kind": "MetricValueList", "name": "nodes/temperature", "namespaced": False, "singularName": "", "verbs": ["get"]},
        {"kind": "MetricValueList", "name": "namespaces/pods_in_namespace", "namespaced": True, "singularName": "", "verbs": ["get"]},
    ]
    for version in ("v1beta1", "v1beta2"):
        assert served.raw(f"{CUSTOM}/{version}") == {
            "apiVersion": "v1", "groupVersion": f"custom.metrics.k8s.io/{version}", "kind": "APIResourceList", "resources": want,
        }
    assert served.raw(EXTERNAL)["resources"] == [
        {"kind": "ExternalMetricValueList", "name": name, "namespaced": True, "singularName": "", "verbs": ["get"]}
        for name in ("queue_messages_ready", "single")
    ]
    client = Client(served.kubeconfig)
    assert client.custom_metrics_version() == "v1beta2"
    assert client.list_custom_metric_names() == [r["name"] for r in want]
    assert client.list_external_metric_names() == ["queue_messages_ready", "single"]


def test_metric_by_name_in_both_versions(served: Served) -> None:
    path = "/namespaces/web/pods/web-2/queue_depth?metricLabelSelector=verb%3DGET"
    v2 = served.raw(f"{CUSTOM}/v1beta2{path}")
    assert (v2["kind"], v2["apiVersion"]) == ("MetricValueList", "custom.metrics.k8s.io/v1beta2")
    assert without_timestamps(v2["items"]) == [{
        "describedObject": described("web-2"), "metric": {"name": "queue_depth", "selector": {"matchLabels": {"verb": "GET"}}},
        "value": "1500m",
    }]
    v1 = served.raw(f"{CUSTOM}/v1beta1{path}")
    assert (v1["kind"], v1["apiVersion"]) == ("MetricValueList", "custom.metrics.k8s.io/v1beta1")
    assert without_timestamps(v1["items"]) == [{
        "describedObject": described("web-2"), "metricName": "queue_depth", "value": "1500m",
        "selector": {"matchLabels": {"verb": "GET"}},
    }]
    assert ("metric_by_name", ObjectRef("web", "pods", "web-2"), "queue_depth", LabelSelector("verb=GET")) in served.provider.record.calls
    value = Client(served.kubeconfig).get_custom_metric("web", "pods", "web-1", "queue_depth")
    assert (value.object_kind, value.object_namespace, value.object_name, value.metric_name, value.value) == \
        ("Pod", "web", "web-1", "queue_depth", Quantity("10"))
    assert value.metric_selector is None and value.window_seconds is None
    assert ("metric_by_name", ObjectRef("web", "pods", "web-1"), "queue_depth", LabelSelector()) in served.provider.record.calls


def test_metrics_by_selector_in_both_versions(served: Served) -> None:
    v2 = served.raw(f"{CUSTOM}/v1beta2/namespaces/web/pods/*/queue_depth?labelSelector=app%3Dweb")
    assert without_timestamps(v2["items"]) == [
        {"describedObject": described("web-1"), "metric": {"name": "queue_depth"}, "value": "10"},
        {"describedObject": described("web-2"), "metric": {"name": "queue_depth"}, "value": "1500m"},
    ]
    v1 = served.raw(f"{CUSTOM}/v1beta1/namespaces/web/pods/*/queue_depth?labelSelector=app%3Dweb")
    assert without_timestamps(v1["items"]) == [
        {"describedObject": described("web-1"), "metricName": "queue_depth", "value": "10", "selector": None},
        {"describedObject": described("web-2"), "metricName": "queue_depth", "value": "1500m", "selector": None},
    ]
    assert ("metrics_by_selector", "web", "pods", LabelSelector("app=web"), "queue_depth", LabelSelector()) in served.provider.record.calls
    client = Client(served.kubeconfig)
    everything = client.list_custom_metrics("web", "pods", "queue_depth")
    assert [(v.object_name, str(v.value)) for v in everything] == [("web-1", "10"), ("web-2", "1500m"), ("db-1", "250m")]
    assert [v.object_name for v in client.list_custom_metrics("web", "pods", "queue_depth", label_selector="app!=web")] == ["db-1"]
    assert client.list_custom_metrics("web", "pods", "queue_depth", label_selector="app=none") == []
    # (name, value) pairs in lists or tuples, and MetricValues as given (window included).
    pairs = client.list_custom_metrics("web", "pods", "pairs")
    assert [(v.object_name, str(v.value), v.window_seconds) for v in pairs] == [("web-1", "1", None), ("web-2", "2k", None), ("web-3", "3", 30)]


def test_namespace_and_cluster_scoped_objects(served: Served) -> None:
    ns = served.raw(f"{CUSTOM}/v1beta2/namespaces/web/metrics/queue_total")["items"]
    assert without_timestamps(ns) == [{"describedObject": {"kind": "Namespace", "name": "web", "apiVersion": "/v1"},
                                       "metric": {"name": "queue_total"}, "value": "500m"}]
    assert ("metric_by_name", ObjectRef(None, "namespaces", "web"), "queue_total", LabelSelector()) in served.provider.record.calls
    node = served.raw(f"{CUSTOM}/v1beta2/nodes/node-a/temperature")["items"]
    assert without_timestamps(node) == [{"describedObject": {"kind": "Node", "name": "node-a", "apiVersion": "/v1"},
                                         "metric": {"name": "temperature"}, "value": "61500m"}]
    client = Client(served.kubeconfig)
    nodes = client.list_custom_metrics(None, "nodes", "temperature", label_selector="tier in (a,b)")
    assert [(v.object_kind, v.object_namespace, v.object_name, str(v.value)) for v in nodes] == [
        ("Node", "", "node-a", "61500m"), ("Node", "", "node-b", "40")]
    assert ("metrics_by_selector", None, "nodes", LabelSelector("tier in (a,b)"), "temperature", LabelSelector()) in served.provider.record.calls


def test_external_metrics(served: Served) -> None:
    raw = served.raw(f"{EXTERNAL}/namespaces/web/queue_messages_ready")
    assert (raw["kind"], raw["apiVersion"]) == ("ExternalMetricValueList", "external.metrics.k8s.io/v1beta1")
    assert without_timestamps(raw["items"]) == [
        {"metricName": "queue_messages_ready", "metricLabels": {"queue": "jobs"}, "value": "42"},
        {"metricName": "queue_messages_ready", "metricLabels": {"queue": "mail"}, "value": "7"},
    ]
    client = Client(served.kubeconfig)
    jobs = client.get_external_metric("shop", "queue_messages_ready", label_selector="queue=jobs")
    assert all(isinstance(v, ExternalMetricValue) for v in jobs)
    assert [(v.metric_name, v.metric_labels, v.value) for v in jobs] == [("queue_messages_ready", {"queue": "jobs"}, Quantity("42"))]
    assert ("external_metric", "shop", "queue_messages_ready", LabelSelector("queue=jobs")) in served.provider.record.calls
    # A single value is one series without labels.
    assert [(v.metric_labels, str(v.value)) for v in client.get_external_metric("web", "single")] == [({}, "3250m")]


def test_a_provider_may_use_the_binding_clients(served: Served, loopback_server: Loopback) -> None:
    want = len(Client(loopback_server.kubeconfig).pod_requests("default"))
    assert want > 0
    value = Client(served.kubeconfig).get_custom_metric(None, "namespaces", "default", "pods_in_namespace")
    assert value.value == Quantity(want)


# ---------------------------------------------------------------------------------------------
# The answers every provider implementation gives (tests/fixtures/providers/answers.json, also
# served by a Rust provider in the core's tests and by a JavaScript one in the Node binding's)

ANSWERS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "providers" / "answers.json").read_text())


class AnswersProvider:
    """Names and values only, as answers.json describes; kubemetrics builds the values served."""

    def list_metrics(self) -> list[Any]:
        return [tuple(m) for m in ANSWERS["metrics"]]

    def metric_by_name(self, obj: ObjectRef, metric: str, metric_selector: LabelSelector) -> Any:
        found = [o["value"] for o in ANSWERS["objects"] if (o["resource"], o["name"], o["metric"]) == (obj.resource, obj.name, metric)]
        return found[0] if found else None

    def metrics_by_selector(self, namespace: Optional[str], resource: str, selector: LabelSelector, metric: str,
                            metric_selector: LabelSelector) -> list[tuple[str, Any]]:
        return [(o["name"], o["value"]) for o in ANSWERS["objects"]
                if (o["resource"], o["metric"]) == (resource, metric) and o.get("namespace") in (None, namespace)]

    def list_external_metrics(self) -> list[str]:
        return ["queue"]

    def external_metric(self, namespace: str, metric: str, selector: LabelSelector) -> list[tuple[dict[str, str], Any]]:
        return [(s["labels"], s["value"]) for s in ANSWERS["series"]] if metric == "queue" else []


class AsyncAnswersProvider:
    """The same answers from `async def` methods."""

    answers = AnswersProvider()

    async def list_metrics(self) -> list[Any]:
        return self.answers.list_metrics()

    async def metric_by_name(self, obj: ObjectRef, metric: str, metric_selector: LabelSelector) -> Any:
        return self.answers.metric_by_name(obj, metric, metric_selector)

    async def metrics_by_selector(self, namespace: Optional[str], resource: str, selector: LabelSelector, metric: str,
                                  metric_selector: LabelSelector) -> list[tuple[str, Any]]:
        return self.answers.metrics_by_selector(namespace, resource, selector, metric, metric_selector)

    async def list_external_metrics(self) -> list[str]:
        return self.answers.list_external_metrics()

    async def external_metric(self, namespace: str, metric: str, selector: LabelSelector) -> list[tuple[dict[str, str], Any]]:
        return self.answers.external_metric(namespace, metric, selector)


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_every_route_answers_as_the_core_and_node_do(flavour: str, certs: Path, loopback_server: Loopback) -> None:
    """`namespaces/*/metrics/...`, a namespace's own metric, nodes by name and by selector (also
    under a namespace), pods, a metric with no value, discovery and external metrics: the exact
    bodies of answers.json, so namespaces and nodes are described without a namespace."""
    provider = AnswersProvider() if flavour == "sync" else AsyncAnswersProvider()
    with start(provider, provider, certs, loopback_server) as server:
        assert len(ANSWERS["answers"]) >= 10
        for answer in ANSWERS["answers"]:
            code, body = https_get(server, certs, answer["path"])
            if "items" in body:
                body["items"] = without_timestamps(body["items"])
            assert (answer["path"], code, body) == (answer["path"], answer["status"], answer["body"])


# ---------------------------------------------------------------------------------------------
# Errors


def status(served: Served, path: str, code: int, reason: str, message: str) -> None:
    got_code, body = served.get(path)
    assert (got_code, body) == (code, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
        "reason": reason, "details": {}, "code": code,
    })


def test_exceptions_become_kubernetes_statuses(served: Served) -> None:
    pods = f"{CUSTOM}/v1beta2/namespaces/web/pods"
    # LookupError / KeyError / NotFoundError: 404 with the exception's message.
    status(served, f"{pods}/web-1/no_such_metric", 404, "NotFound", "no metric no_such_metric for pods web-1")
    status(served, f"{pods}/*/no_such_metric", 404, "NotFound", "no metric no_such_metric for pods")
    status(served, f"{pods}/web-1/not_found", 404, "NotFound", "no queue for this object")
    out = served.kubectl(f"{pods}/nobody/queue_depth")
    assert out.returncode == 1 and "Error from server (NotFound): no metric queue_depth for pods nobody" in out.stderr, out.stderr
    with pytest.raises(NotFoundError) as info:
        Client(served.kubeconfig).get_custom_metric("web", "pods", "nobody", "queue_depth")
    assert (info.value.status, info.value.message) == (404, "no metric queue_depth for pods nobody")
    # ValueError: 400.
    status(served, f"{pods}/web-1/invalid?metricLabelSelector=q%3Dx", 400, "BadRequest", "metric selector 'q=x' names no queue")
    # Anything else: 500 with the message.
    status(served, f"{pods}/web-1/boom", 500, "InternalError", "Internal error occurred: the queue backend is down")
    out = served.kubectl(f"{pods}/web-1/boom")
    assert out.returncode == 1 and "Error from server (InternalError): Internal error occurred: the queue backend is down" in out.stderr
    # External: unknown metric (KeyError) is 404 too.
    status(served, f"{EXTERNAL}/namespaces/web/nope", 404, "NotFound", "no external metric nope")


def test_results_of_the_wrong_shape_are_500_naming_the_method(served: Served) -> None:
    cls = type(served.provider).__name__
    pods = f"{CUSTOM}/v1beta2/namespaces/web/pods"
    value = "a metric value (a Quantity, a quantity string, an int or a float), None or a MetricValue"
    status(served, f"{pods}/web-1/garbage_bool", 500, "InternalError",
           f"Internal error occurred: {cls}.metric_by_name() returned True (bool): expected {value}")
    # None is no value: 404, as a Node provider's null or undefined.
    status(served, f"{pods}/web-1/garbage_none", 404, "NotFound", "the server could not find the metric garbage_none for pods web-1")
    status(served, f"{pods}/web-1/garbage_nan", 500, "InternalError",
           f"Internal error occurred: {cls}.metric_by_name() returned nan (float): expected a finite number")
    status(served, f"{pods}/web-1/garbage_text", 500, "InternalError",
           f"Internal error occurred: {cls}.metric_by_name() returned 'lots' (str): invalid quantity \"lots\": "
           "a quantity needs at least one digit")
    code, body = served.get(f"{pods}/*/bad_pair")
    assert code == 500 and body["message"].startswith(
        f"Internal error occurred: {cls}.metrics_by_selector() returned an invalid value for \"web-1\": <object object at"), body
    status(served, f"{EXTERNAL}/namespaces/web/mapping", 500, "InternalError",
           f"Internal error occurred: {cls}.external_metric() returned {{'queue': 1}} (dict): expected a value, "
           "or an iterable of (labels, value) pairs (not a mapping)")


def test_anonymous_requests_are_unauthorized(served: Served) -> None:
    code, body = served.get(f"{CUSTOM}/v1beta2", client_cert=False)
    assert (code, body["reason"]) == (401, "Unauthorized")


# ---------------------------------------------------------------------------------------------
# Concurrency: slow providers, timeouts


def test_a_slow_provider_does_not_block_other_requests(served: Served) -> None:
    client = Client(served.kubeconfig)
    with ThreadPoolExecutor(4) as pool:
        t0 = time.monotonic()
        slow = [pool.submit(client.get_custom_metric, "web", "pods", "3", "slow") for _ in range(2)]
        fast = []
        for _ in range(10):
            t = time.monotonic()
            assert client.get_custom_metric("web", "pods", "web-1", "queue_depth").value == Quantity("10")
            fast.append(time.monotonic() - t)
        assert not any(f.done() for f in slow), "the slow requests should still be running"
        assert max(fast) < 2.0, fast
        assert [f.result().value for f in slow] == [Quantity("3"), Quantity("3")]
        # The two slow calls ran at the same time.
        assert time.monotonic() - t0 < 5.5
    threads = served.provider.record.threads
    if served.kind == "async":
        assert threads == {LOOP_THREAD}, threads
    else:
        assert LOOP_THREAD not in threads and "MainThread" not in threads, threads


def test_providers_that_do_not_answer_in_10_s_get_504(certs: Path, loopback_server: Loopback) -> None:
    """Both kinds at once (10 s); the coroutine of the async provider is cancelled."""
    sync, asyn = SyncProvider(loopback_server.kubeconfig), AsyncProvider(loopback_server.kubeconfig)
    with start(sync, None, certs, loopback_server) as s1, start(asyn, None, certs, loopback_server) as s2:
        servers = [Served("sync", s1, sync, Path(), certs), Served("async", s2, asyn, Path(), certs)]
        path = f"{CUSTOM}/v1beta2/namespaces/web/pods/11/slow"
        with ThreadPoolExecutor(2) as pool:
            t0 = time.monotonic()
            answers = list(pool.map(lambda s: s.get(path), servers))
            took = time.monotonic() - t0
        for code, body in answers:
            assert (code, body["reason"], body["message"]) == (504, "Timeout", "the metrics provider did not answer within 10s")
        assert 9.5 < took < 13, took
        deadline = time.monotonic() + 5
        while not asyn.record.cancelled and time.monotonic() < deadline:
            time.sleep(0.05)
        assert asyn.record.cancelled == ["11"]


@pytest.mark.asyncio
async def test_serve_from_a_running_event_loop(certs: Path, loopback_server: Loopback, tmp_path: Path) -> None:
    """Started from inside asyncio code, an async provider's coroutines run on the binding's loop,
    not the caller's; the caller's loop stays free to await the binding's AsyncClient."""
    provider = AsyncProvider(loopback_server.kubeconfig)
    server = await asyncio.to_thread(start, provider, provider, certs, loopback_server)
    with server:
        client = AsyncClient(client_kubeconfig(tmp_path / "kubeconfig", server.url, certs))
        values = await asyncio.gather(*(client.get_custom_metric("web", "pods", name, "queue_depth") for name in PODS))
        assert [str(v.value) for v in values] == ["10", "1500m", "250m"]
        assert await client.list_external_metric_names() == ["queue_messages_ready", "single"]
        assert provider.record.threads == {LOOP_THREAD}
        assert threading.current_thread().name != LOOP_THREAD
        # Also the blocking start, from the loop's own thread.
        with start(provider, None, certs, loopback_server) as second:
            assert second.port != server.port


# ---------------------------------------------------------------------------------------------
# The server object and the arguments


def test_server_object(certs: Path, loopback_server: Loopback) -> None:
    provider = SyncProvider(loopback_server.kubeconfig)
    with start(None, provider, certs, loopback_server) as server:
        assert server.address == f"127.0.0.1:{server.port}" and server.url == f"https://127.0.0.1:{server.port}"
        assert server.running and repr(server) == f"<kubemetrics.CustomMetricsServer https://127.0.0.1:{server.port} external running>"
        served = Served("sync", server, provider, Path(), certs)
        assert served.get(EXTERNAL)[0] == 200
        # Only what is given is served.
        assert served.get(f"{CUSTOM}/v1beta2")[0] == 404
        with pytest.raises(IoError, match="cannot listen on 127.0.0.1"):
            serve_custom_metrics(None, provider, bind_address="127.0.0.1", secure_port=server.port,
                                 tls_cert_file=certs / "serving.crt", tls_private_key_file=certs / "serving.key",
                                 client_ca_file=certs / "client-ca.crt", kubeconfig=loopback_server.kubeconfig)
    assert not server.running and repr(server).endswith(" external stopped>")
    server.stop()  # again: nothing happens
    time.sleep(0.2)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=2) as sock:
        # A connection may still be accepted by the kernel for a moment: the TLS handshake must fail.
        ssl.create_default_context(cafile=str(certs / "serving-ca.crt")).wrap_socket(sock, server_hostname="127.0.0.1")


def test_serve_argument_errors(certs: Path, loopback_server: Loopback) -> None:
    class Incomplete:
        def list_metrics(self) -> list[str]:
            return []

        metric_by_name = "not callable"

    with pytest.raises(TypeError, match="has no method metric_by_name, metrics_by_selector: a custom provider has the methods "
                                        "list_metrics, metric_by_name, metrics_by_selector"):
        serve_custom_metrics(Incomplete(), kubeconfig=loopback_server.kubeconfig)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="external provider .* has no method list_external_metrics, external_metric"):
        serve_custom_metrics(None, Incomplete(), kubeconfig=loopback_server.kubeconfig)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="nothing to serve"):
        serve_custom_metrics(kubeconfig=loopback_server.kubeconfig, bind_address="127.0.0.1", secure_port=0,
                             tls_cert_file=certs / "serving.crt", tls_private_key_file=certs / "serving.key",
                             client_ca_file=certs / "client-ca.crt")
    provider = SyncProvider(loopback_server.kubeconfig)
    with pytest.raises(ConfigError, match='bind_address "localhost" is not an IP address'):
        serve_custom_metrics(provider, bind_address="localhost", kubeconfig=loopback_server.kubeconfig)
    with pytest.raises(ConfigError, match="--tls-cert-file and --tls-private-key-file must be given together"):
        serve_custom_metrics(provider, bind_address="127.0.0.1", secure_port=0, tls_cert_file=certs / "serving.crt",
                             client_ca_file=certs / "client-ca.crt", kubeconfig=loopback_server.kubeconfig)
    with pytest.raises(ValueError, match="request_timeout"):
        serve_custom_metrics(provider, request_timeout=-1, kubeconfig=loopback_server.kubeconfig)


# ---------------------------------------------------------------------------------------------
# examples/python/custom_metrics_provider.py (also run behind a real aggregator by tests/e2e)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python" / "custom_metrics_provider.py"


def test_the_example_serves_its_values_file(certs: Path, loopback_server: Loopback, tmp_path: Path) -> None:
    values = tmp_path / "values.json"
    values.write_text(json.dumps({"objects": [
        {"resource": "pods", "namespace": "shop", "name": "worker-1", "labels": {"app": "worker"}, "metrics": {"queue_depth": 12}},
        {"resource": "pods", "namespace": "shop", "name": "worker-2", "labels": {"app": "worker"}, "metrics": {"queue_depth": "2.5"}},
        {"resource": "pods", "namespace": "shop", "name": "web-1", "labels": {"app": "web"}, "metrics": {"queue_depth": 1}},
        {"resource": "namespaces", "name": "shop", "metrics": {"queue_depth": 40}},
        {"resource": "nodes", "name": "node-a", "labels": {"tier": "a"}, "metrics": {"temperature": 61.5}},
    ]}))
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--values", str(values), "--bind-address", "127.0.0.1", "--secure-port", "0",
         "--tls-cert-file", str(certs / "serving.crt"), "--tls-private-key-file", str(certs / "serving.key"),
         "--client-ca-file", str(certs / "client-ca.crt"), "--kubeconfig", str(loopback_server.kubeconfig)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.startswith("serving on https://127.0.0.1:"), (first, proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
        client = Client(client_kubeconfig(tmp_path / "kubeconfig", first.removeprefix("serving on "), certs))
        assert client.list_custom_metric_names() == ["namespaces/queue_depth", "nodes/temperature", "pods/queue_depth"]
        workers = client.list_custom_metrics("shop", "pods", "queue_depth", label_selector="app=worker")
        assert [(v.object_name, str(v.value)) for v in workers] == [("worker-1", "12"), ("worker-2", "2500m")]
        assert client.get_custom_metric(None, "namespaces", "shop", "queue_depth").value == Quantity(40)
        assert str(client.get_custom_metric(None, "nodes", "node-a", "temperature").value) == "61500m"
        with pytest.raises(NotFoundError, match="no metric queue_depth for pods shop/nobody"):
            client.get_custom_metric("shop", "pods", "nobody", "queue_depth")
        values.write_text("{not json")
        with pytest.raises(ApiError, match=r"Internal error occurred: cannot read .*values.json: JSONDecodeError") as info:
            client.get_custom_metric("shop", "pods", "worker-1", "queue_depth")
        assert info.value.status == 500
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr is not None and "RuntimeError: cannot read" in proc.stderr.read()  # logged with its traceback
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
