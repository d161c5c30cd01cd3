"""The real `kubemetrics serve` behind the real kube-apiserver's aggregator, scraping simulated kubelets.

One control plane for the whole module (fixture ``cp``), one ``kubemetrics simulate`` fleet (4 nodes x 3
pods x 2 containers, plain HTTP on 127.0.0.1) registered as Node/Pod objects, one ``kubemetrics serve``
(ServiceAccount token with metrics-server's RBAC, serving cert for metrics-server.kube-system.svc,
front-proxy CA) registered as APIService v1beta1.metrics.k8s.io through an ExternalName Service.

The tests share that state and run in file order (pytest's default): the HPA test adds and removes pods,
the churn test deletes and re-creates a Node, the fault test (last) breaks kubelets and repairs them.

Run: python3 -m pytest tests/e2e -q -p no:cacheprovider
"""

from __future__ import annotations

import json
import re
import os
import shutil
import subprocess
import time
import urllib.error
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness import ControlPlane, PollingThread, cpu_hpa, installed_kubectl_versions, kubectl_binary
from metrics_stack import (
    MI, ROOT, TARGET_DIR, TIMINGS, Serve, Simulator, build_kubemetrics, close, create_running_pod, ensure_namespace, expected_node,
    https_get, install_metrics_server_rbac, parse_bytes, parse_cpu_milli, register_fleet,
    service_account_token, settle_pods, start_serve, binding_python, start_simulator, table, token_kubeconfig, wait_until,
)

GV = "/apis/metrics.k8s.io/v1beta1"
KUBECTL_VERSIONS = [None, *installed_kubectl_versions()]
NODES, PODS_PER_NODE, CONTAINERS_PER_POD = 4, 3, 2
RESOLUTION_S, GRACE_S = 5, 15


@dataclass
class Stack:
    cp: ControlPlane
    sim: Simulator
    serve: Serve
    binary: Path
    # the container the tests set to 300m / 200Mi: (node, namespace, pod, container)
    target: tuple[str, str, str, str] = ("", "", "", "")
    notes: dict[str, Any] = field(default_factory=dict)

    def raw(self, path: str) -> Any:
        """GET through kube-apiserver (the aggregator) as admin."""
        return self.cp.api("GET", GV + path)


def _metrics_complete(stack: Stack) -> bool:
    """Every simulated node and every registered pod (with all its containers) is served."""
    inv = stack.sim.inventory()
    nodes = {m["metadata"]["name"] for m in stack.raw("/nodes")["items"]}
    pods = {(m["metadata"]["namespace"], m["metadata"]["name"]): {c["name"] for c in m["containers"]}
            for m in stack.raw("/pods")["items"]}
    want_pods = {(p["namespace"], p["name"]): {c["name"] for c in p["containers"]} for n in inv for p in n["pods"]}
    return nodes == {n["name"] for n in inv} and pods == want_pods


@pytest.fixture(scope="module")
def binary() -> Path:
    return build_kubemetrics()


@pytest.fixture(scope="module")
def stack(cp: ControlPlane, binary: Path, request: pytest.FixtureRequest):
    t0 = time.monotonic()
    sim = start_simulator(cp, binary, nodes=NODES, pods_per_node=PODS_PER_NODE,
                          containers_per_pod=CONTAINERS_PER_POD, namespaces=3, seed=7)
    register_fleet(cp, sim)
    install_metrics_server_rbac(cp)
    token = service_account_token(cp, "kube-system", "metrics-server", create=False)
    assert cp.dir is not None
    kubeconfig = token_kubeconfig(cp, cp.dir / "metrics-server.kubeconfig", token, "metrics-server")
    serve = start_serve(cp, binary, kubeconfig, resolution=f"{RESOLUTION_S}s", grace=f"{GRACE_S}s")
    cp.register_apiservice("metrics.k8s.io", "v1beta1", serve.port, wait_available=True, timeout=60)
    s = Stack(cp, sim, serve, binary)
    s.notes["available_after_s"] = round(time.monotonic() - t0, 1)
    wait_until("metrics for every simulated node and registered pod", lambda: _metrics_complete(s), 60)
    s.notes["complete_after_s"] = round(time.monotonic() - t0, 1)
    # One container at an exact, recognisable usage: 300m and 200Mi.
    node = sim.inventory()[0]
    pod = node["pods"][0]
    s.target = (node["name"], pod["namespace"], pod["name"], pod["containers"][0]["name"])
    sim.set_usage(*s.target, cpu_millicores=300, memory_bytes=200 * MI)

    def at_300m() -> bool:
        m = s.raw(f"/namespaces/{s.target[1]}/pods/{s.target[2]}")
        c = next(c for c in m["containers"] if c["name"] == s.target[3])
        return abs(parse_cpu_milli(c["usage"]["cpu"]) - 300) < 1e-6 and parse_bytes(c["usage"]["memory"]) == 200 * MI

    # the rate spans two scrapes: the one after the change shows a blend (within 2% of 300m when
    # the change falls near a window's start), then exactly 300m
    wait_until("the 300m container to read 300m", at_300m, 4 * RESOLUTION_S + 10)
    yield s
    # what the module measured, in seconds: printed in the terminal summary (conftest.py)
    TIMINGS.append(f"{request.node.name}: {json.dumps(s.notes)}")


# ---------------------------------------------------------------------------------------------
def test_apiservice_available(stack: Stack):
    cp = stack.cp
    apisvc = cp.get_json("apiservice", "v1beta1.metrics.k8s.io")
    cond = {c["type"]: c for c in apisvc["status"]["conditions"]}
    assert cond["Available"]["status"] == "True", cond
    assert apisvc["spec"]["service"] == {"name": "metrics-server", "namespace": "kube-system", "port": stack.serve.port}
    assert "insecureSkipTLSVerify" not in apisvc["spec"]  # verified against the cluster CA, SAN metrics-server.kube-system.svc
    row = table(cp.kubectl("get", "apiservice", "v1beta1.metrics.k8s.io").stdout)[0]
    assert row["SERVICE"] == "kube-system/metrics-server" and row["AVAILABLE"] == "True"
    resources = cp.kubectl("api-resources", "--api-group=metrics.k8s.io", "-o", "name").stdout.split()
    assert sorted(resources) == ["nodes.metrics.k8s.io", "pods.metrics.k8s.io"]
    assert "metrics.k8s.io/v1beta1" in cp.kubectl("api-versions").stdout.split()
    # serve really runs as the ServiceAccount (its watches work only through metrics-server's RBAC)
    assert cp.kubectl("auth", "can-i", "list", "pods",
                      "--as=system:serviceaccount:kube-system:metrics-server").stdout.strip() == "yes"


def test_raw_metrics_through_the_aggregator_match_the_simulation(stack: Stack):
    inv = stack.sim.inventory()
    by_node = {n["name"]: n for n in inv}

    # nodes: list and get, against overhead + sum of the node's containers
    listed = stack.raw("/nodes")
    assert listed["kind"] == "NodeMetricsList" and listed["apiVersion"] == "metrics.k8s.io/v1beta1"
    assert [m["metadata"]["name"] for m in listed["items"]] == sorted(by_node)
    for m in listed["items"]:
        n = by_node[m["metadata"]["name"]]
        want_cpu, want_mem = expected_node(n)
        assert close(parse_cpu_milli(m["usage"]["cpu"]), want_cpu), (m, want_cpu)
        assert parse_bytes(m["usage"]["memory"]) == want_mem, (m, want_mem)
        assert m["window"] == f"{RESOLUTION_S}s" or m["window"].endswith("s")
        assert m["metadata"]["labels"]["kubernetes.io/hostname"] == n["name"]
    one = sorted(by_node)[1]
    got = json.loads(stack.cp.kubectl("get", "--raw", f"{GV}/nodes/{one}").stdout)
    assert got["kind"] == "NodeMetrics" and got["metadata"]["name"] == one

    # pods: every container of every pod, through `kubectl get --raw`
    pods = json.loads(stack.cp.kubectl("get", "--raw", f"{GV}/pods").stdout)
    assert pods["kind"] == "PodMetricsList"
    want = stack.sim.containers()
    seen = set()
    for m in pods["items"]:
        ns, name = m["metadata"]["namespace"], m["metadata"]["name"]
        for c in m["containers"]:
            w = want[(ns, name, c["name"])]
            assert close(parse_cpu_milli(c["usage"]["cpu"]), w["cpu_millicores"]), (ns, name, c, w)
            assert parse_bytes(c["usage"]["memory"]) == w["memory_bytes"], (ns, name, c, w)
            seen.add((ns, name, c["name"]))
    assert seen == set(want)

    # the 300m container, by name and by label selector in its namespace
    node, ns, pod, container = stack.target
    m = json.loads(stack.cp.kubectl("get", "--raw", f"{GV}/namespaces/{ns}/pods/{pod}").stdout)
    c = next(c for c in m["containers"] if c["name"] == container)
    assert close(parse_cpu_milli(c["usage"]["cpu"]), 300) and parse_bytes(c["usage"]["memory"]) == 200 * MI
    app = next(p for p in by_node[node]["pods"] if p["name"] == pod)["labels"]["app"]
    sel = stack.raw(f"/namespaces/{ns}/pods?labelSelector=app%3D{app}")
    names = {i["metadata"]["name"] for i in sel["items"]}
    want_names = {p["name"] for n in inv for p in n["pods"] if p["namespace"] == ns and p["labels"]["app"] == app}
    assert pod in names and names == want_names
    assert all(i["metadata"]["labels"]["app"] == app for i in sel["items"])


def _pct(row: dict[str, str], what: str) -> str:
    """kubectl before 1.32 heads the percentages CPU% / MEMORY%, later ones CPU(%) / MEMORY(%)."""
    return row.get(f"{what}%") or row[f"{what}(%)"]


def _check_top_node(out: str, inv: list[dict]) -> None:
    rows = {r["NAME"]: r for r in table(out)}
    assert set(rows) == {n["name"] for n in inv}, out
    for n in inv:
        r = rows[n["name"]]
        want_cpu, want_mem = expected_node(n)
        cpu = int(r["CPU(cores)"].removesuffix("m"))
        assert close(cpu, want_cpu), (r, want_cpu)
        assert r["MEMORY(bytes)"] == f"{want_mem // MI}Mi", (r, want_mem)
        cpu_pct, mem_pct = _pct(r, "CPU"), _pct(r, "MEMORY")
        assert cpu_pct == f"{cpu * 100 // n['cpu_capacity_millicores']}%", r
        assert mem_pct == f"{want_mem * 100 // n['memory_capacity_bytes']}%", r


def _check_top_pod_containers(out: str, want: dict[tuple[str, str, str], dict]) -> None:
    rows = table(out)
    got = {(r["NAMESPACE"], r["POD"], r["NAME"]): r for r in rows}
    assert set(got) == set(want), out
    for key, w in want.items():
        r = got[key]
        assert close(int(r["CPU(cores)"].removesuffix("m")), w["cpu_millicores"]), (r, w)
        assert r["MEMORY(bytes)"] == f"{w['memory_bytes'] // MI}Mi", (r, w)


@pytest.mark.parametrize("version", KUBECTL_VERSIONS, ids=lambda v: f"kubectl-{v or 'default'}")
def test_kubectl_top_every_version(stack: Stack, version: str | None):
    cp = stack.cp
    inv = stack.sim.inventory()
    _check_top_node(cp.kubectl("top", "node", version=version).stdout, inv)
    _check_top_pod_containers(cp.kubectl("top", "pod", "-A", "--containers", version=version).stdout,
                              stack.sim.containers())
    # pod sums, and the 300m container on its own
    node, ns, pod, container = stack.target
    want = [c for p in next(n for n in inv if n["name"] == node)["pods"] if p["name"] == pod for c in p["containers"]]
    row = table(cp.kubectl("top", "pod", pod, "-n", ns, version=version).stdout)[0]
    assert close(int(row["CPU(cores)"].removesuffix("m")), sum(c["cpu_millicores"] for c in want)), row
    rows = {r["NAME"]: r for r in table(cp.kubectl("top", "pod", pod, "-n", ns, "--containers", version=version).stdout)}
    # the simulated counters are exact, and so is the rate: not just within 2%
    assert rows[container]["CPU(cores)"] == "300m" and rows[container]["MEMORY(bytes)"] == "200Mi", rows
    # and the raw objects, through this kubectl
    m = json.loads(cp.kubectl("get", "--raw", f"{GV}/namespaces/{ns}/pods/{pod}", version=version).stdout)
    assert m["kind"] == "PodMetrics" and m["metadata"] == {**m["metadata"], "name": pod, "namespace": ns}
    c = next(c for c in m["containers"] if c["name"] == container)
    assert close(parse_cpu_milli(c["usage"]["cpu"]), 300) and parse_bytes(c["usage"]["memory"]) == 200 * MI, c
    nodes = json.loads(cp.kubectl("get", "--raw", f"{GV}/nodes", version=version).stdout)
    assert sorted(i["metadata"]["name"] for i in nodes["items"]) == sorted(n["name"] for n in inv)


TOP_ARGS = [
    ("top", "node"),
    ("top", "node", "--sort-by=memory"),
    ("top", "node", "--no-headers"),
    ("top", "pod", "-A"),
    ("top", "pod", "-A", "--containers"),
    ("top", "pod", "-A", "--sort-by=cpu"),
    ("top", "pod", "-n", "default", "--sort-by=memory"),
    ("top", "pod", "-A", "-l", "app in (api,web,worker,cache,gateway)"),
]


def test_kubemetrics_top_equals_kubectl_1_32_byte_for_byte(stack: Stack):
    cp = stack.cp
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    for args in TOP_ARGS:
        want = cp.kubectl(*args, version="1.32")
        for attempt in range(3):
            ours = subprocess.run([str(stack.binary), *args, f"--kubeconfig={cp.kubeconfig}"],
                                  capture_output=True, text=True, env=env, timeout=60)
            assert ours.returncode == 0, ours.stderr
            if ours.stdout == want.stdout:
                break
            # a scrape may land between the two reads; the numbers are constant, so retry both
            want = cp.kubectl(*args, version="1.32")
        assert ours.stdout == want.stdout, f"{' '.join(args)}\n--- kubectl 1.32\n{want.stdout}\n--- kubemetrics\n{ours.stdout}"
        assert ours.stderr == want.stderr == "", (ours.stderr, want.stderr)


# ---------------------------------------------------------------------------------------------
# the Python binding (built by bindings-python/scripts/test.sh into its venv, or $KM_VENV)
# ---------------------------------------------------------------------------------------------
BINDING_SCRIPT = r"""
import json, sys, kubemetrics
c = kubemetrics.Client(sys.argv[1])
out = {
  "nodes": {m.name: [m.usage["cpu"].milli_value, m.usage["memory"].value] for m in c.list_node_metrics()},
  "containers": {"/".join((p.namespace, p.name, x.name)): [x.usage["cpu"].milli_value, x.usage["memory"].value]
                 for p in c.list_pod_metrics() for x in p.containers},
  "top_nodes": {r.name: [r.cpu.milli_value, r.cpu_percent, r.memory.value // (1024 * 1024), r.memory_percent]
                for r in c.top_nodes()},
}
print(json.dumps(out))
"""


def test_python_binding_reads_the_same_numbers(stack: Stack):
    py = binding_python()
    if py is None:
        pytest.skip("the Python binding is not built (bash bindings-python/scripts/test.sh builds it; "
                    "scripts/test.sh runs that stage before this suite)")
    r = subprocess.run([py, "-c", BINDING_SCRIPT, str(stack.cp.kubeconfig)], capture_output=True, text=True,
                       timeout=60, cwd="/", env={k: v for k, v in os.environ.items() if k != "KUBECONFIG"})
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    raw_nodes = {m["metadata"]["name"]: m["usage"] for m in stack.raw("/nodes")["items"]}
    assert set(got["nodes"]) == set(raw_nodes)
    for name, (cpu, mem) in got["nodes"].items():
        assert close(cpu, parse_cpu_milli(raw_nodes[name]["cpu"])) and mem == parse_bytes(raw_nodes[name]["memory"])
    want = stack.sim.containers()
    assert set(got["containers"]) == {"/".join(k) for k in want}
    for key, (cpu, mem) in got["containers"].items():
        w = want[tuple(key.split("/"))]
        assert close(cpu, w["cpu_millicores"]) and mem == w["memory_bytes"], (key, cpu, mem, w)
    kubectl_rows = {r["NAME"]: r for r in table(stack.cp.kubectl("top", "node", version="1.32").stdout)}
    for name, (cpu, cpu_pct, mem_mi, mem_pct) in got["top_nodes"].items():
        k = kubectl_rows[name]
        assert [f"{cpu}m", f"{cpu_pct}%", f"{mem_mi}Mi", f"{mem_pct}%"] == \
               [k["CPU(cores)"], _pct(k, "CPU"), k["MEMORY(bytes)"], _pct(k, "MEMORY")], (name, k)


# ---------------------------------------------------------------------------------------------
# the C binding (libkubemetrics_c from `cargo build -p kubemetrics-c`, header bindings-c/include)
# ---------------------------------------------------------------------------------------------
def test_c_binding_reads_the_same_numbers_and_renders_kubectls_tables(stack: Stack):
    cc = shutil.which("cc")
    assert cc, "no C compiler (cc) on PATH"
    r = subprocess.run(["cargo", "build", "-q", "-p", "kubemetrics-c"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, f"cargo build -p kubemetrics-c failed:\n{r.stderr[-4000:]}"
    assert stack.cp.dir is not None
    # cargo names it libkubemetrics_c.so; its soname (and installed name) is libkubemetrics.so.0
    lib = stack.cp.dir / "clib"
    lib.mkdir(exist_ok=True)
    for name in ("libkubemetrics.so", "libkubemetrics.so.0"):
        (lib / name).unlink(missing_ok=True)
        (lib / name).symlink_to(TARGET_DIR / "debug" / "libkubemetrics_c.so")
    exe = stack.cp.dir / "top_through_apiserver"
    r = subprocess.run([cc, "-std=c11", "-Wall", "-Wextra", "-Werror", f"-I{ROOT / 'bindings-c' / 'include'}",
                        str(Path(__file__).parent / "c" / "top_through_apiserver.c"), "-o", str(exe),
                        f"-L{lib}", "-lkubemetrics", f"-Wl,-rpath,{lib}"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    cp = stack.cp
    for attempt in range(3):
        r = subprocess.run([str(exe), str(cp.kubeconfig)], capture_output=True, text=True, timeout=60,
                           env={k: v for k, v in os.environ.items() if k != "KUBECONFIG"})
        assert r.returncode == 0, r.stderr
        node_table, pod_table, containers = r.stdout.split("----\n")
        want_nodes = cp.kubectl("top", "node", version="1.32").stdout
        want_pods = cp.kubectl("top", "pod", "-A", "--containers", version="1.32").stdout
        if (node_table, pod_table) == (want_nodes, want_pods):
            break
    assert node_table == want_nodes
    assert pod_table == want_pods
    want = stack.sim.containers()
    got = {}
    for line in containers.splitlines():
        key, cpu, mem = line.split()
        got[tuple(key.split("/"))] = (int(cpu), int(mem))
    assert set(got) == set(want)
    for key, (cpu, mem) in got.items():
        assert close(cpu, want[key]["cpu_millicores"]) and mem == want[key]["memory_bytes"], (key, cpu, mem)


# ---------------------------------------------------------------------------------------------
# delegated authentication and authorization, for real
# ---------------------------------------------------------------------------------------------
def test_delegated_auth_service_accounts(stack: Stack):
    cp = stack.cp
    ns = "e2e-auth"
    viewer = service_account_token(cp, ns, "viewer")
    outsider = service_account_token(cp, ns, "outsider")
    ca = cp.certs.ca_crt
    via_apiserver = f"{cp.server}{GV}/nodes"
    direct = f"{stack.serve.url}{GV}/nodes"
    front_proxy = (cp.certs.p("front-proxy-client.crt"), cp.certs.p("front-proxy-client.key"))

    # no RBAC: refused by kube-apiserver's authorizer before the aggregator proxies
    status, body = https_get(via_apiserver, ca=ca, token=viewer)
    assert status == 403, body
    assert body["reason"] == "Forbidden" and "system:serviceaccount:e2e-auth:viewer" in body["message"]
    # ... and by kubemetrics itself: TokenReview + SubjectAccessReview against kube-apiserver
    status, body = https_get(direct, ca=ca, token=outsider)
    assert status == 403, body
    assert "system:serviceaccount:e2e-auth:outsider" in json.dumps(body)
    # the same user arriving through the front proxy (X-Remote-User): SubjectAccessReview says no
    status, body = https_get(direct, ca=ca, cert=front_proxy,
                             headers={"X-Remote-User": "system:serviceaccount:e2e-auth:outsider",
                                      "X-Remote-Group": "system:serviceaccounts"})
    assert status == 403, body
    # a token kube-apiserver does not know: 401 from TokenReview
    status, body = https_get(direct, ca=ca, token="not-a-real-token")
    assert status == 401, body

    # grant the aggregated reader role (metrics-server's system:aggregated-metrics-reader) to viewer
    cp.kubectl("create", "clusterrolebinding", "e2e-viewer-metrics",
               "--clusterrole=system:aggregated-metrics-reader", f"--serviceaccount={ns}:viewer")
    status, body = wait_until("viewer allowed through the aggregator",
                              lambda: (lambda r: r if r[0] == 200 else None)(https_get(via_apiserver, ca=ca, token=viewer)),
                              20)
    assert body["kind"] == "NodeMetricsList" and len(body["items"]) == NODES
    # directly, with its token (our TokenReview + SubjectAccessReview say yes)
    status, body = https_get(direct, ca=ca, token=viewer)
    assert status == 200 and body["kind"] == "NodeMetricsList", body
    # through kubectl with the viewer's kubeconfig: top pod works (top node would also need to list
    # core Nodes, which the metrics reader role does not grant), and outsider's does not
    assert cp.dir is not None
    for who, token, ok in (("viewer", viewer, True), ("outsider", outsider, False)):
        kc = token_kubeconfig(cp, cp.dir / f"{who}.kubeconfig", token, who)
        r = subprocess.run([kubectl_binary("1.33"), f"--kubeconfig={kc}", f"--cache-dir={cp.dir / ('cache-' + who)}",
                            "top", "pod", "-A"], capture_output=True, text=True, timeout=60,
                           env={k: v for k, v in os.environ.items() if k != "KUBECONFIG"})
        if ok:
            assert r.returncode == 0 and len(table(r.stdout)) == NODES * PODS_PER_NODE, (r.stdout, r.stderr)
        else:
            assert r.returncode != 0 and "forbidden" in r.stderr.lower(), (r.stdout, r.stderr)


# ---------------------------------------------------------------------------------------------
# HPA: kube-controller-manager scales a Deployment from what our server reports
# ---------------------------------------------------------------------------------------------
class FakeKubelets(PollingThread):
    """Does for the Deployment's pods what kubelets would: marks new pods Running/Ready (status
    subresource), starts them in the simulated fleet, finishes deletions; and spreads a total CPU load
    evenly over the live pods, as a load balancer would."""

    def __init__(self, cp: ControlPlane, sim: Simulator, ns: str, node: str, selector: str, load_milli: int):
        super().__init__()
        self.cp, self.sim, self.ns, self.node, self.selector = cp, sim, ns, node, selector
        self.load_milli = load_milli
        self.running: dict[str, int] = {}  # pod -> its current CPU in the fleet

    def step(self) -> None:
        pods = settle_pods(self.cp, self.ns, self.selector)
        live = []
        with self.lock:
            for p in pods:
                name = p["metadata"]["name"]
                if name not in self.running:
                    self.sim.add_pod(self.node, self.ns, name, [{
                        "name": "app", "cpu_millicores": 0, "memory_bytes": 20 * MI,
                        "cpu_request_millicores": 100, "memory_request_bytes": 32 * MI}], app="hpa-web")
                    self.running[name] = 0
                live.append(name)
            for name in [n for n in self.running if n not in live]:
                self.sim.remove_pod(self.node, self.ns, name)
                del self.running[name]
            if live:
                per = self.load_milli // len(live)
                for name in live:
                    if self.running[name] != per:
                        self.sim.set_usage(self.node, self.ns, name, "app", cpu_millicores=per)
                        self.running[name] = per

    def set_load(self, milli: int) -> None:
        with self.lock:
            self.load_milli = milli


def test_hpa_scales_a_deployment_up_and_down(stack: Stack):
    cp, sim = stack.cp, stack.sim
    ns, node = "hpa", sim.inventory()[0]["name"]
    ensure_namespace(cp, ns)
    labels = {"app": "hpa-web"}
    cp.apply_json({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0,
                                       "automountServiceAccountToken": False,
                                       "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10",
                                                       "resources": {"requests": {"cpu": "100m", "memory": "32Mi"}}}]}}},
    })
    # 2 pods x 100m against a 100m request = 100% utilisation, twice the HPA's 50% target
    kubelets = FakeKubelets(cp, sim, ns, node, "app%3Dhpa-web", load_milli=200)
    kubelets.start()
    t0 = time.monotonic()
    try:
        if "kube-controller-manager" not in cp.procs:
            cp.start_controller_manager(controllers=["deployment", "replicaset", "horizontalpodautoscaling"])

        def pods_at(milli: float, count: int) -> bool:
            items = stack.raw(f"/namespaces/{ns}/pods?labelSelector=app%3Dhpa-web")["items"]
            return len(items) == count and all(close(parse_cpu_milli(i["containers"][0]["usage"]["cpu"]), milli)
                                               for i in items)

        wait_until("2 deployment pods served at 100m", lambda: pods_at(100, 2), 60)
        cp.apply_json(cpu_hpa(ns, "web", 4))
        seen_utilization: list[int] = []

        def replicas(n: int) -> bool:
            hpa = cp.get_json("hpa", "web", "-n", ns)
            for m in hpa.get("status", {}).get("currentMetrics") or []:
                u = m.get("resource", {}).get("current", {}).get("averageUtilization")
                if u is not None and (not seen_utilization or seen_utilization[-1] != u):
                    seen_utilization.append(u)
            return cp.get_json("deployment", "web", "-n", ns)["spec"]["replicas"] == n

        wait_until("the HPA to scale web to 4", lambda: replicas(4), 90, interval=1)
        stack.notes["hpa_up_s"] = round(time.monotonic() - t0, 1)
        assert seen_utilization and abs(seen_utilization[0] - 100) <= 2, seen_utilization
        events = cp.kubectl("get", "events", "-n", ns, "--field-selector=reason=SuccessfulRescale",
                            "-o", "jsonpath={.items[*].message}").stdout
        assert "New size: 4; reason: cpu resource utilization (percentage of request) above target" in events, events
        # the 4 pods get the load spread (50m each = the target): it stays at 4
        wait_until("4 deployment pods served at 50m", lambda: pods_at(50, 4), 60)

        # the load drops to 80m in total: 20m per pod = 20% -> ceil(4 x 20/50) = 2
        t1 = time.monotonic()
        kubelets.set_load(80)
        wait_until("the HPA to scale web down to 2", lambda: replicas(2), 90, interval=1)
        stack.notes["hpa_down_s"] = round(time.monotonic() - t1, 1)
        events = cp.kubectl("get", "events", "-n", ns, "--field-selector=reason=SuccessfulRescale",
                            "-o", "jsonpath={.items[*].message}").stdout
        assert "below target" in events, events
        wait_until("2 deployment pods served at 40m", lambda: pods_at(40, 2), 60)
        hpa = cp.get_json("hpa", "web", "-n", ns)
        assert hpa["status"]["currentReplicas"] == 2 and hpa["status"]["desiredReplicas"] == 2
        assert not kubelets.errors, kubelets.errors[:5]
    finally:
        cp.kubectl("delete", "hpa", "web", "-n", ns, "--ignore-not-found")
        cp.kubectl("scale", "deployment", "web", "-n", ns, "--replicas=0", check=False)
        try:
            wait_until("deployment pods gone", lambda: not kubelets.running, 30)
        finally:
            kubelets.stop.set()
            kubelets.join(10)
            cp.kubectl("delete", "deployment", "web", "-n", ns, "--ignore-not-found")


# ---------------------------------------------------------------------------------------------
# the inventory follows the API: new pods appear, deleted Pod and Node objects stop being served
# ---------------------------------------------------------------------------------------------
def test_pods_and_nodes_follow_the_api_objects(stack: Stack):
    cp, sim = stack.cp, stack.sim
    inv = sim.inventory()
    node = inv[2]["name"]
    ns, name = "e2e-churn", "late-pod"
    containers = [{"name": "app", "cpu_millicores": 120, "memory_bytes": 64 * MI,
                   "cpu_request_millicores": 100, "memory_request_bytes": 64 * MI}]
    # a pod the kubelet runs but the API does not know is never served (metrics-server filters the same way)
    sim.add_pod(node, ns, name, containers, app="late")
    time.sleep(2 * RESOLUTION_S + 1)
    assert not any(i["metadata"]["name"] == name for i in stack.raw("/pods")["items"])
    ensure_namespace(cp, ns)
    create_running_pod(cp, ns, name, node, containers, {"app": "late"})
    t0 = time.monotonic()
    wait_until("the late pod to be served", lambda: stack.raw(f"/namespaces/{ns}/pods/{name}"), 2 * RESOLUTION_S + 5)
    stack.notes["pod_object_created_to_served_s"] = round(time.monotonic() - t0, 1)
    row = table(cp.kubectl("top", "pod", name, "-n", ns, "--containers").stdout)[0]
    assert [row["CPU(cores)"], row["MEMORY(bytes)"]] == ["120m", "64Mi"], row

    # deleting the Pod object: gone from the list and 404 by name
    cp.delete_pod(ns, name)
    t0 = time.monotonic()

    def pod_gone() -> bool:
        listed = any(i["metadata"]["name"] == name for i in stack.raw("/pods")["items"])
        try:
            stack.raw(f"/namespaces/{ns}/pods/{name}")
            return False
        except urllib.error.HTTPError as e:
            return e.code == 404 and not listed

    # Inventory changes invalidate the served snapshot (rebuilt at most once a second), so a deleted
    # pod goes within the watch latency plus a second, not at the next scrape.
    wait_until("the deleted pod to stop being served", pod_gone, 2.5, interval=0.2)
    stack.notes["pod_object_deleted_to_gone_s"] = round(time.monotonic() - t0, 1)
    sim.remove_pod(node, ns, name)

    # deleting a Node object: its metrics go, its kubelet is no longer scraped; re-creating brings it back
    gone = inv[3]
    cp.kubectl("delete", "node", gone["name"])
    t0 = time.monotonic()

    def node_gone() -> bool:
        return gone["name"] not in {i["metadata"]["name"] for i in stack.raw("/nodes")["items"]}

    wait_until("the deleted node to stop being served", node_gone, 2.5, interval=0.2)
    stack.notes["node_object_deleted_to_gone_s"] = round(time.monotonic() - t0, 1)
    requests = sim.node(gone["name"])["requests"]
    time.sleep(RESOLUTION_S + 1)
    assert sim.node(gone["name"])["requests"] == requests, "a deleted node's kubelet is still scraped"
    rows = {r["NAME"] for r in table(cp.kubectl("top", "node").stdout)}
    assert gone["name"] not in rows and len(rows) == NODES - 1
    cp.create_node(gone["name"], kubelet_port=gone["port"], cpu=f"{gone['cpu_capacity_millicores']}m",
                   memory=str(gone["memory_capacity_bytes"]), labels=gone["labels"])
    wait_until("the re-created node to be served", lambda: not node_gone(), 2 * RESOLUTION_S + 5)
    wait_until("metrics for every simulated node and registered pod", lambda: _metrics_complete(stack),
               3 * RESOLUTION_S + 5)


# ---------------------------------------------------------------------------------------------
# faults: a hung kubelet, a failing kubelet, a kubelet sending garbage lines
# ---------------------------------------------------------------------------------------------
def test_faulty_kubelets_do_not_break_the_others(stack: Stack):
    cp, sim = stack.cp, stack.sim
    inv = sim.inventory()
    healthy, hung, garbage, failing = (n["name"] for n in inv)
    before = {r["NAME"]: r for r in table(cp.kubectl("top", "node").stdout)}
    assert all(before[n["name"]]["CPU(cores)"] != "<unknown>" for n in inv)

    t0 = time.monotonic()
    sim.set_faults(hung, hang=True)
    sim.set_faults(failing, status=500)
    sim.set_faults(garbage, garbage_every=2)
    # within the grace period the broken nodes keep their last value
    during = {r["NAME"]: r for r in table(cp.kubectl("top", "node").stdout)}
    assert time.monotonic() - t0 < GRACE_S - RESOLUTION_S, "too slow to observe the grace period"
    for name in (hung, failing):
        assert during[name] == before[name], (during[name], before[name])

    # the healthy node, and the node sending garbage lines, keep reporting fresh numbers
    h_pod = next(p for p in next(n for n in inv if n["name"] == healthy)["pods"] if p["name"] != stack.target[2])
    g_pod = next(n for n in inv if n["name"] == garbage)["pods"][0]
    sim.set_usage(healthy, h_pod["namespace"], h_pod["name"], h_pod["containers"][0]["name"], cpu_millicores=450)
    sim.set_usage(garbage, g_pod["namespace"], g_pod["name"], g_pod["containers"][0]["name"], cpu_millicores=250)

    def fresh() -> bool:
        rows = {(r["NAMESPACE"], r["POD"], r["NAME"]): r
                for r in table(cp.kubectl("top", "pod", "-A", "--containers").stdout)}
        h = rows.get((h_pod["namespace"], h_pod["name"], h_pod["containers"][0]["name"]))
        g = rows.get((g_pod["namespace"], g_pod["name"], g_pod["containers"][0]["name"]))
        return bool(h and g and h["CPU(cores)"] == "450m" and g["CPU(cores)"] == "250m")

    wait_until("fresh numbers from the healthy and the garbage-sending nodes", fresh, 4 * RESOLUTION_S + 10)

    # past the grace period the hung and failing nodes show <unknown>; the others keep their numbers
    def unknown() -> dict | None:
        rows = {r["NAME"]: r for r in table(cp.kubectl("top", "node").stdout)}
        return rows if all(rows[n]["CPU(cores)"] == "<unknown>" for n in (hung, failing)) else None

    rows = wait_until("the hung and failing nodes to show <unknown>", unknown, GRACE_S + 3 * RESOLUTION_S + 15)
    stack.notes["unknown_after_s"] = round(time.monotonic() - t0, 1)
    assert time.monotonic() - t0 >= GRACE_S - RESOLUTION_S - 1, "dropped before the grace period ended"
    now_inv = {n["name"]: n for n in sim.inventory()}
    for name in (healthy, garbage):
        assert close(int(rows[name]["CPU(cores)"].removesuffix("m")), expected_node(now_inv[name])[0]), rows[name]
    for version in installed_kubectl_versions():
        out = cp.kubectl("top", "node", version=version).stdout
        vrows = {r["NAME"]: r for r in table(out)}
        assert set(vrows) == set(now_inv), out
        assert [vrows[hung]["CPU(cores)"], vrows[failing]["MEMORY(bytes)"]] == ["<unknown>", "<unknown>"], out
        assert vrows[healthy]["CPU(cores)"] != "<unknown>" and vrows[garbage]["CPU(cores)"] != "<unknown>", out
    # the pods of the broken nodes are gone from the pod metrics; the others are there
    served = {(m["metadata"]["namespace"], m["metadata"]["name"]) for m in stack.raw("/pods")["items"]}
    for n in inv:
        for p in n["pods"]:
            assert ((p["namespace"], p["name"]) in served) == (n["name"] in (healthy, garbage)), (n["name"], p["name"])
    gone = next(n for n in inv if n["name"] == hung)["pods"][0]
    r = cp.kubectl("top", "pod", gone["name"], "-n", gone["namespace"], check=False)
    # metrics-server's answer for a pod without metrics, word for word
    assert r.returncode != 0, r.stdout
    assert r.stderr == (f'Error from server (NotFound): podmetrics.metrics.k8s.io "{gone["namespace"]}/{gone["name"]}"'
                        " not found\n"), r.stderr
    # the hung kubelet was still being tried
    assert sim.node(hung)["requests"] > 0

    # recovery: clear the faults, every node is back
    for name in (hung, failing, garbage):
        sim.set_faults(name)
    wait_until("every node back after the faults are cleared",
               lambda: all(r["CPU(cores)"] != "<unknown>" for r in table(cp.kubectl("top", "node").stdout)), 90)



def test_kubectl_gets_protobuf_from_kubemetrics_through_the_aggregator(stack: Stack):
    """kubectl asks the Metrics API for protobuf; kubemetrics serve answers it (the Content-Type
    the aggregator passes back says so) and kubectl decodes the same numbers as from JSON."""
    cp = stack.cp
    out = cp.kubectl("top", "pod", "-A", "--containers", "-v=8")
    log = out.stderr
    assert re.search(r"Accept:?\s*\"?application/vnd\.kubernetes\.protobuf", log), log[-3000:]
    assert re.search(r"Content-Type:?\s*\"?application/vnd\.kubernetes\.protobuf", log), log[-3000:]
    _check_top_pod_containers(out.stdout, stack.sim.containers())
    # the same objects as JSON
    pods = json.loads(cp.kubectl("get", "--raw", f"{GV}/pods").stdout)
    assert pods["kind"] == "PodMetricsList" and len(pods["items"]) == len({(k[0], k[1]) for k in stack.sim.containers()})
