"""The harness's own plumbing, checked without a control plane (seconds, no binaries needed).

- ``build-control-plane.sh`` run twice at once on one cache: the runs take turns (a flock in the cache
  dir), the second logs that it waits and then skips what the first built. A fake ``go`` on PATH stands in
  for the Go toolchain, so nothing is downloaded or compiled; the cache is a scratch directory.
- ``service_account_token(create=True)`` for a ServiceAccount that already exists: the real kubectl,
  against a stand-in API server on 127.0.0.1 that answers 409 as kube-apiserver does, says
  ``failed to create serviceaccount: serviceaccounts "x" already exists`` (no ``AlreadyExists``); that
  must count as "already there", while other failures still raise.
- ``build-helm.sh`` likewise: two runs at once take turns and build once; the binary's own ``version``
  must equal the pinned version, else nothing is installed.

Run: python3 -m pytest tests/e2e/test_harness_offline.py -q
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from harness import BUILD_SCRIPT, HELM_BUILD_SCRIPT, LOOPBACK, ControlPlane, HarnessError, already_exists, helm_version
from fake_metrics_server import send_json
from metrics_stack import service_account_token

# --------------------------------------------------------------------------------------------
# build-control-plane.sh: one run at a time per cache
# --------------------------------------------------------------------------------------------
# Enough of `go` for build_k8s: `env GOVERSION`, `mod download -json` (the path of a go.mod requiring
# one staging module at v0.0.0), `get`, and `build -o OUT`, which writes OUT at once (as the linker
# creates its output early) and then takes a while, logging when it starts and ends.
FAKE_GO = r"""#!/bin/sh
case "$1" in
  env) echo go1.25.0 ;;
  mod) printf '{\n\t"Path": "k8s.io/kubernetes",\n\t"GoMod": "%s"\n}\n' "$FAKE_GO_MOD" ;;
  get) ;;
  build)
    out=""
    while [ $# -gt 0 ]; do
      if [ "$1" = -o ]; then out="$2"; shift; fi
      shift
    done
    echo "start $$" >>"$FAKE_GO_LOG"
    printf '#!/bin/sh\necho "Kubernetes fake"\n' >"$out"
    chmod +x "$out"
    sleep "$FAKE_GO_SECONDS"
    echo "end $$" >>"$FAKE_GO_LOG"
    ;;
  *) echo "fake go: unexpected: $*" >&2; exit 2 ;;
esac
"""

FAKE_KUBERNETES_GO_MOD = "module k8s.io/kubernetes\n\ngo 1.24.0\n\nrequire (\n\tk8s.io/api v0.0.0\n)\n"


def _fake_toolchain(tmp_path: Path) -> dict[str, str]:
    tools = tmp_path / "tools"
    tools.mkdir()
    go = tools / "go"
    go.write_text(FAKE_GO)
    go.chmod(0o755)
    gomod = tmp_path / "kubernetes.go.mod"
    gomod.write_text(FAKE_KUBERNETES_GO_MOD)
    env = dict(os.environ)
    env.update({
        "PATH": f"{tools}{os.pathsep}{env.get('PATH', '')}",
        "KM_CACHE_DIR": str(tmp_path / "cache"),
        "FAKE_GO_MOD": str(gomod),
        "FAKE_GO_LOG": str(tmp_path / "go-builds.log"),
        "FAKE_GO_SECONDS": "2",
    })
    return env


def _assert_took_turns(procs: list[subprocess.Popen], tmp_path: Path, script: str, skipped: str) -> None:
    """Both runs of ``script`` succeeded, exactly one waited for the other's lock and said so (and
    then found ``skipped`` built), and the fake go built once."""
    outputs = [p.communicate(timeout=60) for p in procs]
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, f"exit {p.returncode}\n{err}"
    stderrs = [err for _, err in outputs]
    waited = [e for e in stderrs if re.search(rf"another {script} run is using .*; waiting for it to finish", e)]
    assert len(waited) == 1, "exactly one run had to wait, and said so:\n" + "\n-----\n".join(stderrs)
    assert re.search(rf"{skipped} already built: .* \(skip\)", waited[0]), waited[0]
    builds = [line.split()[0] for line in (tmp_path / "go-builds.log").read_text().splitlines()]
    assert builds == ["start", "end"], f"one build, not two: {builds}"


def _start_build(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(["bash", str(BUILD_SCRIPT), "kube-apiserver"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.skipif(shutil.which("flock") is None, reason="flock(1) is not installed")
def test_two_builds_at_once_take_turns(tmp_path: Path):
    env = _fake_toolchain(tmp_path)
    _assert_took_turns([_start_build(env), _start_build(env)], tmp_path, "build-control-plane", r"kube-apiserver v[\d.]+")
    binary = tmp_path / "cache" / "bin" / "kube-apiserver"
    assert subprocess.run([str(binary)], capture_output=True, text=True).stdout == "Kubernetes fake\n"
    assert not (tmp_path / "cache" / "bin" / "kube-apiserver.tmp").exists()


@pytest.mark.skipif(shutil.which("flock") is None, reason="flock(1) is not installed")
def test_a_lone_build_does_not_wait(tmp_path: Path):
    env = _fake_toolchain(tmp_path)
    env["FAKE_GO_SECONDS"] = "0"
    r = subprocess.run(["bash", str(BUILD_SCRIPT), "kube-apiserver"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert "waiting" not in r.stderr
    assert "built kube-apiserver" in r.stderr


# --------------------------------------------------------------------------------------------
# service_account_token(create=True) when the ServiceAccount exists
# --------------------------------------------------------------------------------------------
class _StandInApi(http.server.ThreadingHTTPServer):
    """Plain HTTP on 127.0.0.1: ServiceAccount creation (409 for ``existing``, 403 for ``forbidden``) and
    TokenRequests (token ``token-of-<name>``), with kube-apiserver's Status bodies."""

    def __init__(self, existing: set[str], forbidden: set[str]):
        self.existing, self.forbidden = existing, forbidden
        super().__init__((LOOPBACK, 0), _StandInHandler)


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def _message_fields(buf: bytes) -> dict[int, bytes]:
    """The length-delimited fields of one protobuf message, by number (first occurrence)."""
    fields: dict[int, bytes] = {}
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            _, i = _varint(buf, i)
        elif wire_type == 2:
            n, i = _varint(buf, i)
            fields.setdefault(number, buf[i:i + n])
            i += n
        else:
            raise ValueError(f"unexpected protobuf wire type {wire_type}")
    return fields


def _created_name(content_type: str, body: bytes) -> str:
    """metadata.name of a created object, sent as JSON or as Kubernetes protobuf (kubectl's choice for
    core types): the magic ``k8s\\0``, then runtime.Unknown whose field 2 is the object, whose field 1 is
    its ObjectMeta, whose field 1 is the name."""
    if "protobuf" in content_type:
        assert body[:4] == b"k8s\x00", body[:4]
        return _message_fields(_message_fields(_message_fields(body[4:])[2])[1])[1].decode()
    return json.loads(body)["metadata"]["name"]


class _StandInHandler(http.server.BaseHTTPRequestHandler):
    server: _StandInApi

    def log_message(self, format, *args):  # noqa: A002 - keep pytest's output clean
        pass

    def _json(self, code: int, body: dict) -> None:
        send_json(self, code, body)

    def _status(self, code: int, reason: str, message: str) -> None:
        self._json(code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                          "message": message, "reason": reason, "code": code})

    def do_GET(self):
        if self.path.split("?")[0] == "/version":
            self._json(200, {"major": "1", "minor": "33", "gitVersion": "v1.33.0"})
        else:
            self._status(404, "NotFound", "the server could not find the requested resource")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.split("?")[0]
        m = re.fullmatch(r"/api/v1/namespaces/([^/]+)/serviceaccounts(?:/([^/]+)/token)?", path)
        if m is None:
            return self._status(404, "NotFound", "the server could not find the requested resource")
        namespace, token_of = m.groups()
        if token_of is not None:
            return self._json(201, {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                                    "metadata": {"name": token_of, "namespace": namespace},
                                    "status": {"token": f"token-of-{token_of}",
                                               "expirationTimestamp": "2030-01-01T00:00:00Z"}})
        name = _created_name(self.headers.get("Content-Type", ""), body)
        if name in self.server.forbidden:
            return self._status(403, "Forbidden", f'serviceaccounts "{name}" is forbidden: not for you')
        if name in self.server.existing:
            return self._status(409, "AlreadyExists", f'serviceaccounts "{name}" already exists')
        self.server.existing.add(name)
        self._json(201, {"kind": "ServiceAccount", "apiVersion": "v1",
                         "metadata": {"name": name, "namespace": namespace}})


@pytest.fixture
def stand_in_plane(tmp_path: Path):
    """A ControlPlane whose kubectl talks to the stand-in API (nothing of the real control plane runs)."""
    api = _StandInApi(existing={"metrics-server"}, forbidden={"not-mine"})
    threading.Thread(target=api.serve_forever, daemon=True).start()
    plane = ControlPlane.__new__(ControlPlane)  # no binaries, no processes: only its kubectl runner
    plane.dir = tmp_path
    plane.kubectl_cache = tmp_path / "kubectl-cache"
    plane.kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "stand-in", "cluster": {"server": f"http://{LOOPBACK}:{api.server_port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "stand-in", "context": {"cluster": "stand-in", "user": "u"}}],
        "current-context": "stand-in",
    }))
    plane.api = lambda *args, **kwargs: {}  # metrics_stack.ensure_namespace: the namespace "exists"
    try:
        yield plane, api
    finally:
        api.shutdown()
        api.server_close()


def test_service_account_token_when_the_account_exists(stand_in_plane):
    plane, api = stand_in_plane
    r = plane.kubectl("create", "serviceaccount", "metrics-server", "-n", "kube-system", check=False)
    assert r.returncode == 1 and "AlreadyExists" not in r.stderr, "kubectl's wording this test is about: " + r.stderr
    assert 'serviceaccounts "metrics-server" already exists' in r.stderr
    assert already_exists(r)
    assert service_account_token(plane, "kube-system", "metrics-server") == "token-of-metrics-server"
    # A new account is created, then a second call finds it there.
    assert service_account_token(plane, "ns", "viewer") == "token-of-viewer"
    assert "viewer" in api.existing
    assert service_account_token(plane, "ns", "viewer") == "token-of-viewer"


def test_other_create_failures_still_raise(stand_in_plane):
    plane, _ = stand_in_plane
    with pytest.raises(HarnessError, match=r'serviceaccounts "not-mine" is forbidden'):
        service_account_token(plane, "ns", "not-mine")
    assert plane.create_if_absent("serviceaccount", "fresh", "-n", "ns") is True
    assert plane.create_if_absent("serviceaccount", "fresh", "-n", "ns") is False


def test_already_exists_reads_both_wordings():
    def failed(stderr: str, code: int = 1) -> subprocess.CompletedProcess:
        return subprocess.CompletedProcess(["kubectl"], code, "", stderr)

    assert already_exists(failed('Error from server (AlreadyExists): namespaces "web" already exists\n'))
    assert already_exists(failed('error: failed to create serviceaccount: serviceaccounts "viewer" already exists\n'))
    assert not already_exists(failed('Error from server (Forbidden): serviceaccounts "x" is forbidden\n'))
    assert not already_exists(failed('serviceaccounts "x" already exists\n', code=0))


# --------------------------------------------------------------------------------------------
# build-helm.sh: one run at a time per cache, the version stamped in the binary
# --------------------------------------------------------------------------------------------
# Enough of `go` for build-helm.sh: `env GOVERSION`, `get`, and `build ... -ldflags LD ... -o OUT PKG`,
# which writes a "helm" that prints the version the ldflags set (as the real one's `version --template`
# does) and then takes a while, logging when it starts and ends.
FAKE_GO_FOR_HELM = r"""#!/bin/sh
case "$1" in
  env) echo go1.26.0 ;;
  get) ;;
  build)
    out="" ld=""
    while [ $# -gt 0 ]; do
      case "$1" in
        -o) out="$2"; shift ;;
        -ldflags) ld="$2"; shift ;;
      esac
      shift
    done
    v="$(printf '%s\n' "$ld" | tr ' ' '\n' | sed -n 's|^helm.sh/helm/v4/internal/version.version=||p')"
    echo "start $$" >>"$FAKE_GO_LOG"
    printf '#!/bin/sh\nprintf %%s "%s"\n' "$v" >"$out"
    chmod +x "$out"
    sleep "$FAKE_GO_SECONDS"
    echo "end $$" >>"$FAKE_GO_LOG"
    ;;
  *) echo "fake go: unexpected: $*" >&2; exit 2 ;;
esac
"""


def _fake_go_for_helm(tmp_path: Path, seconds: str = "2") -> dict[str, str]:
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "go").write_text(FAKE_GO_FOR_HELM)
    (tools / "go").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "KM_HELM_VERSION"}
    env.update({
        "PATH": f"{tools}{os.pathsep}{env.get('PATH', '')}",
        "KM_CACHE_DIR": str(tmp_path / "cache"),
        "FAKE_GO_LOG": str(tmp_path / "go-builds.log"),
        "FAKE_GO_SECONDS": seconds,
        "KM_BUILD_PARALLEL": "1",  # the build-times line below says p=1 (CI would default to every core)
    })
    return env


def _helm_build(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(["bash", str(HELM_BUILD_SCRIPT)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.skipif(shutil.which("flock") is None, reason="flock(1) is not installed")
def test_two_helm_builds_at_once_take_turns(tmp_path: Path):
    env = _fake_go_for_helm(tmp_path)
    _assert_took_turns([_helm_build(env), _helm_build(env)], tmp_path, "build-helm", r"helm v4\.\d+\.\d+")
    bin_dir = tmp_path / "cache" / "bin"
    assert (bin_dir / "helm.version").read_text().strip() == helm_version()
    assert subprocess.run([str(bin_dir / "helm")], capture_output=True, text=True).stdout == helm_version()
    assert not (bin_dir / "helm.tmp").exists()
    times = (tmp_path / "cache" / "build-times.log").read_text()
    assert re.search(rf"^\S+ helm {re.escape(helm_version())} \d+s go=go1\.26\.0 p=1 ", times, re.M), times


@pytest.mark.skipif(shutil.which("flock") is None, reason="flock(1) is not installed")
def test_helm_build_refuses_a_binary_of_another_version(tmp_path: Path):
    env = _fake_go_for_helm(tmp_path, seconds="0")
    env["KM_HELM_VERSION"] = "v4.0.0"
    (tmp_path / "tools" / "go").write_text(FAKE_GO_FOR_HELM.replace('printf %%s "%s"', 'printf %%s "v4.0.0-%s"'))
    r = subprocess.run(["bash", str(HELM_BUILD_SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "the built helm says it is 'v4.0.0-v4.0.0', not v4.0.0" in r.stderr, r.stderr
    assert not (tmp_path / "cache" / "bin" / "helm").exists()
