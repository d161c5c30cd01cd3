"""The blocking Client against a real loopback API server: every method, every error kind."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import Loopback
from kubemetrics import (
    ApiError,
    AuthError,
    Client,
    ConfigError,
    IoError,
    KubeMetricsError,
    MetricsUnavailableError,
    NodeMetrics,
    NodeRow,
    NotFoundError,
    PodMetrics,
    PodRequests,
    Quantity,
    TopPods,
)

ALL_PODS = {
    ("default", "web-7f9c-abcde"), ("default", "web-7f9c-fghij"), ("default", "redis-master-fsx46"), ("default", "batch-1"),
    ("kube-system", "coredns-558bd4d5db-4dpjz"), ("kube-system", "etcd-node-a"), ("kube-system", "kube-apiserver-node-a"),
    ("monitoring", "prometheus-0"), ("monitoring", "alertmanager-0"),
}


@pytest.fixture
def client(kubeconfig: str) -> Client:
    return Client(kubeconfig)


# -- construction -------------------------------------------------------------------------------


def test_client_from_kubeconfig_path_and_context(kubeconfig: str) -> None:
    c = Client(kubeconfig, "loopback")
    assert c.default_namespace == "default"
    assert Client(Path(kubeconfig)).default_namespace == "default"
    assert "Client" in repr(c) and "127.0.0.1" in repr(c)


def test_client_from_kubeconfig_env(kubeconfig: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    assert {n.name for n in Client().list_node_metrics()} == {"node-a", "node-b"}


def test_config_errors(kubeconfig: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        Client(kubeconfig, "no-such-context")
    assert info.value.kind == "Config" and info.value.status is None
    assert "no-such-context" in info.value.message
    with pytest.raises(ConfigError):
        Client(tmp_path / "missing")
    (tmp_path / "garbage").write_text(": not yaml : [")
    with pytest.raises(ConfigError):
        Client(tmp_path / "garbage")
    with pytest.raises(ValueError):
        Client(kubeconfig, timeout=-1)


def test_in_cluster_outside_a_cluster_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)
    with pytest.raises(ConfigError, match="not running in a cluster"):
        Client.in_cluster()


def test_from_official_configuration_and_api_client(loopback: Loopback) -> None:
    kubernetes = pytest.importorskip("kubernetes")
    cfg = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(loopback.kubeconfig), client_configuration=cfg)
    assert cfg.get_api_key_with_prefix("BearerToken", alias="authorization") == "Bearer loopback-token"
    c = Client.from_configuration(cfg)
    assert {n.name for n in c.list_node_metrics()} == {"node-a", "node-b"}
    api_client = kubernetes.client.ApiClient(cfg)
    assert len(Client.from_configuration(api_client, timeout=5).top_pods(all_namespaces=True)) == 9
    # An explicitly built Configuration (no token, TLS off) works too.
    plain = kubernetes.client.Configuration(host=loopback.url)
    plain.verify_ssl = False
    assert Client.from_configuration(plain).get_node_metrics("node-a").name == "node-a"
    # Older releases kept the token under "authorization" with the prefix in the value.
    old_style = kubernetes.client.Configuration(host=loopback.url, api_key={"authorization": "Bearer t"})
    assert Client.from_configuration(old_style).get_node_metrics("node-b").name == "node-b"
    with pytest.raises(ConfigError):
        Client.from_configuration(kubernetes.client.Configuration(host=""))


# -- every method -------------------------------------------------------------------------------


def test_list_node_metrics(client: Client) -> None:
    nodes = client.list_node_metrics()
    assert [n.name for n in nodes] == ["node-b", "node-a"]  # the server's order
    a = nodes[1]
    assert isinstance(a, NodeMetrics)
    assert a.usage == {"cpu": Quantity("1630534153n"), "memory": Quantity("8318172Ki")}
    assert a.labels == {"tier": "a", "zone": "z1"}
    assert a.timestamp.isoformat() == "2024-01-01T00:09:50+00:00"
    assert a.window.total_seconds() == 20
    assert [n.name for n in client.list_node_metrics(label_selector="tier=a")] == ["node-a"]
    assert [n.name for n in client.list_node_metrics(field_selector="metadata.name=node-b")] == ["node-b"]
    assert client.list_node_metrics(label_selector="tier=zzz") == []


def test_get_node_metrics_is_byte_identical_to_the_server(client: Client, loopback: Loopback) -> None:
    n = client.get_node_metrics("node-a")
    assert n.to_json().encode() == loopback.get("/apis/metrics.k8s.io/v1beta1/nodes/node-a")
    assert n == client.list_node_metrics(label_selector="tier=a")[0]


def test_list_pod_metrics(client: Client) -> None:
    everything = client.list_pod_metrics()
    assert {(p.namespace, p.name) for p in everything} == ALL_PODS
    assert {p.name for p in client.list_pod_metrics("kube-system")} == {"coredns-558bd4d5db-4dpjz", "etcd-node-a", "kube-apiserver-node-a"}
    web = client.list_pod_metrics("default", label_selector="app=web")
    assert sorted(p.name for p in web) == ["web-7f9c-abcde", "web-7f9c-fghij"]
    assert [p.name for p in client.list_pod_metrics(field_selector="metadata.name=prometheus-0")] == ["prometheus-0"]
    assert client.list_pod_metrics("nowhere") == []


def test_get_pod_metrics(client: Client, loopback: Loopback) -> None:
    p = client.get_pod_metrics("default", "batch-1")
    assert isinstance(p, PodMetrics)
    assert [c.name for c in p.containers] == ["worker", "helper", "init-copy"]
    assert p.containers[0].usage["memory"] == Quantity("12e6")
    assert p.total("cpu") == Quantity("2.5")
    assert p.window.total_seconds() == 14.982
    assert p.to_json().encode() == loopback.get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/batch-1")


def test_top_nodes_matches_the_cli(client: Client, loopback: Loopback) -> None:
    rows = client.top_nodes()
    assert all(isinstance(r, NodeRow) for r in rows)
    assert [r.to_dict() for r in rows] == loopback.cli_json("top", "node")
    a, b, c = rows
    assert (a.name, a.cpu_percent, a.memory_percent) == ("node-a", 41, 52)
    assert b.memory_percent == 165
    assert (c.name, c.cpu, c.has_metrics) == ("node-c", None, False)
    for args, kwargs in [
        (("--sort-by", "cpu"), {"sort_by": "cpu"}),
        (("--sort-by", "memory", "--show-capacity"), {"sort_by": "memory", "show_capacity": True}),
        (("-l", "zone=z1"), {"label_selector": "zone=z1"}),
        (("node-b",), {"name": "node-b"}),
    ]:
        assert [r.to_dict() for r in client.top_nodes(**kwargs)] == loopback.cli_json("top", "node", *args), kwargs


def test_top_pods_all_namespaces_equals_cli_json(client: Client, loopback: Loopback) -> None:
    top = client.top_pods(all_namespaces=True)
    assert isinstance(top, TopPods)
    cli = loopback.cli_json("top", "pod", "-A")
    assert top.to_dict() == cli
    assert [row.to_dict() for row in top] == cli["pods"]
    assert {(r.namespace, r.name) for r in top} == ALL_PODS
    assert top.namespace is None
    assert top.total_cpu == Quantity(cli["total_cpu"])


@pytest.mark.parametrize(
    ("cli_args", "kwargs"),
    [
        ((), {}),
        (("-n", "kube-system"), {"namespace": "kube-system"}),
        (("-A", "--sort-by", "cpu"), {"all_namespaces": True, "sort_by": "cpu"}),
        (("-A", "--sort-by", "memory", "--containers", "--sum"), {"all_namespaces": True, "sort_by": "memory", "containers": True, "sum": True}),
        (("-l", "app=web"), {"label_selector": "app=web"}),
        (("-A", "--field-selector", "metadata.namespace=monitoring"), {"all_namespaces": True, "field_selector": "metadata.namespace=monitoring"}),
        (("batch-1",), {"name": "batch-1"}),
    ],
)
def test_top_pods_options_equal_cli_json(client: Client, loopback: Loopback, cli_args: tuple[str, ...], kwargs: dict[str, Any]) -> None:
    assert client.top_pods(**kwargs).to_dict() == loopback.cli_json("top", "pod", *cli_args)


def test_top_pods_rows(client: Client) -> None:
    top = client.top_pods(namespace="default", sort_by="cpu")
    assert top.namespace == "default"
    assert [r.name for r in top][0] == "batch-1"
    web = next(r for r in top if r.name == "web-7f9c-fghij")
    assert web.cpu == Quantity("1501m")
    assert [c.name for c in web.containers] == ["nginx", "sidecar"]
    assert web.containers[0].memory == Quantity("1.5Gi")


def test_pod_requests(client: Client) -> None:
    web = client.pod_requests("default", label_selector="app=web")
    assert all(isinstance(r, PodRequests) for r in web)
    # Every fixture container requests 100m CPU and 64Mi memory; the web pods have two.
    assert sorted((r.namespace, r.name, r.cpu, r.memory) for r in web) == [
        ("default", "web-7f9c-abcde", Quantity("200m"), Quantity("128Mi")),
        ("default", "web-7f9c-fghij", Quantity("200m"), Quantity("128Mi")),
    ]
    assert {(r.namespace, r.name) for r in client.pod_requests()} == ALL_PODS  # None: all namespaces
    batch = client.pod_requests(field_selector="metadata.name=batch-1")
    assert [r.to_dict() for r in batch] == [{"namespace": "default", "name": "batch-1", "cpu": "300m", "memory": "192Mi"}]
    assert {r.name for r in client.pod_requests("monitoring")} == {"prometheus-0", "alertmanager-0"}
    assert client.pod_requests("nowhere") == []
    assert client.pod_requests(label_selector="app=zzz") == []


def test_pod_requests_percent_of_top_pods_rows(client: Client) -> None:
    requests = {r.name: r for r in client.pod_requests("default", label_selector="app=web")}
    top = client.top_pods(namespace="default", label_selector="app=web")
    percents = {row.name: (requests[row.name].cpu_percent(row.cpu), requests[row.name].memory_percent(row.memory)) for row in top}
    # 2m of 200m and 15012Ki + 2Mi of 128Mi; 1501m of 200m and 1538Mi of 128Mi (truncated like kubectl).
    assert percents == {"web-7f9c-abcde": (1, 13), "web-7f9c-fghij": (750, 1201)}


def test_pod_requests_needs_no_metrics_api(kubeconfig: str, loopback: Loopback) -> None:
    loopback.control("metrics-api/off")
    assert len(Client(kubeconfig).pod_requests()) == len(ALL_PODS)


# -- every error kind ---------------------------------------------------------------------------


def test_not_found_carries_the_server_message_and_404(client: Client) -> None:
    with pytest.raises(NotFoundError) as info:
        client.get_node_metrics("no-such-node")
    err = info.value
    assert (err.kind, err.status) == ("NotFound", 404)
    assert err.message == 'nodemetrics.metrics.k8s.io "no-such-node" not found'
    assert str(err) == err.message
    with pytest.raises(NotFoundError, match='podmetrics.metrics.k8s.io "default/nope" not found'):
        client.get_pod_metrics("default", "nope")
    with pytest.raises(NotFoundError):
        client.top_nodes(name="nope")
    with pytest.raises(NotFoundError):
        client.top_pods(name="nope")


@pytest.mark.parametrize(("fault", "status"), [("unauthorized", 401), ("forbidden", 403)])
def test_auth_errors(client: Client, loopback: Loopback, fault: str, status: int) -> None:
    loopback.control(f"fault/{fault}")
    with pytest.raises(AuthError) as info:
        client.get_node_metrics("node-a")
    assert (info.value.kind, info.value.status) == ("Auth", status)
    if fault == "unauthorized":  # the loopback server forbids only the metrics paths
        with pytest.raises(AuthError) as requests:
            client.pod_requests()
        assert requests.value.status == 401
    assert info.value.message
    if fault == "forbidden":
        assert "forbidden" in info.value.message


def test_metrics_unavailable(kubeconfig: str, loopback: Loopback) -> None:
    loopback.control("metrics-api/off")
    client = Client(kubeconfig)  # a fresh client: the API version is discovered once per client
    for call in (client.list_node_metrics, client.list_pod_metrics, client.top_nodes, client.top_pods):
        with pytest.raises(MetricsUnavailableError) as info:
            call()
        assert info.value.kind == "MetricsUnavailable" and info.value.status is None
        assert info.value.message.startswith("Metrics API not available")


def test_api_error_for_500(client: Client, loopback: Loopback) -> None:
    loopback.control("fault/internal-error")
    with pytest.raises(ApiError) as info:
        client.list_pod_metrics()
    assert (info.value.kind, info.value.status) == ("Api", 500)
    assert "simulated failure" in info.value.message


def test_api_error_for_malformed_json(client: Client, loopback: Loopback) -> None:
    loopback.control("fault/malformed-json")
    with pytest.raises(ApiError) as info:
        client.list_node_metrics()
    assert info.value.kind == "Api" and info.value.status is None
    assert "decode" in info.value.message


def test_io_error_for_connection_refused(closed_port_kubeconfig: str) -> None:
    client = Client(closed_port_kubeconfig)
    with pytest.raises(IoError) as info:
        client.list_node_metrics()
    assert info.value.kind == "Io" and info.value.status is None
    assert "refused" in info.value.message
    with pytest.raises(IoError, match="refused"):
        client.pod_requests()
    with pytest.raises(IoError, match="refused"):
        client.custom_metrics_version()


def test_io_error_for_a_hang_with_a_short_timeout(kubeconfig: str, loopback: Loopback) -> None:
    client = Client(kubeconfig, timeout=0.5)
    client.list_node_metrics()  # discover the API version before the hang
    loopback.control("fault/hang")
    start = time.monotonic()
    with pytest.raises(IoError) as info:
        client.list_node_metrics()
    assert time.monotonic() - start < 10
    assert "within" in info.value.message


def test_every_error_is_a_kubemetrics_error(client: Client) -> None:
    with pytest.raises(KubeMetricsError):
        client.get_node_metrics("nope")
    with pytest.raises(ConfigError):
        client.top_pods(sort_by="size")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="only one of NAME or selector"):
        client.top_pods(name="x", label_selector="a=b")


def test_errors_pickle(client: Client) -> None:
    import pickle

    with pytest.raises(NotFoundError) as info:
        client.get_node_metrics("nope")
    back = pickle.loads(pickle.dumps(info.value))
    assert type(back) is NotFoundError and back.status == 404 and back.message == info.value.message


# -- threads and the GIL ------------------------------------------------------------------------


def test_one_client_from_8_threads(client: Client) -> None:
    expected = client.top_pods(all_namespaces=True)
    results: list[Any] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                results.append(client.top_pods(all_namespaces=True))
                results.append(client.get_node_metrics("node-a"))
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 8 * 40
    assert all(r == expected for r in results if isinstance(r, TopPods))


def test_blocking_calls_release_the_gil(kubeconfig: str, loopback: Loopback) -> None:
    client = Client(kubeconfig, timeout=1.5)
    client.list_node_metrics()
    loopback.control("fault/hang")
    ticks = 0
    done = threading.Event()

    def hang() -> None:
        try:
            client.list_node_metrics()
        except IoError:
            pass
        done.set()

    t = threading.Thread(target=hang)
    t.start()
    while not done.is_set():
        ticks += 1  # pure-Python work only runs if the waiting thread let go of the GIL
        time.sleep(0.001)
    t.join()
    assert ticks > 100
