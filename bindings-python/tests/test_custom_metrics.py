"""Custom and external metrics: values pushed to a real `kubemetrics serve --custom-metrics-push`
over TLS, read back by Client and AsyncClient (a client certificate, CN=carol O=system:masters),
compared with the server's own JSON; and the errors."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from conftest import Loopback, MetricsServer
from kubemetrics import (
    AsyncClient,
    Client,
    ExternalMetricValue,
    IoError,
    MetricsUnavailableError,
    MetricValue,
    NotFoundError,
    Quantity,
)

CUSTOM = "/apis/custom.metrics.k8s.io/v1beta2"
EXTERNAL = "/apis/external.metrics.k8s.io/v1beta1"


@pytest.fixture(scope="module")
def pushed(metrics_server: MetricsServer) -> MetricsServer:
    """Values pushed once per module (10 minutes to live)."""
    for pod, app, value in [("web-1", "web", "10"), ("web-2", "web", "30"), ("db-1", "db", "500m")]:
        metrics_server.push(f"custom/namespaces/web/pods/{pod}/http_requests?value={value}&ttl=10m&labels=app%3D{app}")
    metrics_server.push("custom/namespaces/web/namespaces/web/queue_length?value=7&ttl=10m")
    metrics_server.push("custom/nodes/node-a/temperature?value=61500m&ttl=10m&labels=tier%3Da")
    for queue, value in [("jobs", "42"), ("mail", "7")]:
        metrics_server.push(f"external/namespaces/web/queue_depth?value={value}&ttl=10m&labels=queue%3D{queue}")
    return metrics_server


@pytest.fixture
def client(pushed: MetricsServer) -> Client:
    return Client(pushed.kubeconfig)


def test_version_and_discovery(client: Client) -> None:
    assert client.custom_metrics_version() == "v1beta2"
    assert sorted(client.list_custom_metric_names()) == ["namespaces/queue_length", "nodes/temperature", "pods/http_requests"]
    assert client.list_external_metric_names() == ["queue_depth"]


def test_get_custom_metric(client: Client, pushed: MetricsServer) -> None:
    v = client.get_custom_metric("web", "pods", "web-1", "http_requests")
    assert isinstance(v, MetricValue)
    assert (v.object_kind, v.object_namespace, v.object_name, v.object_api_version) == ("Pod", "web", "web-1", "/v1")
    assert (v.metric_name, v.metric_selector, v.value) == ("http_requests", None, Quantity("10"))
    assert v.timestamp.tzinfo is not None
    assert abs(datetime.datetime.now(datetime.timezone.utc) - v.timestamp) < datetime.timedelta(minutes=10)
    # to_dict() is the item exactly as the server sends it.
    assert [v.to_dict()] == pushed.get(f"{CUSTOM}/namespaces/web/pods/web-1/http_requests")["items"]
    db = client.get_custom_metric("web", "pods", "db-1", "http_requests", metric_selector="verb=GET")
    assert db.value == Quantity("500m") and db.metric_selector == {"matchLabels": {"verb": "GET"}}
    # A namespace's own metric, and a cluster-scoped object's.
    ns = client.get_custom_metric(None, "namespaces", "web", "queue_length")
    assert (ns.object_kind, ns.object_namespace, ns.object_name, ns.value) == ("Namespace", "", "web", Quantity("7"))
    node = client.get_custom_metric(None, "nodes", "node-a", "temperature")
    assert (node.object_kind, node.object_name, node.value) == ("Node", "node-a", Quantity("61.5"))


def test_list_custom_metrics(client: Client, pushed: MetricsServer) -> None:
    web = client.list_custom_metrics("web", "pods", "http_requests", label_selector="app=web")
    assert [(v.object_name, v.value) for v in web] == [("web-1", Quantity("10")), ("web-2", Quantity("30"))]
    raw = pushed.get(f"{CUSTOM}/namespaces/web/pods/*/http_requests?labelSelector=app%3Dweb")
    assert [v.to_dict() for v in web] == raw["items"]
    everything = client.list_custom_metrics("web", "pods", "http_requests")
    assert sorted(v.object_name for v in everything) == ["db-1", "web-1", "web-2"]
    selected = client.list_custom_metrics("web", "pods", "http_requests", label_selector="app=db", metric_selector="verb=GET")
    assert [(v.object_name, v.metric_selector) for v in selected] == [("db-1", {"matchLabels": {"verb": "GET"}})]
    nodes = client.list_custom_metrics(None, "nodes", "temperature", label_selector="tier=a")
    assert [(v.object_name, str(v.value)) for v in nodes] == [("node-a", "61500m")]
    assert client.list_custom_metrics("web", "pods", "http_requests", label_selector="app=zzz") == []


def test_get_external_metric(client: Client, pushed: MetricsServer) -> None:
    values = client.get_external_metric("web", "queue_depth")
    assert all(isinstance(v, ExternalMetricValue) for v in values)
    assert sorted((v.metric_labels["queue"], v.value) for v in values) == [("jobs", Quantity("42")), ("mail", Quantity("7"))]
    assert [v.to_dict() for v in values] == pushed.get(f"{EXTERNAL}/namespaces/web/queue_depth")["items"]
    jobs = client.get_external_metric("web", "queue_depth", label_selector="queue=jobs")
    assert [(v.metric_name, v.metric_labels, str(v.value)) for v in jobs] == [("queue_depth", {"queue": "jobs"}, "42")]
    # The external API answers unknown metrics and namespaces with an empty list, not 404.
    assert client.get_external_metric("web", "no_such_metric") == []
    assert client.get_external_metric("elsewhere", "queue_depth") == []


def test_unknown_custom_metric_is_not_found_with_the_server_message(client: Client) -> None:
    with pytest.raises(NotFoundError) as info:
        client.get_custom_metric("web", "pods", "web-1", "no_such_metric")
    assert (info.value.kind, info.value.status) == ("NotFound", 404)
    assert info.value.message == "the server could not find the metric no_such_metric for pods web-1"
    with pytest.raises(NotFoundError, match="the server could not find the metric http_requests for pods nope"):
        client.get_custom_metric("web", "pods", "nope", "http_requests")


def test_no_custom_metrics_api_is_metrics_unavailable(loopback: Loopback) -> None:
    """The loopback API server serves metrics.k8s.io only."""
    client = Client(loopback.kubeconfig)
    calls: list[Any] = [
        client.custom_metrics_version,
        client.list_custom_metric_names,
        lambda: client.get_custom_metric("default", "pods", "web-7f9c-abcde", "http_requests"),
        lambda: client.list_custom_metrics("default", "pods", "http_requests", label_selector="app=web"),
    ]
    for call in calls:
        with pytest.raises(MetricsUnavailableError) as info:
            call()
        assert (info.value.kind, info.value.status) == ("MetricsUnavailable", None)
        assert info.value.message.startswith("Custom metrics API not available: no custom.metrics.k8s.io is served")
    with pytest.raises(MetricsUnavailableError) as external:
        client.get_external_metric("default", "queue_depth")
    assert external.value.message == "External metrics API not available: no external.metrics.k8s.io/v1beta1 is served"
    with pytest.raises(MetricsUnavailableError) as names:
        client.list_external_metric_names()
    assert names.value.message == "External metrics API not available: no external.metrics.k8s.io/v1beta1 is served"


def test_connection_refused_is_an_io_error(closed_port_kubeconfig: str) -> None:
    with pytest.raises(IoError, match="refused"):
        Client(closed_port_kubeconfig).get_custom_metric("web", "pods", "web-1", "http_requests")


@pytest.mark.asyncio
async def test_async_client_matches_the_sync_client(pushed: MetricsServer, client: Client) -> None:
    a = AsyncClient(pushed.kubeconfig)
    assert await a.custom_metrics_version() == client.custom_metrics_version()
    assert await a.list_custom_metric_names() == client.list_custom_metric_names()
    assert await a.list_external_metric_names() == client.list_external_metric_names()
    v = await a.get_custom_metric("web", "pods", "web-2", "http_requests", metric_selector="verb=GET")
    assert v == client.get_custom_metric("web", "pods", "web-2", "http_requests", metric_selector="verb=GET")
    assert await a.get_custom_metric(None, "namespaces", "web", "queue_length") == client.get_custom_metric(None, "namespaces", "web", "queue_length")
    listed = await a.list_custom_metrics("web", "pods", "http_requests", label_selector="app=web")
    assert listed == client.list_custom_metrics("web", "pods", "http_requests", label_selector="app=web")
    assert all(isinstance(v, MetricValue) for v in listed)
    external = await a.get_external_metric("web", "queue_depth", label_selector="queue=mail")
    assert external == client.get_external_metric("web", "queue_depth", label_selector="queue=mail")
    assert [str(v.value) for v in external] == ["7"]
    with pytest.raises(NotFoundError, match="could not find the metric nope for pods web-1"):
        await a.get_custom_metric("web", "pods", "web-1", "nope")


@pytest.mark.asyncio
async def test_async_no_custom_metrics_api(loopback: Loopback) -> None:
    a = AsyncClient(loopback.kubeconfig)
    with pytest.raises(MetricsUnavailableError, match="Custom metrics API not available"):
        await a.get_custom_metric("default", "pods", "x", "m")
    with pytest.raises(MetricsUnavailableError, match="Custom metrics API not available"):
        await a.list_custom_metric_names()
