"""The metrics and top row types without a server: construction, repr, equality, pickling, JSON."""

from __future__ import annotations

import datetime
import json
import pickle
from typing import Any

import pytest

from kubemetrics import (
    ApiError,
    ContainerMetrics,
    ContainerRow,
    ExternalMetricValue,
    MetricValue,
    NodeMetrics,
    NodeRow,
    PodMetrics,
    PodRequests,
    PodRow,
    Quantity,
    QuantityError,
    TopPods,
)

UTC = datetime.timezone.utc
TS = datetime.datetime(2024, 1, 1, 0, 9, 50, tzinfo=UTC)
WINDOW = datetime.timedelta(seconds=14, milliseconds=982)
EVAL_NS: dict[str, Any] = {
    "datetime": datetime, "Quantity": Quantity, "NodeMetrics": NodeMetrics, "PodMetrics": PodMetrics,
    "ContainerMetrics": ContainerMetrics, "NodeRow": NodeRow, "PodRow": PodRow, "ContainerRow": ContainerRow,
    "TopPods": TopPods, "PodRequests": PodRequests, "MetricValue": MetricValue, "ExternalMetricValue": ExternalMetricValue,
}


def node() -> NodeMetrics:
    return NodeMetrics("node-a", {"cpu": "1630534153n", "memory": Quantity("8318172Ki")}, TS, datetime.timedelta(seconds=20), {"zone": "z1"})


def pod() -> PodMetrics:
    containers = [ContainerMetrics("nginx", {"cpu": "969654n", "memory": "15012Ki"}), ContainerMetrics("sidecar", {"cpu": "1m", "memory": "2Mi"})]
    return PodMetrics("default", "web-1", containers, TS, WINDOW, {"app": "web"})


def rows() -> TopPods:
    c = [ContainerRow("nginx", "969654n", "15012Ki"), ContainerRow("sidecar", "1m", "2Mi")]
    p = PodRow("default", "web-1", "1969654n", Quantity("17109Ki"), c)
    return TopPods([p], "1969654n", "17109Ki", "default")


def requests() -> PodRequests:
    return PodRequests("default", "web-1", "200m", Quantity("128Mi"))


def metric_value() -> MetricValue:
    return MetricValue("Pod", "web", "web-1", "http_requests", "10500m", TS, 60, {"matchLabels": {"verb": "GET"}}, "uid-1", "/v1")


def external_value() -> ExternalMetricValue:
    return ExternalMetricValue("queue_depth", {"queue": "jobs"}, 42, TS, 30)


ALL = [
    node, pod, lambda: pod().containers[0], lambda: NodeRow("n", "1", "2Gi", "4", "8Gi", 25, 25), lambda: NodeRow("c"),
    lambda: rows()[0], lambda: rows()[0].containers[0], rows, requests, lambda: PodRequests("kube-system", "bare"),
    metric_value, lambda: MetricValue("Node", "", "node-a", "temperature", "1", TS), external_value,
    lambda: ExternalMetricValue("q", {}, "0", TS),
]


def test_node_metrics_properties() -> None:
    n = node()
    assert n.name == "node-a"
    assert n.labels == {"zone": "z1"}
    assert n.timestamp == TS and n.timestamp.tzinfo is not None
    assert n.window == datetime.timedelta(seconds=20)
    assert n.usage == {"cpu": Quantity("1630534153n"), "memory": Quantity("8318172Ki")}


def test_pod_metrics_properties() -> None:
    p = pod()
    assert (p.namespace, p.name) == ("default", "web-1")
    assert p.labels == {"app": "web"}
    assert p.window == WINDOW
    assert [c.name for c in p.containers] == ["nginx", "sidecar"]
    assert p.containers[1].usage["memory"] == Quantity("2Mi")
    assert p.total("cpu") == Quantity("1969654n")
    assert p.total("swap") == Quantity("0")


def test_to_dict_is_the_kubernetes_shape() -> None:
    d = node().to_dict()
    assert list(d) == ["kind", "apiVersion", "metadata", "timestamp", "window", "usage"]
    assert d == {
        "kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": "node-a", "labels": {"zone": "z1"}},
        "timestamp": "2024-01-01T00:09:50Z", "window": "20s",
        "usage": {"cpu": "1630534153n", "memory": "8318172Ki"},
    }
    p = pod().to_dict()
    assert p["window"] == "14.982s"
    assert p["metadata"] == {"name": "web-1", "namespace": "default", "labels": {"app": "web"}}
    assert p["containers"][0] == {"name": "nginx", "usage": {"cpu": "969654n", "memory": "15012Ki"}}
    assert pod().containers[0].to_dict() == p["containers"][0]
    assert json.loads(pod().to_json()) == p


def test_from_json_round_trip_and_errors() -> None:
    assert NodeMetrics.from_json(node().to_json()) == node()
    assert PodMetrics.from_json(pod().to_json()) == pod()
    assert ContainerMetrics.from_json(pod().containers[0].to_json()) == pod().containers[0]
    with pytest.raises(ApiError, match="cannot decode NodeMetrics JSON"):
        NodeMetrics.from_json("{")


def test_row_properties_and_to_dict() -> None:
    r = NodeRow("n", "1", "2Gi", "4", "8Gi", 25, 25)
    assert (r.cpu, r.memory, r.cpu_available, r.memory_available) == (Quantity("1"), Quantity("2Gi"), Quantity("4"), Quantity("8Gi"))
    assert (r.cpu_percent, r.memory_percent, r.has_metrics) == (25, 25, True)
    assert r.to_dict() == {"name": "n", "cpu": "1", "memory": "2Gi", "cpu_available": "4", "memory_available": "8Gi", "cpu_percent": 25, "memory_percent": 25}
    unknown = NodeRow("c")
    assert unknown.cpu is None and not unknown.has_metrics
    top = rows()
    assert len(top) == 1 and top.namespace == "default"
    assert top.total_cpu == Quantity("1969654n") and top.total_memory == Quantity("17109Ki")
    assert [p.name for p in top] == ["web-1"]
    assert top[0] == top[-1] == top.pods[0]
    with pytest.raises(IndexError):
        top[1]
    assert top.to_dict() == {
        "pods": [{"namespace": "default", "name": "web-1", "cpu": "1969654n", "memory": "17109Ki", "containers": [
            {"name": "nginx", "cpu": "969654n", "memory": "15012Ki"}, {"name": "sidecar", "cpu": "1m", "memory": "2Mi"}]}],
        "total_cpu": "1969654n", "total_memory": "17109Ki", "namespace": "default",
    }


def test_pod_requests_properties_and_percent() -> None:
    r = requests()
    assert (r.namespace, r.name, r.cpu, r.memory) == ("default", "web-1", Quantity("200m"), Quantity("128Mi"))
    assert r.cpu_percent(Quantity("1501m")) == 750
    assert r.cpu_percent("2m") == 1
    assert r.cpu_percent(0) == 0
    assert r.memory_percent("1538Mi") == 1201
    assert r.memory_percent(Quantity("17060Ki")) == 13
    assert r.to_dict() == {"namespace": "default", "name": "web-1", "cpu": "200m", "memory": "128Mi"}
    bare = PodRequests("kube-system", "bare")
    assert (bare.cpu, bare.memory) == (None, None)
    assert bare.cpu_percent("1") is None and bare.memory_percent("1Gi") is None
    assert bare.to_dict() == {"namespace": "kube-system", "name": "bare", "cpu": None, "memory": None}
    assert PodRequests("a", "b", cpu="0").cpu_percent("5m") == 0  # a zero request: kubectl's 0
    with pytest.raises(QuantityError):
        r.cpu_percent("1K")


def test_metric_value_properties_and_kubernetes_shape() -> None:
    v = metric_value()
    assert (v.object_kind, v.object_namespace, v.object_name, v.object_uid, v.object_api_version) == ("Pod", "web", "web-1", "uid-1", "/v1")
    assert (v.metric_name, v.metric_selector) == ("http_requests", {"matchLabels": {"verb": "GET"}})
    assert v.timestamp == TS and v.window_seconds == 60
    assert v.value == Quantity("10.5")
    d = v.to_dict()
    assert list(d) == ["describedObject", "metric", "timestamp", "windowSeconds", "value"]
    assert d == {
        "describedObject": {"kind": "Pod", "namespace": "web", "name": "web-1", "uid": "uid-1", "apiVersion": "/v1"},
        "metric": {"name": "http_requests", "selector": {"matchLabels": {"verb": "GET"}}},
        "timestamp": "2024-01-01T00:09:50Z", "windowSeconds": 60, "value": "10500m",
    }
    assert json.loads(v.to_json()) == d
    assert MetricValue.from_json(v.to_json()) == v
    node = MetricValue("Node", "", "node-a", "temperature", "1", TS)
    assert (node.object_namespace, node.metric_selector, node.window_seconds, node.object_uid) == ("", None, None, "")
    assert node.to_dict() == {"describedObject": {"kind": "Node", "name": "node-a"}, "metric": {"name": "temperature"},
                              "timestamp": "2024-01-01T00:09:50Z", "value": "1"}
    with pytest.raises(ApiError, match="cannot decode MetricValue JSON"):
        MetricValue.from_json('{"metric": {}}')
    with pytest.raises(ValueError, match="metric_selector is not a Kubernetes LabelSelector"):
        MetricValue("Pod", "web", "web-1", "m", "1", TS, metric_selector={"matchLabels": 1})


def test_external_metric_value_properties_and_kubernetes_shape() -> None:
    v = external_value()
    assert (v.metric_name, v.metric_labels, v.value, v.timestamp, v.window_seconds) == ("queue_depth", {"queue": "jobs"}, Quantity("42"), TS, 30)
    d = v.to_dict()
    assert list(d) == ["metricName", "metricLabels", "timestamp", "window", "value"]
    assert d == {"metricName": "queue_depth", "metricLabels": {"queue": "jobs"}, "timestamp": "2024-01-01T00:09:50Z", "window": 30, "value": "42"}
    assert ExternalMetricValue.from_json(v.to_json()) == v
    assert ExternalMetricValue("q", {}, "0", TS).to_dict() == {"metricName": "q", "metricLabels": {}, "timestamp": "2024-01-01T00:09:50Z", "value": "0"}
    with pytest.raises(ApiError, match="cannot decode ExternalMetricValue JSON"):
        ExternalMetricValue.from_json("[]")
    with pytest.raises(QuantityError):
        ExternalMetricValue("q", {}, "NaN", TS)


@pytest.mark.parametrize("make", ALL)
def test_repr_is_a_constructor_call(make: Any) -> None:
    value = make()
    assert repr(value).startswith(type(value).__name__ + "(")
    assert eval(repr(value), EVAL_NS) == value


@pytest.mark.parametrize("make", ALL)
@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_pickle(make: Any, protocol: int) -> None:
    value = make()
    back = pickle.loads(pickle.dumps(value, protocol=protocol))
    assert back == value and type(back) is type(value)
    assert hash(back) == hash(value)


@pytest.mark.parametrize("make", ALL)
def test_eq_hash_and_immutability(make: Any) -> None:
    a, b = make(), make()
    assert a == b and not (a != b)
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a != Quantity("1")
    with pytest.raises((AttributeError, TypeError)):
        a.name = "x"


def test_equal_values_in_other_formats_hash_alike() -> None:
    a = NodeRow("n", "1Ki")
    b = NodeRow("n", "1024")
    assert a == b and hash(a) == hash(b)
    assert ContainerMetrics("c", {"cpu": "1"}) == ContainerMetrics("c", {"cpu": "1000m"})
    assert hash(ContainerMetrics("c", {"cpu": "1"})) == hash(ContainerMetrics("c", {"cpu": "1000m"}))
    assert PodRequests("n", "p", "1") == PodRequests("n", "p", "1000m")
    assert hash(PodRequests("n", "p", "1")) == hash(PodRequests("n", "p", "1000m"))
    m1, m2 = MetricValue("Pod", "n", "p", "m", "1", TS), MetricValue("Pod", "n", "p", "m", "1000m", TS)
    assert m1 == m2 and hash(m1) == hash(m2)
    e1, e2 = ExternalMetricValue("q", {}, "1Ki", TS), ExternalMetricValue("q", {}, 1024, TS)
    assert e1 == e2 and hash(e1) == hash(e2)


def test_constructors_validate() -> None:
    with pytest.raises(QuantityError):
        ContainerRow("c", "1K", "0")
    with pytest.raises(TypeError):
        NodeMetrics("n", {"cpu": 1.5}, TS, WINDOW)  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        NodeMetrics("n", {}, "2024-01-01", WINDOW)  # type: ignore[arg-type]


def test_error_hierarchy() -> None:
    import kubemetrics

    kinds = {
        "ConfigError": "Config", "AuthError": "Auth", "NotFoundError": "NotFound",
        "MetricsUnavailableError": "MetricsUnavailable", "ApiError": "Api", "QuantityError": "Quantity",
        "IoError": "Io", "InternalError": "Internal",
    }
    base = kubemetrics.KubeMetricsError
    assert issubclass(base, Exception) and base.kind is None and base.__module__ == "kubemetrics"
    for name, kind in kinds.items():
        cls = getattr(kubemetrics, name)
        assert issubclass(cls, base) and cls.kind == kind
        assert cls.__module__ == "kubemetrics" and cls.__doc__
        err = cls("boom")
        assert (str(err), err.status, err.kind) == ("boom", None, kind)
    assert issubclass(kubemetrics.QuantityError, ValueError)
    assert not issubclass(kubemetrics.NotFoundError, ValueError)
