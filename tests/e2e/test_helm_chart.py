"""deploy/helm/kubemetrics rendered by the real helm and installed on the real kube-apiserver.

helm is helm.sh/helm/v4 at the pinned version, built from the Go module proxy by build-helm.sh (fixture
``helm_bin``; cached in $KM_CACHE_DIR/bin). It only lints and renders (``helm template``): what it renders
is applied with kubectl to the harness's control plane, as an install would create it, with two changes
that stand in for the cluster network this machine does not have:

- the chart's Service becomes ``type: ExternalName``, ``externalName: localhost`` (the aggregator then
  dials https://localhost:<port> with TLS server name <service>.<namespace>.svc), and the APIService's
  ``spec.service.port`` is the port of the local server. Everything else of the APIService (caBundle or
  insecureSkipTLSVerify, names, priorities) is the chart's.
- the Deployment's pods cannot run (no kubelet, no image), so ``kubemetrics serve`` runs on 127.0.0.1 with
  the rendered container's args, rewritten only where a pod differs from a local process:
  ``--secure-port=<containerPort>`` -> ``--secure-port=0`` (a free loopback port), paths under a
  volumeMount -> a local directory holding that volume's content (an emptyDir: empty; a Secret: its data
  read back from the API server), plus ``--bind-address=127.0.0.1``, ``--kubeconfig`` with a token of the
  chart's ServiceAccount (in place of the in-cluster credentials a pod gets) and ``--kubelet-scheme=http``
  (the simulated kubelets speak plain HTTP). The server therefore reads the front-proxy CA from
  kube-system/extension-apiserver-authentication, watches nodes and pods and reviews tokens with exactly
  the RBAC the chart grants.

Available=True is not the proof of TLS (kube-aggregator's availability probe skips verification): the
metrics read through kube-apiserver are, and the HA test shows a server the caBundle does not vouch for
answering 503 behind the same, still "Available", APIService.

kube-controller-manager (deployment, replicaset, disruption) turns the rendered Deployment into Pods, so
the pod template passes admission (priority class, securityContext, volumes) and, for the HA values, the
PodDisruptionBudget governs those Pods (evictions through the Eviction API).

Run: python3 -m pytest tests/e2e/test_helm_chart.py -q -p no:cacheprovider
"""

from __future__ import annotations

import base64
import copy
import json
import os
import ssl
import subprocess
import time
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness import LOOPBACK, ControlPlane, helm_version
from metrics_stack import (
    ROOT, TIMINGS, Serve, Simulator, build_kubemetrics, close, expected_node, parse_bytes, parse_cpu_milli,
    register_fleet, service_account_token, start_simulator, table, token_kubeconfig, wait_until,
)

CHART = ROOT / "deploy" / "helm" / "kubemetrics"
HA_VALUES = CHART / "values-ha.yaml"
GV = "/apis/metrics.k8s.io/v1beta1"
APISERVICE = "v1beta1.metrics.k8s.io"
NODES, PODS_PER_NODE = 3, 2


# ---------------------------------------------------------------------------------------------
# helm
# ---------------------------------------------------------------------------------------------
class Helm:
    """The built helm with its own config/cache/data homes (nothing under ~), no kubeconfig."""

    def __init__(self, exe: Path, home: Path):
        self.exe = exe
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_") and k != "KUBECONFIG"}
        for d in ("config", "cache", "data"):
            (home / d).mkdir(parents=True, exist_ok=True)
            self.env[f"HELM_{d.upper()}_HOME"] = str(home / d)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run([str(self.exe), *args], capture_output=True, text=True, env=self.env, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def template(self, release: str, namespace: str, *extra: str, kube_version: str | None = None) -> str:
        args = ["template", release, str(CHART), "--namespace", namespace, *extra]
        if kube_version:
            args += ["--kube-version", kube_version]
        return self.run(*args).stdout


@pytest.fixture(scope="module")
def helm(helm_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm(helm_bin, tmp_path_factory.mktemp("helm-home"))


def to_objects(cp: ControlPlane, rendered: str) -> list[dict]:
    """The rendered YAML documents as JSON objects, converted by kubectl (client-side dry run: nothing
    reaches the server but discovery), in document order."""
    out = cp.kubectl("create", "--dry-run=client", "-o", "json", "-f", "-", input=rendered).stdout
    objs, dec, i = [], json.JSONDecoder(), 0
    while True:
        while i < len(out) and out[i].isspace():
            i += 1
        if i >= len(out):
            break
        obj, i = dec.raw_decode(out, i)
        objs.extend(obj["items"] if obj.get("kind") == "List" else [obj])
    return objs


def kinds(objs: list[dict]) -> list[tuple[str, str]]:
    return sorted((o["kind"], o["metadata"]["name"]) for o in objs)


def one(objs: list[dict], kind: str) -> dict:
    (obj,) = [o for o in objs if o["kind"] == kind]
    return obj


# ---------------------------------------------------------------------------------------------
# the cluster: control plane, simulated fleet, controllers
# ---------------------------------------------------------------------------------------------
@dataclass
class Stack:
    cp: ControlPlane
    sim: Simulator
    binary: Path
    kube_version: str

    def raw(self, path: str) -> Any:
        return self.cp.api("GET", GV + path)


@pytest.fixture(scope="module")
def stack(cp: ControlPlane):
    binary = build_kubemetrics()
    sim = start_simulator(cp, binary, nodes=NODES, pods_per_node=PODS_PER_NODE, containers_per_pod=1,
                          namespaces=2, seed=11)
    register_fleet(cp, sim)
    cp.start_controller_manager(controllers=["deployment", "replicaset", "disruption"])
    return Stack(cp, sim, binary, cp.api("GET", "/version")["gitVersion"])


# ---------------------------------------------------------------------------------------------
# installing a rendered release
# ---------------------------------------------------------------------------------------------
@dataclass
class Release:
    name: str
    namespace: str
    rendered: list[dict]      # as helm rendered them
    applied: list[dict]       # as applied (Service/APIService pointed at the local server)
    serve: Serve
    serve_argv: list[str]
    proc_name: str


def for_loopback(objs: list[dict], port: int | None) -> list[dict]:
    """The chart's objects with the Service an ExternalName of localhost and the APIService on ``port``
    (left out while ``port`` is None: the server is not up yet)."""
    out = []
    for o in copy.deepcopy(objs):
        if o["kind"] == "Service":
            o["spec"]["type"] = "ExternalName"
            o["spec"]["externalName"] = "localhost"
        if o["kind"] == "APIService":
            if port is None:
                continue
            o["spec"]["service"]["port"] = port
        out.append(o)
    return out


def local_serve_argv(stack: Stack, deployment: dict, workdir: Path) -> list[str]:
    """``kubemetrics serve`` argv from the rendered Deployment's container (see the module docstring)."""
    cp = stack.cp
    ns = deployment["metadata"]["namespace"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert "command" not in container, "the image's entrypoint is /kubemetrics (deploy/Dockerfile)"
    args = container["args"]
    assert args[0] == "serve", args
    https_port = next(p["containerPort"] for p in container["ports"] if p["name"] == "https")

    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts: dict[str, Path] = {}
    for m in container.get("volumeMounts", []):
        v = volumes[m["name"]]
        d = workdir / "volumes" / m["name"]
        d.mkdir(parents=True)
        if "secret" in v:      # as the kubelet projects it: one file per key
            secret = cp.get_json("secret", v["secret"]["secretName"], "-n", ns)
            for key, b64 in secret["data"].items():
                (d / key).write_bytes(base64.b64decode(b64))
                (d / key).chmod(0o600)
        else:
            assert v.keys() == {"name", "emptyDir"}, f"a volume this test does not know how to provide: {v}"
        mounts[m["mountPath"]] = d

    def local(value: str) -> str:
        for mount, d in mounts.items():
            if value == mount or value.startswith(mount + "/"):
                return str(d) + value[len(mount):]
        return value

    argv = []
    for a in args[1:]:
        flag, eq, value = a.partition("=")
        assert flag not in ("--bind-address", "--kubeconfig"), f"{a}: the test sets this flag itself"
        if flag == "--secure-port":
            assert int(value) == https_port, (a, https_port)
            a = "--secure-port=0"
        elif eq:
            a = f"{flag}={local(value)}"
        argv.append(a)

    sa = pod["serviceAccountName"]
    token = service_account_token(cp, ns, sa, create=False)  # the chart must have created it
    kubeconfig = token_kubeconfig(cp, workdir / "serviceaccount.kubeconfig", token, f"{ns}:{sa}")
    return [str(stack.binary), "serve", *argv,
            f"--bind-address={LOOPBACK}", f"--kubeconfig={kubeconfig}", "--kubelet-scheme=http"]


def install(stack: Stack, name: str, namespace: str, rendered: list[dict]) -> Release:
    """Apply the rendered objects, start the local server for the Deployment, point the APIService at it."""
    cp = stack.cp
    assert cp.dir is not None
    cp.ensure_namespace(namespace)
    cp.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                     "items": for_loopback(rendered, None)}))
    workdir = cp.dir / f"release-{name}"
    argv = local_serve_argv(stack, one(rendered, "Deployment"), workdir)
    proc_name = f"kubemetrics-serve-{name}"
    proc, m = cp.spawn(proc_name, argv, wait_for=r"serving on (https://127\.0\.0\.1:\d+)")
    assert m is not None
    serve = Serve(proc, m.group(1), workdir / "serviceaccount.kubeconfig")
    applied = for_loopback(rendered, serve.port)
    cp.kubectl("apply", "-f", "-", input=json.dumps(one(applied, "APIService")))
    cp.invalidate_discovery_cache()
    return Release(name, namespace, rendered, applied, serve, argv, proc_name)


def uninstall(stack: Stack, rel: Release) -> None:
    cp = stack.cp
    cp.kubectl("delete", "--ignore-not-found", "--wait=false", "-f", "-",
               input=json.dumps({"apiVersion": "v1", "kind": "List", "items": rel.applied}))
    cp.stop_process(rel.proc_name)
    cp.invalidate_discovery_cache()


# ---------------------------------------------------------------------------------------------
# checks shared by both installs
# ---------------------------------------------------------------------------------------------
def wait_available(stack: Stack, timeout: float = 60) -> float:
    t0 = time.monotonic()
    stack.cp.kubectl("wait", "--for=condition=Available", f"apiservice/{APISERVICE}", f"--timeout={int(timeout)}s",
                     timeout=timeout + 30)
    return round(time.monotonic() - t0, 1)


def check_metrics_through_the_aggregator(stack: Stack) -> float:
    """Every simulated node and pod is served through kube-apiserver with the simulated numbers, and
    ``kubectl top`` answers; returns how long the data took to appear."""
    t0 = time.monotonic()
    inv = stack.sim.inventory()
    by_node = {n["name"]: n for n in inv}
    want_pods = {(p["namespace"], p["name"]) for n in inv for p in n["pods"]}

    def complete() -> bool:
        nodes = {m["metadata"]["name"] for m in stack.raw("/nodes")["items"]}
        pods = {(m["metadata"]["namespace"], m["metadata"]["name"]) for m in stack.raw("/pods")["items"]}
        return nodes == set(by_node) and want_pods <= pods

    # the chart's --metric-resolution=15s: the first CPU rate needs two scrapes
    wait_until("every simulated node and pod served through the aggregator", complete, 60)
    took = round(time.monotonic() - t0, 1)
    for m in stack.raw("/nodes")["items"]:
        want_cpu, want_mem = expected_node(by_node[m["metadata"]["name"]])
        assert close(parse_cpu_milli(m["usage"]["cpu"]), want_cpu), (m, want_cpu)
        assert parse_bytes(m["usage"]["memory"]) == want_mem, (m, want_mem)

    rows = table(stack.cp.kubectl("top", "node").stdout)
    assert sorted(r["NAME"] for r in rows) == sorted(by_node), rows
    for r in rows:
        want_cpu, want_mem = expected_node(by_node[r["NAME"]])
        assert close(float(r["CPU(cores)"].rstrip("m")), want_cpu, abs_milli=1.5), (r, want_cpu)
        assert r["MEMORY(bytes)"] == f"{want_mem // (1 << 20)}Mi", (r, want_mem)
    pods = table(stack.cp.kubectl("top", "pod", "-A").stdout)
    assert want_pods <= {(r["NAMESPACE"], r["NAME"]) for r in pods}, pods
    return took


def deployment_pods(stack: Stack, dep: dict) -> list[dict]:
    sel = ",".join(f"{k}={v}" for k, v in dep["spec"]["selector"]["matchLabels"].items())
    return stack.cp.get_json("pods", "-n", dep["metadata"]["namespace"], "-l", sel)["items"]


def check_pods_from_the_deployment(stack: Stack, dep: dict) -> list[dict]:
    """kube-controller-manager created ``replicas`` Pods from the template: admission accepted it."""
    want = dep["spec"].get("replicas", 1)
    pods = wait_until(f"{want} pods of deployment {dep['metadata']['name']}",
                      lambda: (lambda ps: ps if len(ps) == want else None)(deployment_pods(stack, dep)), 60)
    tmpl = dep["spec"]["template"]["spec"]
    for p in pods:
        (c,) = p["spec"]["containers"]
        assert c["args"] == tmpl["containers"][0]["args"]
        assert p["spec"]["serviceAccountName"] == tmpl["serviceAccountName"]
        assert p["spec"]["priorityClassName"] == tmpl["priorityClassName"]
        assert p["spec"]["priority"] == 2000000000  # system-cluster-critical, resolved by admission
    return pods


def check_the_ca_bundle_is_enforced(stack: Stack, rel: Release, notes: dict) -> None:
    """Proxied requests verify the server against the chart's caBundle. kube-aggregator's availability
    probe skips TLS verification, so ``Available=True`` alone does not show it: a second server with the
    same flags minus the Secret's certificate (self-signed into --cert-dir, what the chart rendered before
    tls.existingSecret existed) behind the same APIService stays "Available" yet answers nothing (503)."""
    cp = stack.cp
    argv = [a for a in rel.serve_argv if not a.startswith(("--tls-cert-file=", "--tls-private-key-file="))]
    name = f"{rel.proc_name}-self-signed"
    _, m = cp.spawn(name, argv, wait_for=r"serving on https://127\.0\.0\.1:(\d+)")
    assert m is not None

    def point_at(port: int) -> None:
        cp.kubectl("patch", "apiservice", APISERVICE, "--type=merge", "-p",
                   json.dumps({"spec": {"service": {"port": port}}}))

    def status_of_nodes() -> int:
        try:
            stack.raw("/nodes")
            return 200
        except urllib.error.HTTPError as e:
            return e.code

    try:
        point_at(int(m.group(1)))
        wait_until("503 from the self-signed server behind the caBundle", lambda: status_of_nodes() == 503, 30)
        wait_available(stack)
        notes["self_signed_behind_ca_bundle"] = "Available, 503 on every request"
    finally:
        point_at(rel.serve.port)
        cp.stop_process(name)
    wait_until("200 again from the Secret's certificate", lambda: status_of_nodes() == 200, 30)


def check_uninstalled(stack: Stack) -> None:
    """With the release's objects deleted, the Metrics API is gone again."""
    def gone() -> bool:
        stack.cp.invalidate_discovery_cache()
        r = stack.cp.kubectl("top", "node", check=False)
        return r.returncode == 1 and r.stderr.strip() == "error: Metrics API not available"

    wait_until("kubectl top node to say the Metrics API is not available", gone, 30)


# ---------------------------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------------------------
def test_helm_is_the_pinned_version(helm: Helm):
    assert helm.run("version", "--template", "{{.Version}}").stdout.strip() == helm_version()


@pytest.mark.parametrize("values", ["defaults", "ha"])
def test_helm_lint_strict(helm: Helm, values: str):
    extra = ["-f", str(HA_VALUES)] if values == "ha" else []
    r = helm.run("lint", "--strict", str(CHART), *extra, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in r.stdout, r.stdout
    assert "[WARNING]" not in r.stdout and "[ERROR]" not in r.stdout, r.stdout


def test_a_ca_bundle_without_a_serving_certificate_is_refused(helm: Helm):
    r = helm.run("template", "x", str(CHART), "--set", "apiService.caBundle=Zm9v", check=False)
    assert r.returncode != 0
    assert "apiService.caBundle needs tls.existingSecret" in r.stderr, r.stderr


def test_defaults_installed_serve_kubectl_top(stack: Stack, helm: Helm, request: pytest.FixtureRequest):
    """The chart's defaults, released as ``kubemetrics`` in ``monitoring``: a self-signed serving
    certificate behind ``insecureSkipTLSVerify``; the ServiceAccount lives outside kube-system."""
    cp = stack.cp
    objs = to_objects(cp, helm.template("kubemetrics", "monitoring", kube_version=stack.kube_version))
    assert kinds(objs) == [
        ("APIService", APISERVICE),
        ("ClusterRole", "system:kubemetrics"),
        ("ClusterRole", "system:kubemetrics-aggregated-metrics-reader"),
        ("ClusterRoleBinding", "kubemetrics:system:auth-delegator"),
        ("ClusterRoleBinding", "system:kubemetrics"),
        ("Deployment", "kubemetrics"),
        ("RoleBinding", "kubemetrics-auth-reader"),
        ("Service", "kubemetrics"),
        ("ServiceAccount", "kubemetrics"),
    ]
    dep, svc, apisvc = one(objs, "Deployment"), one(objs, "Service"), one(objs, "APIService")
    pod = dep["spec"]["template"]["spec"]
    assert dep["spec"]["replicas"] == 1 and "affinity" not in pod
    assert svc["spec"]["selector"] == dep["spec"]["template"]["metadata"]["labels"] == dep["spec"]["selector"]["matchLabels"]
    assert apisvc["spec"]["service"] == {"name": "kubemetrics", "namespace": "monitoring"}
    assert apisvc["spec"]["insecureSkipTLSVerify"] is True and "caBundle" not in apisvc["spec"]
    assert one(objs, "RoleBinding")["metadata"]["namespace"] == "kube-system"

    rel = install(stack, "kubemetrics", "monitoring", objs)
    try:
        notes = {"available_after_s": wait_available(stack)}
        assert "--cert-dir=" + str(cp.dir / "release-kubemetrics" / "volumes" / "tmp-dir") in rel.serve_argv
        assert (cp.dir / "release-kubemetrics" / "volumes" / "tmp-dir" / "apiserver.crt").is_file()  # self-signed
        log = (cp.dir / "logs" / f"{rel.proc_name}.log").read_text()
        assert "client CAs read from kube-system/extension-apiserver-authentication" in log, log[-3000:]
        notes["metrics_after_s"] = check_metrics_through_the_aggregator(stack)
        check_pods_from_the_deployment(stack, dep)
        TIMINGS.append(f"{request.node.name}: {json.dumps(notes)}")
    finally:
        uninstall(stack, rel)
    check_uninstalled(stack)


def test_ha_values_installed_as_metrics_server(stack: Stack, helm: Helm, request: pytest.FixtureRequest):
    """values-ha.yaml, released as ``metrics-server`` in ``kube-system`` (the drop-in), serving the
    certificate of a TLS Secret (tls.existingSecret) that the APIService verifies (apiService.caBundle =
    the cluster CA that signed it). Two replicas, required anti-affinity, a PodDisruptionBudget that the
    Eviction API enforces on the Deployment's Pods."""
    cp = stack.cp
    cert, key = cp.certs.metrics_server_cert  # SAN metrics-server.kube-system.svc, signed by the cluster CA
    cp.kubectl("create", "secret", "tls", "metrics-server-tls", "-n", "kube-system", f"--cert={cert}", f"--key={key}")
    ca_b64 = base64.b64encode(cp.certs.ca_crt.read_bytes()).decode()
    objs = to_objects(cp, helm.template(
        "metrics-server", "kube-system", "-f", str(HA_VALUES),
        "--set", "tls.existingSecret=metrics-server-tls", "--set", f"apiService.caBundle={ca_b64}",
        kube_version=stack.kube_version))
    assert ("PodDisruptionBudget", "metrics-server") in kinds(objs)
    dep, pdb, apisvc = one(objs, "Deployment"), one(objs, "PodDisruptionBudget"), one(objs, "APIService")
    labels = dep["spec"]["template"]["metadata"]["labels"]
    pod = dep["spec"]["template"]["spec"]
    assert dep["spec"]["replicas"] == 2
    assert pdb["spec"] == {"minAvailable": 1, "selector": {"matchLabels": labels}}
    (term,) = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term == {"labelSelector": {"matchLabels": labels}, "topologyKey": "kubernetes.io/hostname"}
    assert apisvc["spec"]["caBundle"] == ca_b64 and "insecureSkipTLSVerify" not in apisvc["spec"]
    args = pod["containers"][0]["args"]
    assert "--tls-cert-file=/etc/kubemetrics/tls/tls.crt" in args and "--tls-private-key-file=/etc/kubemetrics/tls/tls.key" in args

    rel = install(stack, "metrics-server", "kube-system", objs)
    try:
        notes = {"available_after_s": wait_available(stack)}
        served = ssl.get_server_certificate((LOOPBACK, rel.serve.port))
        assert ssl.PEM_cert_to_DER_cert(served) == ssl.PEM_cert_to_DER_cert(cert.read_text())
        notes["metrics_after_s"] = check_metrics_through_the_aggregator(stack)
        check_the_ca_bundle_is_enforced(stack, rel, notes)

        # the Deployment's two Pods, Ready as a kubelet would report them, are what the PDB counts
        pods = check_pods_from_the_deployment(stack, dep)
        for p in pods:
            cp.mark_pod_running("kube-system", p["metadata"]["name"])

        def pdb_ready() -> dict | None:
            st = cp.get_json("pdb", "metrics-server", "-n", "kube-system").get("status", {})
            return st if (st.get("currentHealthy"), st.get("desiredHealthy"), st.get("disruptionsAllowed")) == (2, 1, 1) else None

        wait_until("the PDB to count both replicas healthy, one disruption allowed", pdb_ready, 30)

        def evict(name: str) -> int:
            body = {"apiVersion": "policy/v1", "kind": "Eviction",
                    "metadata": {"name": name, "namespace": "kube-system"}}
            try:
                cp.api("POST", f"/api/v1/namespaces/kube-system/pods/{name}/eviction", body)
                return 201
            except urllib.error.HTTPError as e:
                notes[f"eviction_{e.code}"] = json.loads(e.read()).get("message", "")
                return e.code

        first, second = (p["metadata"]["name"] for p in pods)
        assert evict(first) == 201
        assert evict(second) == 429, notes  # the budget keeps one replica
        assert "disruption budget" in notes["eviction_429"], notes
        TIMINGS.append(f"{request.node.name}: {json.dumps(notes)}")
    finally:
        uninstall(stack, rel)
    check_uninstalled(stack)
