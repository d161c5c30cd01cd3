"""A real Kubernetes control plane (etcd + kube-apiserver [+ kube-controller-manager]) on loopback.

Everything listens on 127.0.0.1 only and every request goes to 127.0.0.1. Standard library only;
certificates are made with the ``openssl`` CLI.

    with ControlPlane() as cp:
        cp.create_node("node-a", kubelet_port=10250, cpu="4", memory="8Gi")
        cp.create_pod("default", "web-1", "node-a", [{"name": "app", "cpu": "100m", "memory": "64Mi"}])
        cp.mark_pod_running("default", "web-1")
        print(cp.kubectl("get", "pods", "-A").stdout)

Binaries come from ``$KM_CACHE_DIR/bin`` (default ``~/.cache/kubemetrics/bin``), built by
``build-control-plane.sh`` (see :func:`ensure_binaries`). ``KM_E2E_KEEP=1`` keeps the per-run temp dir
(certificates, kubeconfig, etcd data, process logs) and prints where it is.
"""

from __future__ import annotations

import atexit
import base64
import datetime as _dt
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import sys
import tempfile
import time
import urllib.request
import weakref
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

HERE = Path(__file__).resolve().parent
BUILD_SCRIPT = HERE / "build-control-plane.sh"
LOOPBACK = "127.0.0.1"
REQUIRED_BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager")
LOG_TAIL_LINES = 100


class HarnessError(RuntimeError):
    pass


# --------------------------------------------------------------------------------------------
# binaries
# --------------------------------------------------------------------------------------------
def cache_dir() -> Path:
    return Path(os.environ.get("KM_CACHE_DIR") or Path.home() / ".cache" / "kubemetrics")


def bin_dir() -> Path:
    return cache_dir() / "bin"


def missing_binaries() -> list[str]:
    b = bin_dir()
    return [
        n
        for n in REQUIRED_BINARIES
        if not (os.access(b / n, os.X_OK) and (b / f"{n}.version").is_file())
    ]


def ensure_binaries() -> Path:
    """Run build-control-plane.sh if any binary is missing; raise HarnessError if it fails."""
    missing = missing_binaries()
    if missing:
        print(
            f"[e2e] control-plane binaries missing in {bin_dir()}: {', '.join(missing)}; "
            f"running {BUILD_SCRIPT} (measured cold: ~13 min on 2 cores)",
            file=sys.stderr,
            flush=True,
        )
        rc = subprocess.call(["bash", str(BUILD_SCRIPT)])
        if rc != 0:
            raise HarnessError(f"{BUILD_SCRIPT} failed with exit code {rc}; see its output above")
        missing = missing_binaries()
        if missing:
            raise HarnessError(f"{BUILD_SCRIPT} succeeded but {missing} are still missing in {bin_dir()}")
    return bin_dir()


HELM_BUILD_SCRIPT = HERE / "build-helm.sh"


def helm_version() -> str:
    """The helm version the suite wants: ``$KM_HELM_VERSION`` or build-helm.sh's pinned default."""
    m = re.search(r'KM_HELM_VERSION:-(v[0-9.]+)', HELM_BUILD_SCRIPT.read_text())
    if m is None:
        raise HarnessError(f"no pinned helm version (KM_HELM_VERSION:-vX.Y.Z) in {HELM_BUILD_SCRIPT}")
    return os.environ.get("KM_HELM_VERSION") or m.group(1)


def ensure_helm() -> Path:
    """``$KM_CACHE_DIR/bin/helm``; runs build-helm.sh first when it is missing or stamped with another
    version. Raises HarnessError if that fails."""
    helm, stamp, want = bin_dir() / "helm", bin_dir() / "helm.version", helm_version()

    def ready() -> bool:
        return os.access(helm, os.X_OK) and stamp.is_file() and stamp.read_text().strip() == want

    if not ready():
        print(f"[e2e] helm {want} missing in {bin_dir()}; running {HELM_BUILD_SCRIPT} "
              f"(measured cold: see tests/e2e/README.md)", file=sys.stderr, flush=True)
        rc = subprocess.call(["bash", str(HELM_BUILD_SCRIPT)])
        if rc != 0:
            raise HarnessError(f"{HELM_BUILD_SCRIPT} failed with exit code {rc}; see its output above")
        if not ready():
            raise HarnessError(f"{HELM_BUILD_SCRIPT} succeeded but {helm} (stamped {want}) is still missing")
    return helm


METRICS_SERVER_BUILD_SCRIPT = HERE.parent.parent / "benchmarks" / "build-metrics-server.sh"
METRICS_SERVER_VERSION = "v0.8.0"


def ensure_metrics_server() -> Path:
    """The real metrics-server (``$KM_CACHE_DIR/bin/metrics-server-v0.8.0``), built by
    benchmarks/build-metrics-server.sh when missing (as on a fresh machine). Raises HarnessError
    if that fails."""
    binary = bin_dir() / f"metrics-server-{METRICS_SERVER_VERSION}"
    if not os.access(binary, os.X_OK):
        print(f"[e2e] metrics-server {METRICS_SERVER_VERSION} missing in {bin_dir()}; running "
              f"{METRICS_SERVER_BUILD_SCRIPT}", file=sys.stderr, flush=True)
        rc = subprocess.call(["bash", str(METRICS_SERVER_BUILD_SCRIPT)],
                             env={**os.environ, "KM_METRICS_SERVER_VERSION": METRICS_SERVER_VERSION})
        if rc != 0:
            raise HarnessError(f"{METRICS_SERVER_BUILD_SCRIPT} failed with exit code {rc}; see its output above")
        if not os.access(binary, os.X_OK):
            raise HarnessError(f"{METRICS_SERVER_BUILD_SCRIPT} succeeded but {binary} is still missing")
    return binary


def kubectl_binary(version: str | None = None) -> str:
    """``kubectl`` on PATH for version None, else ``kubectl.<version>`` beside the file it resolves to."""
    default = shutil.which("kubectl")
    if default is None:
        raise HarnessError("kubectl is not on PATH")
    if version is None:
        return default
    path = Path(os.path.realpath(default)).parent / f"kubectl.{version}"
    if not os.access(path, os.X_OK):
        raise HarnessError(f"no kubectl {version}: {path} does not exist")
    return str(path)


def installed_kubectl_versions() -> list[str]:
    default = shutil.which("kubectl")
    if default is None:
        return []
    d = Path(os.path.realpath(default)).parent
    vs = [p.name.split("kubectl.", 1)[1] for p in d.glob("kubectl.1.*") if os.access(p, os.X_OK)]
    return sorted(vs, key=lambda v: tuple(int(x) for x in v.split(".")))


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------
_LIVE: "weakref.WeakSet[ControlPlane]" = weakref.WeakSet()


def _on_sigterm(signum: int, frame: Any) -> None:
    # Stop every live control plane (processes and temp dirs), then die of SIGTERM as we would have.
    for plane in list(_LIVE):
        try:
            plane.stop()
        except Exception:  # noqa: BLE001
            pass
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _install_sigterm_handler() -> None:
    """A plain SIGTERM (CI time-out, `kill PID`) skips atexit: stop our processes first.

    (Children also get PR_SET_PDEATHSIG, so even a SIGKILLed test process takes them along.)"""
    try:
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread
        pass



class PollingThread(threading.Thread):
    """A daemon thread calling :meth:`step` every ``period`` seconds until :meth:`stop` is set;
    a step's exception is kept in ``errors`` (for the test to assert on) and the loop goes on."""

    def __init__(self, period: float = 0.3):
        super().__init__(daemon=True)
        self.period = period
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def step(self) -> None:
        raise NotImplementedError

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.step()
            except Exception as e:  # noqa: BLE001 - recorded and asserted by the test
                self.errors.append(repr(e))
            self.stop.wait(self.period)


def cpu_hpa(ns: str, name: str, max_replicas: int, utilization: int = 50) -> dict[str, Any]:
    """An autoscaling/v2 HorizontalPodAutoscaler of Deployment ``name`` on CPU utilization, with
    no scale-down stabilization (so a test sees scale-downs at once)."""
    return {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                 "minReplicas": 1, "maxReplicas": max_replicas,
                 "metrics": [{"type": "Resource", "resource": {
                     "name": "cpu", "target": {"type": "Utilization", "averageUtilization": utilization}}}],
                 "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}}},
    }

def free_port() -> int:
    """A free TCP port on 127.0.0.1 (bound and released: a tiny race, acceptable for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def rfc3339(t: _dt.datetime) -> str:
    return t.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def already_exists(r: subprocess.CompletedProcess) -> bool:
    """Whether a failed ``kubectl create`` failed only because the object is already there.

    kubectl says so in two ways, and only the first carries the API's reason ``AlreadyExists``:

    - ``Error from server (AlreadyExists): namespaces "x" already exists`` (``create -f``,
      ``create namespace``: the API's Status printed as is);
    - ``error: failed to create serviceaccount: serviceaccounts "x" already exists``
      (``create serviceaccount`` and other generators wrap the API's error in their own).

    Both end with the API's message ``<resource> "<name>" already exists``.
    """
    return r.returncode != 0 and re.search(r'"[^"]*" already exists$', r.stderr, re.MULTILINE) is not None


def _run(cmd: Sequence[str], **kw: Any) -> subprocess.CompletedProcess:
    r = subprocess.run(list(cmd), capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise HarnessError(f"command failed ({r.returncode}): {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")
    return r


def tail(path: Path, n: int = LOG_TAIL_LINES) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "(no log file)"
    return "\n".join(lines[-n:])


# --------------------------------------------------------------------------------------------
# certificates (openssl CLI)
# --------------------------------------------------------------------------------------------
class Certs:
    """All key material of one run, as files in ``dir``."""

    def __init__(self, d: Path):
        self.dir = d
        d.mkdir(parents=True, exist_ok=True)
        self._ext = 0

    def p(self, name: str) -> Path:
        return self.dir / name

    def _key(self, name: str) -> Path:
        key = self.p(f"{name}.key")
        _run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key)])
        return key

    def ca(self, name: str, cn: str) -> None:
        key = self._key(name)
        _run(
            ["openssl", "req", "-x509", "-new", "-key", str(key), "-out", str(self.p(f"{name}.crt")),
             "-days", "3", "-subj", f"/CN={cn}", "-sha256",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
             "-addext", "subjectKeyIdentifier=hash"]
        )

    def leaf(
        self,
        name: str,
        ca: str,
        subject: str,
        *,
        client: bool = False,
        server: bool = False,
        dns: Iterable[str] = (),
        ips: Iterable[str] = (),
    ) -> None:
        key = self._key(name)
        csr = self.p(f"{name}.csr")
        _run(["openssl", "req", "-new", "-key", str(key), "-out", str(csr), "-subj", subject])
        usages = [u for u, on in (("serverAuth", server), ("clientAuth", client)) if on]
        ext = [
            "basicConstraints=critical,CA:FALSE",
            "keyUsage=critical,digitalSignature",
            f"extendedKeyUsage={','.join(usages)}",
            "authorityKeyIdentifier=keyid",
        ]
        sans = [f"DNS:{d}" for d in dns] + [f"IP:{i}" for i in ips]
        if sans:
            ext.append("subjectAltName=" + ",".join(sans))
        self._ext += 1
        extfile = self.p(f"ext-{self._ext}.cnf")
        extfile.write_text("\n".join(ext) + "\n")
        _run(
            ["openssl", "x509", "-req", "-in", str(csr), "-CA", str(self.p(f"{ca}.crt")),
             "-CAkey", str(self.p(f"{ca}.key")), "-CAcreateserial", "-days", "2", "-sha256",
             "-extfile", str(extfile), "-out", str(self.p(f"{name}.crt"))]
        )
        csr.unlink()

    def rsa_pair(self, name: str) -> None:
        key = self.p(f"{name}.key")
        _run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key)])
        _run(["openssl", "pkey", "-in", str(key), "-pubout", "-out", str(self.p(f"{name}.pub"))])

    def generate(self) -> "Certs":
        self.ca("ca", "kubemetrics-e2e-ca")
        self.leaf(
            "apiserver", "ca", "/CN=kube-apiserver", server=True,
            dns=["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                 "kubernetes.default.svc.cluster.local"],
            ips=[LOOPBACK, "10.0.0.1"],
        )
        self.leaf("admin", "ca", "/O=system:masters/CN=admin", client=True)
        self.ca("front-proxy-ca", "kubemetrics-e2e-front-proxy-ca")
        self.leaf("front-proxy-client", "front-proxy-ca", "/CN=front-proxy-client", client=True)
        self.rsa_pair("sa")
        self.leaf(
            "metrics-server", "ca", "/CN=metrics-server", server=True,
            dns=["metrics-server.kube-system.svc", "localhost"], ips=[LOOPBACK],
        )
        return self

    # convenient names
    @property
    def ca_crt(self) -> Path:
        return self.p("ca.crt")

    @property
    def metrics_server_cert(self) -> tuple[Path, Path]:
        """(cert, key) of the serving cert for an aggregated API server (signed by the cluster CA)."""
        return self.p("metrics-server.crt"), self.p("metrics-server.key")

    @property
    def front_proxy_ca_crt(self) -> Path:
        return self.p("front-proxy-ca.crt")


# --------------------------------------------------------------------------------------------
# processes
# --------------------------------------------------------------------------------------------
def _die_with_parent() -> None:
    """preexec: ask Linux to SIGTERM the child if the test process dies without cleaning up."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort; stop() is the real cleanup
        pass


class Proc:
    def __init__(self, name: str, argv: list[str], log: Path, env: Mapping[str, str] | None = None):
        self.name, self.argv, self.log = name, argv, log
        self._fh = open(log, "ab")
        self.popen = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=self._fh, stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None, start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        self.pid = self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGTERM)
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._fh.close()


# --------------------------------------------------------------------------------------------
# the control plane
# --------------------------------------------------------------------------------------------
class ControlPlane:
    """etcd + kube-apiserver (+ optional kube-controller-manager) on 127.0.0.1, one temp dir per run."""

    def __init__(self, *, keep: bool | None = None, startup_timeout: float = 180.0,
                 extra_apiserver_args: Sequence[str] = ()):
        self.bin = ensure_binaries()
        self.keep = keep if keep is not None else os.environ.get("KM_E2E_KEEP") == "1"
        self.startup_timeout = startup_timeout
        self.extra_apiserver_args = list(extra_apiserver_args)
        self.dir: Path | None = None
        self.procs: dict[str, Proc] = {}
        self.failed = False
        self.etcd_port = self.etcd_peer_port = self.port = 0
        self._atexit_registered = False
        self._dir_handled = False

    # ---- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> "ControlPlane":
        try:
            self.start()
        except BaseException:
            self.failed = True
            self.stop()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            self.failed = True
        self.stop()
        return False

    @property
    def server(self) -> str:
        return f"https://{LOOPBACK}:{self.port}"

    @property
    def kubeconfig(self) -> Path:
        assert self.dir is not None
        return self.dir / "admin.kubeconfig"

    def start(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="kubemetrics-e2e-"))
        self._dir_handled = False
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True
        _LIVE.add(self)
        _install_sigterm_handler()
        (self.dir / "logs").mkdir()
        self.certs = Certs(self.dir / "pki").generate()
        self.kubectl_cache = self.dir / "kubectl-cache"
        self._start_etcd()
        self._start_apiserver()
        self._write_kubeconfig(self.kubeconfig)
        self._wait_apiserver()

    def stop(self) -> None:
        if self.failed and self.procs:
            self.dump_logs()  # before stopping, so the states shown are the real ones
        # reverse start order: controller-manager, apiserver, etcd
        for name in reversed(list(self.procs)):
            try:
                self.procs[name].stop()
            except Exception as e:  # keep stopping the others
                print(f"[e2e] stopping {name} (pid {self.procs[name].pid}): {e}", file=sys.stderr)
        self.procs = {}
        if self.dir is not None and not self._dir_handled:
            self._dir_handled = True
            if self.keep or (self.failed and os.environ.get("KM_E2E_KEEP_ON_FAILURE") == "1"):
                print(f"[e2e] kept control-plane dir {self.dir}", file=sys.stderr)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)

    def logs_text(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of every process's log, with pid and state."""
        out = []
        for name, p in self.procs.items():
            state = "running" if p.alive() else f"exited {p.popen.returncode}"
            out.append(f"===== {name} (pid {p.pid}, {state}) last {lines} lines of {p.log} =====\n"
                       f"{tail(p.log, lines)}")
        return "\n".join(out)

    def dump_logs(self, lines: int = LOG_TAIL_LINES) -> None:
        print("\n" + self.logs_text(lines), file=sys.stderr, flush=True)

    def _spawn(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> Proc:
        assert self.dir is not None
        (self.dir / "logs" / f"{name}.cmd").write_text(" \\\n  ".join(argv) + "\n")
        p = Proc(name, argv, self.dir / "logs" / f"{name}.log", env=env)
        self.procs[name] = p
        return p

    def spawn(self, name: str, argv: Sequence[str], *, wait_for: str | None = None, timeout: float = 60,
              env: Mapping[str, str] | None = None) -> tuple[Proc, "re.Match[str] | None"]:
        """Start another process tracked like the control plane's own: its stdout and stderr go to
        ``logs/<name>.log``, it is stopped by PID (before kube-apiserver) when the plane stops, and
        its log tail is in the failure report. ``wait_for``: a regex to wait for in its log (the
        match is returned), e.g. ``r"serving on (\\S+)"``. The environment is ours without ``KUBECONFIG``,
        plus ``NO_COLOR=1`` (plain logs) and ``env``."""
        if name in self.procs and self.procs[name].alive():
            raise HarnessError(f"{name} already running (pid {self.procs[name].pid})")
        base = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}  # never a real cluster's
        p = self._spawn(name, [str(a) for a in argv], env={**base, "NO_COLOR": "1", **(env or {})})
        if wait_for is None:
            return p, None
        found: list[re.Match[str]] = []

        def check() -> bool:
            m = re.search(wait_for, p.log.read_text(errors="replace"))
            if m:
                found.append(m)
            return m is not None

        self._wait(f"{name} to log {wait_for!r}", p, check, timeout)
        return p, found[0]

    def stop_process(self, name: str) -> None:
        """Stop one process started by :meth:`spawn` (by PID) and forget it."""
        p = self.procs.pop(name, None)
        if p is not None:
            p.stop()

    def _wait(self, what: str, proc: Proc, check, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if not proc.alive():
                raise HarnessError(f"{proc.name} exited with {proc.popen.returncode} while waiting for {what}"
                                   f"\n--- {proc.log} ---\n{tail(proc.log)}")
            try:
                if check():
                    return
            except Exception as e:  # noqa: BLE001 - anything means "not yet"
                last = e
            time.sleep(0.5)
        raise HarnessError(f"timed out after {timeout}s waiting for {what} (last error: {last})"
                           f"\n--- {proc.log} ---\n{tail(proc.log)}")

    # ---- etcd -----------------------------------------------------------------------------
    def _start_etcd(self) -> None:
        assert self.dir is not None
        self.etcd_port, self.etcd_peer_port = free_port(), free_port()
        client = f"http://{LOOPBACK}:{self.etcd_port}"
        peer = f"http://{LOOPBACK}:{self.etcd_peer_port}"
        p = self._spawn("etcd", [
            str(self.bin / "etcd"),
            "--name=e2e",
            f"--data-dir={self.dir / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=e2e={peer}",
            "--initial-cluster-state=new",
            "--unsafe-no-fsync",
            "--log-level=warn",
        ])

        def healthy() -> bool:
            with urllib.request.urlopen(f"{client}/health", timeout=2) as r:
                return json.load(r).get("health") == "true"

        self._wait("etcd /health", p, healthy, 60)

    # ---- kube-apiserver -------------------------------------------------------------------
    def _start_apiserver(self) -> None:
        assert self.dir is not None
        c = self.certs
        self.port = free_port()
        argv = [
            str(self.bin / "kube-apiserver"),
            f"--etcd-servers=http://{LOOPBACK}:{self.etcd_port}",
            f"--bind-address={LOOPBACK}",
            f"--advertise-address={LOOPBACK}",
            f"--secure-port={self.port}",
            "--endpoint-reconciler-type=none",
            f"--cert-dir={self.dir / 'apiserver-certs'}",
            f"--tls-cert-file={c.p('apiserver.crt')}",
            f"--tls-private-key-file={c.p('apiserver.key')}",
            f"--client-ca-file={c.p('ca.crt')}",
            "--authorization-mode=RBAC",
            "--disable-admission-plugins=ServiceAccount",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--service-account-issuer=https://kubernetes.default.svc",
            f"--service-account-key-file={c.p('sa.pub')}",
            f"--service-account-signing-key-file={c.p('sa.key')}",
            # aggregation layer
            f"--requestheader-client-ca-file={c.p('front-proxy-ca.crt')}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={c.p('front-proxy-client.crt')}",
            f"--proxy-client-key-file={c.p('front-proxy-client.key')}",
            "--enable-aggregator-routing=false",
            "--profiling=false",
            *self.extra_apiserver_args,
        ]
        self._spawn("kube-apiserver", argv)

    def _wait_apiserver(self) -> None:
        p = self.procs["kube-apiserver"]
        self._wait("kube-apiserver /readyz", p,
                   lambda: self.api("GET", "/readyz", raw=True) == b"ok", self.startup_timeout)
        # the system namespaces are created by a controller shortly after /readyz
        self._wait("namespace kube-system", p,
                   lambda: self.api("GET", "/api/v1/namespaces/kube-system")["metadata"]["name"] == "kube-system",
                   60)

    def _ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.certs.ca_crt))
        ctx.load_cert_chain(str(self.certs.p("admin.crt")), str(self.certs.p("admin.key")))
        return ctx

    def api(self, method: str, path: str, body: Any = None, *, raw: bool = False,
            content_type: str = "application/json", timeout: float = 10) -> Any:
        """A request to the apiserver as admin (system:masters). JSON in and out unless raw."""
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(self.server + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        with urllib.request.urlopen(req, context=self._ssl_context(), timeout=timeout) as r:
            out = r.read()
        return out if raw else json.loads(out)

    def _write_kubeconfig(self, path: Path, user: str = "admin") -> None:
        c = self.certs
        cfg = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "e2e", "cluster": {"server": self.server,
                                                     "certificate-authority": str(c.ca_crt)}}],
            "users": [{"name": user, "user": {"client-certificate": str(c.p("admin.crt")),
                                              "client-key": str(c.p("admin.key"))}}],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": user}}],
            "current-context": "e2e",
        }
        path.write_text(json.dumps(cfg, indent=2) + "\n")  # JSON is valid YAML for kubectl
        path.chmod(0o600)

    # ---- kube-controller-manager ----------------------------------------------------------
    def start_controller_manager(self, controllers: Sequence[str] = ("horizontalpodautoscaling",),
                                 extra_args: Sequence[str] = (), wait: bool = True) -> Proc:
        """Start kube-controller-manager with only ``controllers`` (system:masters kubeconfig)."""
        if "kube-controller-manager" in self.procs and self.procs["kube-controller-manager"].alive():
            raise HarnessError("kube-controller-manager already running")
        assert self.dir is not None
        kc = self.dir / "controller-manager.kubeconfig"
        self._write_kubeconfig(kc, user="controller-manager")
        argv = [
            str(self.bin / "kube-controller-manager"),
            f"--kubeconfig={kc}",
            f"--controllers={','.join(controllers)}",
            "--leader-elect=false",
            "--secure-port=0",
            "--horizontal-pod-autoscaler-sync-period=2s",
            "--use-service-account-credentials=false",
            *extra_args,
        ]
        p = self._spawn("kube-controller-manager", argv)
        if wait:
            def started() -> bool:
                return "Started controller" in p.log.read_text(errors="replace")
            self._wait("kube-controller-manager to start its controllers", p, started, 90)
        return p

    # ---- kubectl --------------------------------------------------------------------------
    def kubectl(self, *args: str, version: str | None = None, check: bool = True,
                input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run the real kubectl (``version`` e.g. "1.33" picks ``kubectl.1.33``) against this cluster.

        Uses a per-run ``--cache-dir`` (per kubectl version); returns CompletedProcess (text).
        """
        exe = kubectl_binary(version)
        cache = self.kubectl_cache / (version or "default")
        cmd = [exe, f"--kubeconfig={self.kubeconfig}", f"--cache-dir={cache}", *args]
        env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
        env["KUBECONFIG"] = str(self.kubeconfig)
        r = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout, env=env)
        if check and r.returncode != 0:
            raise HarnessError(f"kubectl failed ({r.returncode}): {' '.join(cmd)}\n"
                               f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}")
        return r

    def create_if_absent(self, *args: str, input: str | None = None) -> bool:
        """``kubectl create ARGS``: True if it created the object, False if it already existed.

        Any other failure raises HarnessError (see :func:`already_exists`).
        """
        r = self.kubectl("create", *args, input=input, check=False)
        if r.returncode == 0:
            return True
        if already_exists(r):
            return False
        raise HarnessError(f"kubectl create {' '.join(args)} failed ({r.returncode}): {r.stderr}")

    def invalidate_discovery_cache(self) -> None:
        """Forget kubectl's discovery cache (after APIServices change)."""
        shutil.rmtree(self.kubectl_cache, ignore_errors=True)

    def apply_json(self, obj: Mapping[str, Any], *verb: str) -> subprocess.CompletedProcess:
        return self.kubectl(*(verb or ("create",)), "-f", "-", "-o", "json", input=json.dumps(obj))

    def get_json(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def ensure_namespace(self, ns: str) -> None:
        self.create_if_absent("namespace", ns)

    # ---- objects --------------------------------------------------------------------------
    def create_node(self, name: str, kubelet_port: int = 10250, cpu: str = "2", memory: str = "4Gi",
                    labels: Mapping[str, str] | None = None, pods: str = "110") -> dict:
        """A Node with InternalIP 127.0.0.1, the given kubelet port, capacity == allocatable, Ready."""
        now = rfc3339(_dt.datetime.now(_dt.timezone.utc))
        resources = {"cpu": cpu, "memory": memory, "pods": pods}
        status = {
            "addresses": [{"type": "InternalIP", "address": LOOPBACK}, {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": int(kubelet_port)}},
            "capacity": resources,
            "allocatable": resources,
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "e2e fake node", "lastHeartbeatTime": now,
                            "lastTransitionTime": now}],
            "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux", "kubeletVersion": "v1.33.0",
                         "kubeProxyVersion": "", "machineID": "", "systemUUID": "", "bootID": "",
                         "kernelVersion": "", "osImage": "e2e", "containerRuntimeVersion": ""},
        }
        node = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                                  **(labels or {})}},
            "status": status,
        }
        created = json.loads(self.apply_json(node).stdout)
        got = created.get("status", {})
        if got.get("addresses") != status["addresses"] or \
                got.get("daemonEndpoints", {}).get("kubeletEndpoint", {}).get("Port") != int(kubelet_port):
            # create dropped (part of) the status: set it through the status subresource
            self.kubectl("patch", "node", name, "--subresource=status", "--type=merge",
                         "-p", json.dumps({"status": status}))
            created = self.get_json("node", name)
        return created

    def create_pod(self, ns: str, name: str, node: str | None,
                   containers: Sequence[Mapping[str, Any]] = ({"name": "app", "cpu": "100m", "memory": "64Mi"},),
                   labels: Mapping[str, str] | None = None) -> dict:
        """A Pod bound to ``node`` (spec.nodeName); containers: dicts name, cpu, memory[, image]."""
        self.ensure_namespace(ns)
        spec_containers = []
        for c in containers:
            requests = {k: str(c[k]) for k in ("cpu", "memory") if c.get(k) is not None}
            spec_containers.append({
                "name": c["name"],
                "image": c.get("image", "registry.k8s.io/pause:3.10"),
                "resources": {"requests": requests} if requests else {},
            })
        pod = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": dict(labels or {})},
            "spec": {"containers": spec_containers, "terminationGracePeriodSeconds": 0,
                     "automountServiceAccountToken": False},
        }
        if node:
            pod["spec"]["nodeName"] = node
        return json.loads(self.apply_json(pod).stdout)

    def mark_pod_running(self, ns: str, name: str, started_seconds_ago: int = 300) -> dict:
        """Patch the status subresource: Running, all containers running and ready, back-dated start."""
        pod = self.get_json("pod", name, "-n", ns)
        start = rfc3339(_dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(seconds=started_seconds_ago))
        conds = [{"type": t, "status": "True", "lastTransitionTime": start}
                 for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")]
        statuses = [{
            "name": c["name"], "image": c["image"], "imageID": "", "ready": True, "started": True,
            "restartCount": 0, "state": {"running": {"startedAt": start}},
        } for c in pod["spec"]["containers"]]
        status = {
            "phase": "Running", "conditions": conds, "startTime": start, "containerStatuses": statuses,
            "hostIP": LOOPBACK, "hostIPs": [{"ip": LOOPBACK}],
        }
        self.kubectl("patch", "pod", name, "-n", ns, "--subresource=status", "--type=merge",
                     "-p", json.dumps({"status": status}))
        return self.get_json("pod", name, "-n", ns)

    def delete_pod(self, ns: str, name: str) -> None:
        """Bound pods never finish graceful deletion without a kubelet: force it."""
        self.kubectl("delete", "pod", name, "-n", ns, "--grace-period=0", "--force", "--ignore-not-found")

    def register_apiservice(self, group: str, version: str, port: int,
                            ca_bundle_or_insecure: bool | str | bytes | Path | None = None, *,
                            service: str = "metrics-server", namespace: str = "kube-system",
                            group_priority_minimum: int = 100, version_priority: int = 100,
                            wait_available: bool = False, timeout: float = 60) -> dict:
        """An ExternalName Service (externalName: localhost) + APIService ``<version>.<group>`` on ``port``.

        ``ca_bundle_or_insecure``: True -> insecureSkipTLSVerify; PEM str/bytes or a Path -> caBundle;
        None (default) -> the cluster CA, which signed ``certs.metrics_server_cert``.
        The aggregator then dials https://localhost:<port> with TLS ServerName <service>.<namespace>.svc.
        """
        self.ensure_namespace(namespace)
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": service, "namespace": namespace},
               "spec": {"type": "ExternalName", "externalName": "localhost"}}
        self.create_if_absent("-f", "-", input=json.dumps(svc))
        spec: dict[str, Any] = {
            "group": group, "version": version,
            "service": {"name": service, "namespace": namespace, "port": int(port)},
            "groupPriorityMinimum": group_priority_minimum, "versionPriority": version_priority,
        }
        if ca_bundle_or_insecure is True:
            spec["insecureSkipTLSVerify"] = True
        else:
            src = ca_bundle_or_insecure if ca_bundle_or_insecure is not None else self.certs.ca_crt
            pem = Path(src).read_bytes() if isinstance(src, Path) else (
                src.encode() if isinstance(src, str) else src)
            spec["caBundle"] = base64.b64encode(pem).decode()
        name = f"{version}.{group}"
        apisvc = {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                  "metadata": {"name": name}, "spec": spec}
        self.kubectl("apply", "-f", "-", input=json.dumps(apisvc))
        self.invalidate_discovery_cache()
        if wait_available:
            self.kubectl("wait", "--for=condition=Available", f"apiservice/{name}", f"--timeout={int(timeout)}s",
                         timeout=timeout + 30)
        return self.get_json("apiservice", name)
