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
    NodeMetrics,
    NodeRow,
    PodMetrics,
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
    "TopPods": TopPods,
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


ALL = [node, pod, lambda: pod().containers[0], lambda: NodeRow("n", "1", "2Gi", "4", "8Gi", 25, 25), lambda: NodeRow("c"), lambda: rows()[0], lambda: rows()[0].containers[0], rows]


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
