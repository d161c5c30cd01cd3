"""`list_pod_metrics` and `top_pods` results are sequences that stay Rust data: they behave like
the lists they replace, make a row (and its `Quantity` objects) only when it is read, and have
integer accessors equal to the `Quantity` values."""

from __future__ import annotations

import asyncio
import collections.abc
import json
import pickle
import tracemalloc
from collections.abc import Iterator

import pytest

from conftest import Loopback, start_loopback, stop_loopback
from kubemetrics import AsyncClient, Client, ContainerMetrics, PodMetrics, PodMetricsList, PodRow, Quantity, TopPods

SCALE = 3000  # pods of the generated cluster


@pytest.fixture
def client(kubeconfig: str) -> Client:
    return Client(kubeconfig)


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loopback]:
    server = start_loopback(tmp_path_factory.mktemp("scaled"), "--scale-pods", str(SCALE))
    yield server
    stop_loopback(server)


@pytest.fixture(scope="module")
def scaled_client(scaled: Loopback) -> Client:
    return Client(str(scaled.kubeconfig), timeout=60)


def server_order(loopback: Loopback) -> list[tuple[str, str]]:
    items = json.loads(loopback.get("/apis/metrics.k8s.io/v1beta1/pods"))["items"]
    return [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in items]


def test_pod_metrics_list_behaves_like_a_list(client: Client, loopback: Loopback) -> None:
    pods = client.list_pod_metrics()
    assert isinstance(pods, PodMetricsList) and isinstance(pods, collections.abc.Sequence)
    eager = list(pods)
    assert len(pods) == len(eager) == len(server_order(loopback))
    assert [(p.namespace, p.name) for p in pods] == server_order(loopback)  # the server's order
    assert all(isinstance(p, PodMetrics) for p in pods)
    assert pods[0] == eager[0] and pods[-1] == eager[-1] and pods[-len(pods)] == eager[0]
    with pytest.raises(IndexError):
        pods[len(pods)]
    with pytest.raises(IndexError):
        pods[-len(pods) - 1]
    assert pods[1:4] == eager[1:4] and isinstance(pods[1:4], list)
    assert pods[::-2] == eager[::-2] and pods[5:1] == [] and pods[-3:] == eager[-3:]
    assert list(reversed(pods)) == eager[::-1]
    assert pods == eager and eager == pods and pods == tuple(eager) and not (pods != eager)
    assert pods != eager[:-1] and pods != [*eager[:-1], eager[0]] and pods != "pods"
    assert pods == client.list_pod_metrics()  # two results of the same kind
    assert repr(pods) == repr(eager)
    assert eager[2] in pods and pods.index(eager[2]) == 2 and pods.count(eager[2]) == 1
    with pytest.raises(ValueError):
        pods.index(eager[2], 3)
    assert pickle.loads(pickle.dumps(pods)) == eager
    with pytest.raises(TypeError):
        hash(pods)  # like a list
    assert client.list_pod_metrics("nowhere") == [] and not client.list_pod_metrics("nowhere")


def test_pod_metrics_items_are_made_when_read(client: Client) -> None:
    pods = client.list_pod_metrics()
    assert pods[0] is not pods[0]  # made on each read, never kept
    assert pods[0] == pods[0]
    it = iter(pods)
    first = next(it)
    assert first == pods[0] and list(it) == list(pods)[1:]
    assert list(it) == []  # an exhausted iterator stays exhausted


def test_integer_accessors_equal_the_quantities(client: Client) -> None:
    for pod in client.list_pod_metrics():
        assert pod.cpu_milli_value == pod.total("cpu").milli_value
        assert pod.memory_value == pod.total("memory").value
        for c in pod.containers:
            assert c.cpu_milli_value == c.usage.get("cpu", Quantity(0)).milli_value
            assert c.memory_value == c.usage.get("memory", Quantity(0)).value
    top = client.top_pods(all_namespaces=True, containers=True)
    for row in top:
        assert row.cpu_milli_value == row.cpu.milli_value and row.memory_value == row.memory.value
        for cr in row.containers:
            assert cr.cpu_milli_value == cr.cpu.milli_value and cr.memory_value == cr.memory.value
    # Rounded up, exact beyond 64 bits.
    assert ContainerMetrics("c", {"cpu": "250264852n"}).cpu_milli_value == 251
    assert ContainerMetrics("c", {}).memory_value == 0
    assert PodRow("ns", "p", "1n", "1e30").cpu_milli_value == 1
    assert PodRow("ns", "p", "1n", "1e30").memory_value == 10**30


def test_top_pods_behaves_like_a_list_in_kubectl_order(client: Client, loopback: Loopback) -> None:
    top = client.top_pods(all_namespaces=True, sort_by="memory")
    cli = loopback.cli_json("top", "pod", "-A", "--sort-by", "memory")["pods"]
    assert [(r.namespace, r.name) for r in top] == [(p["namespace"], p["name"]) for p in cli]
    assert isinstance(top, collections.abc.Sequence)
    rows = top.pods
    assert len(top) == len(rows) == len(cli)
    assert top[0] == rows[0] and top[-1] == rows[-1] and top[-2].to_dict() == cli[-2]
    assert top[2:5] == rows[2:5] and top[::3] == rows[::3] and top[-2:] == rows[-2:]
    assert top[True] == rows[1]
    with pytest.raises(IndexError):
        top[len(top)]
    with pytest.raises(TypeError):
        top["a"]  # type: ignore[call-overload]
    assert top[0] is not top[0]
    assert rows[3] in top and top.index(rows[3]) == 3 and top.count(rows[3]) == 1
    assert pickle.loads(pickle.dumps(top)) == top


def test_results_are_not_python_objects_until_read(scaled_client: Client, scaled: Loopback) -> None:
    """Objects made by Python's allocator are counted by tracemalloc; the rows are made only
    when read, so a result of thousands of rows costs a few hundred bytes of Python memory."""
    scaled_client.top_pods(all_namespaces=True)  # warm-up (connection, discovery)
    for fetch in (lambda: scaled_client.top_pods(all_namespaces=True), scaled_client.list_pod_metrics):
        tracemalloc.start()
        try:
            result = fetch()
            held, _ = tracemalloc.get_traced_memory()
            assert len(result) == SCALE
            assert held < 20_000, held  # one object of a row per pod would be > 100 kB
            row = result[SCALE // 2]
            one, _ = tracemalloc.get_traced_memory()
            assert one - held < 20_000
            touched = [r for r in result]
            every, _ = tracemalloc.get_traced_memory()
            assert every - held > 50 * SCALE  # the rows now exist
            del touched, row
        finally:
            tracemalloc.stop()


def test_large_lists_against_the_loopback_server(scaled_client: Client, scaled: Loopback) -> None:
    pods = scaled_client.list_pod_metrics()
    assert [(p.namespace, p.name) for p in pods] == server_order(scaled)
    top = scaled_client.top_pods(all_namespaces=True, sort_by="cpu")
    cli = scaled.cli_json("top", "pod", "-A", "--sort-by", "cpu")
    assert [r.to_dict() for r in top] == cli["pods"]
    # Integer sums over the rows equal the sums of the exact quantities.
    assert sum(r.memory_value for r in top) == sum(r.memory.value for r in top)
    assert sum(p.cpu_milli_value for p in pods) == sum(r.cpu_milli_value for r in top)


def test_async_results_are_the_same_sequences(kubeconfig: str) -> None:
    async def both() -> tuple[PodMetricsList, TopPods]:
        a = AsyncClient(kubeconfig)
        return await a.list_pod_metrics(), await a.top_pods(all_namespaces=True)

    pods, top = asyncio.run(both())
    s = Client(kubeconfig)
    assert isinstance(pods, PodMetricsList) and pods == s.list_pod_metrics() and pods[-1] == list(pods)[-1]
    assert isinstance(top, TopPods) and top == s.top_pods(all_namespaces=True) and top[-1:] == top.pods[-1:]
