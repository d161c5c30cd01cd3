"""AsyncClient: every method and every error kind, awaited on asyncio."""

from __future__ import annotations

import asyncio
import time

import pytest

from conftest import Loopback
from kubemetrics import (
    ApiError,
    AsyncClient,
    AuthError,
    Client,
    ConfigError,
    IoError,
    MetricsUnavailableError,
    NodeMetrics,
    NotFoundError,
    PodMetrics,
    PodRequests,
    Quantity,
    TopPods,
)

pytestmark = pytest.mark.asyncio


async def test_every_method_matches_the_sync_client(kubeconfig: str) -> None:
    a, s = AsyncClient(kubeconfig), Client(kubeconfig)
    assert a.default_namespace == "default"
    assert "AsyncClient" in repr(a)
    nodes = await a.list_node_metrics()
    assert nodes == s.list_node_metrics() and all(isinstance(n, NodeMetrics) for n in nodes)
    assert await a.list_node_metrics(label_selector="tier=b") == s.list_node_metrics(label_selector="tier=b")
    assert await a.list_node_metrics(field_selector="metadata.name=node-a") == s.list_node_metrics(field_selector="metadata.name=node-a")
    assert await a.get_node_metrics("node-a") == s.get_node_metrics("node-a")
    pods = await a.list_pod_metrics()
    assert pods == s.list_pod_metrics() and all(isinstance(p, PodMetrics) for p in pods)
    assert await a.list_pod_metrics("default", label_selector="app=web") == s.list_pod_metrics("default", label_selector="app=web")
    assert await a.list_pod_metrics(field_selector="metadata.name=batch-1") == s.list_pod_metrics(field_selector="metadata.name=batch-1")
    assert await a.get_pod_metrics("monitoring", "prometheus-0") == s.get_pod_metrics("monitoring", "prometheus-0")
    assert await a.top_nodes() == s.top_nodes()
    assert await a.top_nodes(name="node-b", show_capacity=True) == s.top_nodes(name="node-b", show_capacity=True)
    assert await a.top_nodes(label_selector="tier=a", sort_by="memory") == s.top_nodes(label_selector="tier=a", sort_by="memory")
    top = await a.top_pods(all_namespaces=True, sort_by="cpu", containers=True, sum=True)
    assert isinstance(top, TopPods)
    assert top == s.top_pods(all_namespaces=True, sort_by="cpu", containers=True, sum=True)
    assert await a.top_pods(namespace="kube-system", label_selector="component=etcd") == s.top_pods(namespace="kube-system", label_selector="component=etcd")
    assert await a.top_pods(name="batch-1") == s.top_pods(name="batch-1")
    assert await a.top_pods(field_selector="metadata.name=batch-1") == s.top_pods(field_selector="metadata.name=batch-1")
    requests = await a.pod_requests()
    assert requests == s.pod_requests() and all(isinstance(r, PodRequests) for r in requests)
    assert await a.pod_requests("default", label_selector="app=web") == s.pod_requests("default", label_selector="app=web")
    assert await a.pod_requests(field_selector="metadata.name=batch-1") == s.pod_requests(field_selector="metadata.name=batch-1")


async def test_top_pods_equals_cli_json(kubeconfig: str, loopback: Loopback) -> None:
    top = await AsyncClient(kubeconfig).top_pods(all_namespaces=True)
    assert top.to_dict() == loopback.cli_json("top", "pod", "-A")


async def test_calls_run_concurrently(kubeconfig: str) -> None:
    a = AsyncClient(kubeconfig)
    results = await asyncio.gather(*(a.top_pods(all_namespaces=True) for _ in range(50)))
    assert len({r.total_cpu for r in results}) == 1
    assert results[0].total_cpu == Quantity("4430944675n")


async def test_not_found(kubeconfig: str) -> None:
    with pytest.raises(NotFoundError) as info:
        await AsyncClient(kubeconfig).get_pod_metrics("default", "nope")
    assert (info.value.kind, info.value.status) == ("NotFound", 404)
    assert info.value.message == 'podmetrics.metrics.k8s.io "default/nope" not found'


@pytest.mark.parametrize(("fault", "status"), [("unauthorized", 401), ("forbidden", 403)])
async def test_auth(kubeconfig: str, loopback: Loopback, fault: str, status: int) -> None:
    a = AsyncClient(kubeconfig)
    loopback.control(f"fault/{fault}")
    with pytest.raises(AuthError) as info:
        await a.list_node_metrics()
    assert info.value.status == status


async def test_metrics_unavailable(kubeconfig: str, loopback: Loopback) -> None:
    loopback.control("metrics-api/off")
    with pytest.raises(MetricsUnavailableError):
        await AsyncClient(kubeconfig).top_nodes()
    # The loopback API server serves no custom or external metrics API at all.
    a = AsyncClient(kubeconfig)
    with pytest.raises(MetricsUnavailableError, match="Custom metrics API not available"):
        await a.custom_metrics_version()
    with pytest.raises(MetricsUnavailableError, match="Custom metrics API not available"):
        await a.list_custom_metrics("default", "pods", "http_requests")
    with pytest.raises(MetricsUnavailableError, match="External metrics API not available"):
        await a.get_external_metric("default", "queue_depth")


@pytest.mark.parametrize("fault", ["internal-error", "malformed-json"])
async def test_api_errors(kubeconfig: str, loopback: Loopback, fault: str) -> None:
    a = AsyncClient(kubeconfig)
    await a.list_node_metrics()
    loopback.control(f"fault/{fault}")
    with pytest.raises(ApiError) as info:
        await a.list_pod_metrics()
    assert info.value.status == (500 if fault == "internal-error" else None)


async def test_io_errors(kubeconfig: str, closed_port_kubeconfig: str, loopback: Loopback) -> None:
    with pytest.raises(IoError, match="refused"):
        await AsyncClient(closed_port_kubeconfig).list_node_metrics()
    a = AsyncClient(kubeconfig, timeout=0.5)
    await a.get_node_metrics("node-a")
    loopback.control("fault/hang")
    start = time.monotonic()
    with pytest.raises(IoError):
        await a.get_node_metrics("node-a")
    assert time.monotonic() - start < 10


async def test_the_event_loop_keeps_running_during_a_call(kubeconfig: str, loopback: Loopback) -> None:
    a = AsyncClient(kubeconfig, timeout=1.0)
    await a.list_node_metrics()
    loopback.control("fault/hang")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    ticker = asyncio.ensure_future(tick())
    with pytest.raises(IoError):
        await a.list_node_metrics()
    ticker.cancel()
    assert ticks > 100


async def test_config_errors(kubeconfig: str) -> None:
    with pytest.raises(ConfigError):
        AsyncClient(kubeconfig, "no-such-context")
    with pytest.raises(ConfigError):
        await AsyncClient(kubeconfig).top_nodes(sort_by="size")  # type: ignore[arg-type]


async def test_from_configuration(loopback: Loopback) -> None:
    kubernetes = pytest.importorskip("kubernetes")
    cfg = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(loopback.kubeconfig), client_configuration=cfg)
    a = AsyncClient.from_configuration(kubernetes.client.ApiClient(cfg))
    assert len(await a.top_pods(all_namespaces=True)) == 9
