"""Proof that the loopback control-plane harness works against the real binaries.

Run: python3 -m pytest tests/e2e -q
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import time

import pytest

from fake_metrics_server import FakeMetricsServer
from harness import ControlPlane, bin_dir, cpu_hpa, installed_kubectl_versions

METRICS_NOT_AVAILABLE = "error: Metrics API not available"
KUBECTL_VERSIONS = [None, *installed_kubectl_versions()]


def _rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.strip().splitlines()[1:]]


def _listening_addresses(pid: int) -> set[str]:
    """Local addresses of the TCP sockets ``pid`` listens on (from /proc, no tools needed)."""
    import os

    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", link)
        if m:
            inodes.add(m.group(1))
    addrs = set()
    for table, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        try:
            lines = open(table).read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            f = line.split()
            local, state, inode = f[1], f[3], f[9]
            if state != "0A" or inode not in inodes:  # 0A = LISTEN
                continue
            hexip, hexport = local.split(":")
            if v6:
                addrs.add(f"[{hexip}]:{int(hexport, 16)}")
            else:
                ip = ".".join(str(b) for b in reversed(bytes.fromhex(hexip)))
                addrs.add(f"{ip}:{int(hexport, 16)}")
    return addrs


# ---------------------------------------------------------------------------------------------
def test_apiserver_ready(cp: ControlPlane):
    assert cp.api("GET", "/readyz", raw=True) == b"ok"
    assert cp.api("GET", "/livez", raw=True) == b"ok"
    want = (bin_dir() / "kube-apiserver.version").read_text().strip()
    version = json.loads(cp.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == want
    # everything listens on loopback only
    for name, proc in cp.procs.items():
        addrs = _listening_addresses(proc.pid)
        assert addrs, f"{name} listens on nothing?"
        assert all(a.startswith("127.0.0.1:") for a in addrs), f"{name} listens on {addrs}"


def test_nodes_listed_with_loopback_ip_and_kubelet_port(cp: ControlPlane):
    cp.create_node("e2e-node-a", kubelet_port=10250, cpu="4", memory="8Gi", labels={"e2e/pool": "a"})
    cp.create_node("e2e-node-b", kubelet_port=10251, cpu="2", memory="4Gi", labels={"e2e/pool": "b"})

    rows = {r[0]: r for r in _rows(cp.kubectl("get", "nodes", "-o", "wide").stdout)}
    assert {"e2e-node-a", "e2e-node-b"} <= rows.keys()
    for name in ("e2e-node-a", "e2e-node-b"):
        assert rows[name][1] == "Ready"
        assert rows[name][5] == "127.0.0.1"  # NAME STATUS ROLES AGE VERSION INTERNAL-IP ...

    jp = ('{range .items[*]}{.metadata.name} {.status.addresses[?(@.type=="InternalIP")].address} '
          '{.status.daemonEndpoints.kubeletEndpoint.Port} {.status.allocatable.cpu} '
          '{.status.capacity.memory}{"\\n"}{end}')
    got = cp.kubectl("get", "nodes", "-o", f"jsonpath={jp}").stdout.split("\n")
    assert "e2e-node-a 127.0.0.1 10250 4 8Gi" in got
    assert "e2e-node-b 127.0.0.1 10251 2 4Gi" in got

    only_a = _rows(cp.kubectl("get", "nodes", "-l", "e2e/pool=a").stdout)
    assert [r[0] for r in only_a] == ["e2e-node-a"]


def test_pod_marked_running_shows_running(cp: ControlPlane):
    cp.create_node("e2e-node-pods", kubelet_port=10252, cpu="2", memory="4Gi")
    cp.create_pod("e2e", "web-1", "e2e-node-pods",
                  [{"name": "app", "cpu": "100m", "memory": "64Mi"},
                   {"name": "sidecar", "cpu": "50m", "memory": "32Mi"}],
                  labels={"app": "web"})
    row = _rows(cp.kubectl("get", "pods", "-n", "e2e").stdout)[0]
    assert row[:3] == ["web-1", "0/2", "Pending"]

    pod = cp.mark_pod_running("e2e", "web-1", started_seconds_ago=600)
    row = _rows(cp.kubectl("get", "pods", "-n", "e2e", "-o", "wide").stdout)[0]
    assert row[:3] == ["web-1", "2/2", "Running"]
    assert "e2e-node-pods" in row

    start = _dt.datetime.strptime(pod["status"]["startTime"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=_dt.timezone.utc)
    age = (_dt.datetime.now(_dt.timezone.utc) - start).total_seconds()
    assert 590 <= age <= 700
    ready = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
    assert ready["Ready"] == "True" and ready["ContainersReady"] == "True"
    assert pod["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "100m", "memory": "64Mi"}

    cp.delete_pod("e2e", "web-1")
    assert cp.kubectl("get", "pods", "-n", "e2e", "-o", "name").stdout.strip() == ""


@pytest.mark.parametrize("version", KUBECTL_VERSIONS, ids=lambda v: f"kubectl-{v or 'default'}")
def test_top_node_says_metrics_api_not_available(cp: ControlPlane, version):
    assert cp.kubectl("get", "apiservices", "-o", "name").stdout.count("metrics.k8s.io") == 0
    cp.invalidate_discovery_cache()
    r = cp.kubectl("top", "node", version=version, check=False)
    assert r.returncode != 0, r.stdout
    assert METRICS_NOT_AVAILABLE in r.stderr.splitlines(), r.stderr


def test_api_resources(cp: ControlPlane):
    out = cp.kubectl("api-resources").stdout
    names = {r[0] for r in _rows(out)}
    assert {"pods", "nodes", "services", "apiservices", "horizontalpodautoscalers", "deployments"} <= names
    groups = cp.kubectl("api-versions").stdout.split()
    assert "apiregistration.k8s.io/v1" in groups and "autoscaling/v2" in groups
    assert not any(g.startswith("metrics.k8s.io") for g in groups)


# ---------------------------------------------------------------------------------------------
# the aggregation plumbing, proven with a stand-in metrics server on 127.0.0.1
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def fake_metrics(cp: ControlPlane):
    cert, key = cp.certs.metrics_server_cert
    with FakeMetricsServer(cert, key) as srv:
        yield srv
        cp.kubectl("delete", "apiservice", "v1beta1.metrics.k8s.io", "--ignore-not-found")
        cp.kubectl("delete", "service", "metrics-server", "-n", "kube-system", "--ignore-not-found")
        cp.invalidate_discovery_cache()


def test_register_apiservice_makes_kubectl_top_work(cp: ControlPlane, fake_metrics: FakeMetricsServer):
    cp.create_node("e2e-node-agg", kubelet_port=10250, cpu="4", memory="8Gi")
    fake_metrics.nodes["e2e-node-agg"] = {"cpu": "1", "memory": "2Gi"}
    apisvc = cp.register_apiservice("metrics.k8s.io", "v1beta1", fake_metrics.port, wait_available=True)
    assert apisvc["spec"]["service"] == {"name": "metrics-server", "namespace": "kube-system",
                                         "port": fake_metrics.port}
    svc = cp.get_json("service", "metrics-server", "-n", "kube-system")
    assert svc["spec"]["type"] == "ExternalName" and svc["spec"]["externalName"] == "localhost"

    rows = {r[0]: r for r in _rows(cp.kubectl("top", "node", "e2e-node-agg").stdout)}
    # NAME CPU(cores) CPU% MEMORY(bytes) MEMORY%: 1 of 4 cores = 25%, 2Gi of 8Gi = 25%
    assert rows["e2e-node-agg"][1:] == ["1000m", "25%", "2048Mi", "25%"]

    # the aggregator reached us through the front proxy, as the requesting user
    users = {h.get("X-Remote-User") for _, path, h in fake_metrics.requests if path.endswith("/nodes/e2e-node-agg")}
    assert users == {"admin"}
    checks = {h.get("X-Remote-User") for _, path, h in fake_metrics.requests
              if path == "/apis/metrics.k8s.io/v1beta1"}
    assert "system:kube-aggregator" in checks


def test_controller_manager_runs_the_hpa(cp: ControlPlane, fake_metrics: FakeMetricsServer):
    ns = "hpa"
    cp.ensure_namespace(ns)
    cp.create_node("e2e-node-hpa", kubelet_port=10250, cpu="4", memory="8Gi")
    labels = {"app": "hpa-web"}
    cp.apply_json({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10",
                                                       "resources": {"requests": {"cpu": "100m"}}}]}}},
    })
    for i in range(2):
        cp.create_pod(ns, f"web-{i}", "e2e-node-hpa", [{"name": "app", "cpu": "100m", "memory": "32Mi"}], labels)
        cp.mark_pod_running(ns, f"web-{i}", started_seconds_ago=900)
        fake_metrics.pods[(ns, f"web-{i}")] = {"labels": labels,
                                               "containers": {"app": {"cpu": "200m", "memory": "20Mi"}}}
    cp.register_apiservice("metrics.k8s.io", "v1beta1", fake_metrics.port, wait_available=True)
    cp.apply_json(cpu_hpa(ns, "web", 5))
    kcm = cp.start_controller_manager(controllers=["horizontalpodautoscaling"])
    assert kcm.alive()

    # 2 pods at 200% of their request, target 50% -> wants 8, capped at maxReplicas 5
    deadline = time.monotonic() + 90
    replicas = None
    while time.monotonic() < deadline:
        replicas = cp.get_json("deployment", "web", "-n", ns)["spec"]["replicas"]
        if replicas == 5:
            break
        time.sleep(1)
    hpa = cp.get_json("hpa", "web", "-n", ns)
    assert replicas == 5, json.dumps(hpa.get("status"), indent=1)
    assert hpa["status"]["desiredReplicas"] == 5
    cpu = hpa["status"]["currentMetrics"][0]["resource"]["current"]
    assert cpu["averageUtilization"] == 200
