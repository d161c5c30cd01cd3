"""The real kubemetrics pieces on top of the loopback control plane (``harness.ControlPlane``).

- :class:`Simulator`: ``kubemetrics simulate`` (simulated kubelets on 127.0.0.1, plain HTTP) and its JSON
  control API (inventory, pods, usage, faults).
- :func:`register_fleet`: the fleet's nodes and pods as API objects (InternalIP 127.0.0.1, the simulated
  kubelet's port in ``daemonEndpoints``; pods bound, Running and Ready).
- :func:`install_metrics_server_rbac` / :func:`service_account_kubeconfig`: the ServiceAccount
  ``kube-system/metrics-server`` with metrics-server's RBAC, and a token kubeconfig for it.
- :func:`start_serve`: ``kubemetrics serve`` on 127.0.0.1 with the harness's serving cert and front-proxy CA.

Everything listens on and talks to 127.0.0.1 only. Standard library only.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from harness import LOOPBACK, ControlPlane, HarnessError, Proc, rfc3339

ROOT = Path(__file__).resolve().parents[2]
# where `cargo build` (run in ROOT) puts it: $CARGO_TARGET_DIR (relative to ROOT) when set, else ROOT/target
TARGET_DIR = ROOT / (os.environ.get("CARGO_TARGET_DIR") or "target")
KUBEMETRICS = TARGET_DIR / "debug" / "kubemetrics"
MI = 1024 * 1024
# Lines of measured durations the tests want in pytest's terminal summary (see conftest.py).
TIMINGS: list[str] = []


def build_kubemetrics() -> Path:
    """``cargo build -p kubemetrics-cli`` (a no-op when up to date); the debug binary's path."""
    r = subprocess.run(["cargo", "build", "-q", "-p", "kubemetrics-cli"], cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise HarnessError(f"cargo build -p kubemetrics-cli failed:\n{r.stderr[-4000:]}")
    return KUBEMETRICS


def wait_until(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.5) -> Any:
    """Poll ``check`` until it returns something truthy (returned); raise with the last value/error."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            got = check()
            if got:
                return got
            last = got
        except Exception as e:  # noqa: BLE001 - anything means "not yet"
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# kubemetrics simulate
# ---------------------------------------------------------------------------------------------
class Simulator:
    """A running ``kubemetrics simulate`` and its control API."""

    def __init__(self, proc: Proc, url: str):
        self.proc, self.url = proc, url.rstrip("/")

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            raise HarnessError(f"simulate {method} {path}: {e.code} {e.read().decode(errors='replace')}") from None

    def inventory(self) -> list[dict]:
        return self.request("GET", "/inventory")["nodes"]

    def node(self, name: str) -> dict:
        return next(n for n in self.inventory() if n["name"] == name)

    def containers(self) -> dict[tuple[str, str, str], dict]:
        """(namespace, pod, container) -> the container's inventory entry (plus its node)."""
        out = {}
        for n in self.inventory():
            for p in n["pods"]:
                for c in p["containers"]:
                    out[(p["namespace"], p["name"], c["name"])] = {**c, "node": n["name"]}
        return out

    def add_pod(self, node: str, namespace: str, name: str, containers: Iterable[Mapping[str, Any]],
                app: str | None = None) -> Any:
        return self.request("POST", "/pods", {"node": node, "namespace": namespace, "name": name,
                                              "app": app or name, "containers": list(containers)})

    def remove_pod(self, node: str, namespace: str, name: str) -> Any:
        return self.request("DELETE", f"/pods/{node}/{namespace}/{name}")

    def set_usage(self, node: str, namespace: str, pod: str, container: str,
                  cpu_millicores: int | None = None, memory_bytes: int | None = None) -> Any:
        body: dict[str, Any] = {"node": node, "namespace": namespace, "pod": pod, "container": container}
        if cpu_millicores is not None:
            body["cpu_millicores"] = cpu_millicores
        if memory_bytes is not None:
            body["memory_bytes"] = memory_bytes
        return self.request("POST", "/usage", body)

    def set_faults(self, node: str, **faults: Any) -> Any:
        """status=500, garbage_every=3, delay_ms=..., hang=True, ...; no keyword clears them."""
        return self.request("POST", "/faults", {"node": node, **faults})


def start_simulator(cp: ControlPlane, binary: Path, *, nodes: int, pods_per_node: int,
                    containers_per_pod: int = 1, namespaces: int = 3, seed: int = 1,
                    prefix: str = "sim-node-") -> Simulator:
    proc, m = cp.spawn("kubemetrics-simulate", [
        binary, "simulate", f"--nodes={nodes}", f"--pods-per-node={pods_per_node}",
        f"--containers-per-pod={containers_per_pod}", f"--namespaces={namespaces}", f"--seed={seed}",
        f"--node-name-prefix={prefix}", "--control-port=0",
    ], wait_for=r"serving on (http://127\.0\.0\.1:\d+)")
    assert m is not None
    return Simulator(proc, m.group(1))


# ---------------------------------------------------------------------------------------------
# API objects (through the admin HTTPS client: much faster than a kubectl per object)
# ---------------------------------------------------------------------------------------------
def ensure_namespace(cp: ControlPlane, ns: str) -> None:
    try:
        cp.api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    except urllib.error.HTTPError as e:
        if e.code != 409:
            raise


def running_status(containers: Iterable[Mapping[str, Any]], started_seconds_ago: int = 900) -> dict:
    """A pod status as a kubelet writes it: Running, every container running and ready, back-dated."""
    start = rfc3339(_dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(seconds=started_seconds_ago))
    return {
        "phase": "Running",
        "conditions": [{"type": t, "status": "True", "lastTransitionTime": start}
                       for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                                 "PodScheduled")],
        "startTime": start,
        "hostIP": LOOPBACK, "hostIPs": [{"ip": LOOPBACK}],
        "containerStatuses": [{"name": c["name"], "image": c.get("image", "registry.k8s.io/pause:3.10"),
                               "imageID": "", "ready": True, "started": True, "restartCount": 0,
                               "state": {"running": {"startedAt": start}}} for c in containers],
    }


def mark_running(cp: ControlPlane, ns: str, name: str, containers: Iterable[Mapping[str, Any]],
                 started_seconds_ago: int = 900) -> dict:
    return cp.api("PATCH", f"/api/v1/namespaces/{ns}/pods/{name}/status",
                  {"status": running_status(list(containers), started_seconds_ago)},
                  content_type="application/merge-patch+json")


def settle_pods(cp: ControlPlane, ns: str, selector: str) -> list[dict]:
    """What a kubelet does for the pods of ``ns`` matching ``selector`` (URL-encoded): finishes
    their deletions (a graceful delete waits for the kubelet) and marks new ones Running; returns
    the live pods."""
    live = []
    for p in cp.api("GET", f"/api/v1/namespaces/{ns}/pods?labelSelector={selector}")["items"]:
        name = p["metadata"]["name"]
        if p["metadata"].get("deletionTimestamp"):
            try:
                cp.api("DELETE", f"/api/v1/namespaces/{ns}/pods/{name}", {"gracePeriodSeconds": 0})
            except urllib.error.HTTPError as e:
                if e.code != 404:
                    raise
            continue
        if p["status"].get("phase") != "Running":
            mark_running(cp, ns, name, p["spec"]["containers"])
        live.append(p)
    return live


def create_running_pod(cp: ControlPlane, ns: str, name: str, node: str, containers: Iterable[Mapping[str, Any]],
                       labels: Mapping[str, str] | None = None) -> dict:
    """A pod bound to ``node`` with the containers' requests (``cpu_request_millicores``,
    ``memory_request_bytes``), then Running/Ready through the status subresource."""
    containers = list(containers)
    spec = [{"name": c["name"], "image": "registry.k8s.io/pause:3.10",
             "resources": {"requests": {"cpu": f"{c['cpu_request_millicores']}m",
                                        "memory": str(c["memory_request_bytes"])}}} for c in containers]
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": ns, "labels": dict(labels or {})},
           "spec": {"nodeName": node, "containers": spec, "terminationGracePeriodSeconds": 0,
                    "automountServiceAccountToken": False}}
    cp.api("POST", f"/api/v1/namespaces/{ns}/pods", pod)
    return mark_running(cp, ns, name, spec)


def register_fleet(cp: ControlPlane, sim: Simulator) -> list[dict]:
    """Node objects for every simulated kubelet, and a Running pod object for every simulated pod."""
    inventory = sim.inventory()
    for n in inventory:
        cp.create_node(n["name"], kubelet_port=n["port"], cpu=f"{n['cpu_capacity_millicores']}m",
                       memory=str(n["memory_capacity_bytes"]), labels=n["labels"])
    for ns in sorted({p["namespace"] for n in inventory for p in n["pods"]}):
        ensure_namespace(cp, ns)
    for n in inventory:
        for p in n["pods"]:
            create_running_pod(cp, p["namespace"], p["name"], n["name"], p["containers"], p["labels"])
    return inventory


# ---------------------------------------------------------------------------------------------
# RBAC and credentials
# ---------------------------------------------------------------------------------------------
# metrics-server's own manifests (components.yaml), as kubectl would create them.
AGGREGATED_READER_ROLE = {
    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
    "metadata": {"name": "system:aggregated-metrics-reader", "labels": {
        "k8s-app": "metrics-server",
        "rbac.authorization.k8s.io/aggregate-to-admin": "true",
        "rbac.authorization.k8s.io/aggregate-to-edit": "true",
        "rbac.authorization.k8s.io/aggregate-to-view": "true"}},
    "rules": [{"apiGroups": ["metrics.k8s.io"], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]}],
}


def _apply(cp: ControlPlane, objs: Iterable[Mapping[str, Any]]) -> None:
    cp.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objs)}))


def install_metrics_server_rbac(cp: ControlPlane, namespace: str = "kube-system", sa: str = "metrics-server") -> None:
    """The ServiceAccount and the RBAC of metrics-server's components.yaml (plus the aggregated reader role)."""
    subject = [{"kind": "ServiceAccount", "name": sa, "namespace": namespace}]
    _apply(cp, [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa, "namespace": namespace}},
        AGGREGATED_READER_ROLE,
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "system:metrics-server"},
         "rules": [{"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
                   {"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "metrics-server-auth-reader", "namespace": "kube-system"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                     "name": "extension-apiserver-authentication-reader"},
         "subjects": subject},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "metrics-server:system:auth-delegator"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:auth-delegator"},
         "subjects": subject},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "system:metrics-server"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:metrics-server"},
         "subjects": subject},
    ])


def service_account_token(cp: ControlPlane, namespace: str, sa: str, create: bool = True) -> str:
    """A bound token of ServiceAccount ``namespace/sa`` (TokenRequest, 1 h), creating the SA if asked."""
    if create:
        ensure_namespace(cp, namespace)
        cp.create_if_absent("serviceaccount", sa, "-n", namespace)
    return cp.kubectl("create", "token", sa, "-n", namespace, "--duration=1h").stdout.strip()


def token_kubeconfig(cp: ControlPlane, path: Path, token: str, user: str) -> Path:
    cfg = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "e2e", "cluster": {"server": cp.server, "certificate-authority": str(cp.certs.ca_crt)}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": user}}],
        "current-context": "e2e",
    }
    path.write_text(json.dumps(cfg, indent=2) + "\n")
    path.chmod(0o600)
    return path


def https_get(url: str, *, ca: Path, token: str | None = None, cert: tuple[Path, Path] | None = None,
              headers: Mapping[str, str] | None = None, timeout: float = 10) -> tuple[int, Any]:
    """GET over HTTPS to 127.0.0.1; returns (status, parsed JSON body or text)."""
    ctx = ssl.create_default_context(cafile=str(ca))
    if cert is not None:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Accept", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=timeout) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode(errors="replace")


# ---------------------------------------------------------------------------------------------
# kubemetrics serve
# ---------------------------------------------------------------------------------------------
class Serve:
    def __init__(self, proc: Proc, url: str, kubeconfig: Path):
        self.proc, self.url, self.kubeconfig = proc, url, kubeconfig

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


def start_serve(cp: ControlPlane, binary: Path, kubeconfig: Path, *, resolution: str = "5s",
                grace: str = "15s", kubelet_timeout: str = "2s", extra: Iterable[str] = ()) -> Serve:
    cert, key = cp.certs.metrics_server_cert
    argv = [
        binary, "serve",
        "--bind-address=127.0.0.1", "--secure-port=0",
        f"--tls-cert-file={cert}", f"--tls-private-key-file={key}",
        f"--client-ca-file={cp.certs.ca_crt}",
        f"--requestheader-client-ca-file={cp.certs.front_proxy_ca_crt}",
        "--requestheader-allowed-names=front-proxy-client",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        f"--kubeconfig={kubeconfig}",
        "--kubelet-preferred-address-types=InternalIP",
        "--kubelet-use-node-status-port",
        "--kubelet-scheme=http",
        f"--metric-resolution={resolution}",
        f"--node-grace-period={grace}",
        f"--kubelet-request-timeout={kubelet_timeout}",
        *extra,
    ]
    proc, m = cp.spawn("kubemetrics-serve", argv, wait_for=r"serving on (https://127\.0\.0\.1:\d+)")
    assert m is not None
    return Serve(proc, m.group(1), kubeconfig)


# ---------------------------------------------------------------------------------------------
# expected numbers
# ---------------------------------------------------------------------------------------------
NODE_OVERHEAD_MILLI = 150          # FleetConfig::default().node_overhead_millicores
NODE_OVERHEAD_BYTES = 600 * MI     # FleetConfig::default().node_overhead_bytes


def expected_node(n: Mapping[str, Any]) -> tuple[int, int]:
    """(millicores, bytes) a simulated node reports: its overhead plus all its containers."""
    cs = [c for p in n["pods"] for c in p["containers"]]
    return (NODE_OVERHEAD_MILLI + sum(c["cpu_millicores"] for c in cs),
            NODE_OVERHEAD_BYTES + sum(c["memory_bytes"] for c in cs))


def close(got_milli: float, want_milli: float, rel: float = 0.02, abs_milli: float = 1.0) -> bool:
    return abs(got_milli - want_milli) <= max(rel * want_milli, abs_milli)


def parse_cpu_milli(q: str) -> float:
    """A CPU quantity as metrics.k8s.io writes it (``123456789n``, ``300m``, ``1``) in millicores."""
    if q.endswith("n"):
        return int(q[:-1]) / 1e6
    if q.endswith("u"):
        return int(q[:-1]) / 1e3
    if q.endswith("m"):
        return float(q[:-1])
    return float(q) * 1000


_BIN = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}
_DEC = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def parse_bytes(q: str) -> int:
    for suffix, mult in _BIN.items():
        if q.endswith(suffix):
            return int(q[:-2]) * mult
    for suffix, mult in _DEC.items():
        if q.endswith(suffix):
            return int(q[:-1]) * mult
    return int(q)


def table(out: str) -> list[dict[str, str]]:
    """kubectl's whitespace-aligned table as dicts keyed by header."""
    lines = [ln for ln in out.splitlines() if ln.strip()]
    if not lines:
        return []
    header = lines[0].split()
    return [dict(zip(header, ln.split())) for ln in lines[1:]]


def env_without_kubeconfig() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}


def binding_python(probe: str = "import kubemetrics._native") -> str | None:
    """The first interpreter in which ``probe`` runs with the built Python binding: this one,
    ``$KM_VENV``'s, ``bindings-python/.venv``'s (``bindings-python/scripts/test.sh`` builds it there)."""
    candidates = [sys.executable]
    if os.environ.get("KM_VENV"):
        candidates.append(str(Path(os.environ["KM_VENV"]) / "bin" / "python"))
    candidates.append(str(ROOT / "bindings-python" / ".venv" / "bin" / "python"))
    for py in candidates:
        if os.access(py, os.X_OK) and subprocess.run([py, "-c", probe], capture_output=True, cwd="/").returncode == 0:
            return py
    return None
