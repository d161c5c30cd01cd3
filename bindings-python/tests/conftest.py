"""Fixtures: a real loopback Kubernetes API server (`kubemetrics loopback-api`) per session, and
`kubemetrics serve --custom-metrics-push` (the custom and external metrics APIs) over TLS with
certificates made by openssl."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

BINDING = Path(__file__).resolve().parent.parent
REPO = BINDING.parent


def cli_path() -> Path:
    """The `kubemetrics` CLI built by `cargo build -p kubemetrics-cli` (or $KM_CLI)."""
    explicit = os.environ.get("KM_CLI")
    if explicit:
        return Path(explicit)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "debug" / "kubemetrics"


@dataclass
class Loopback:
    """A running `kubemetrics loopback-api` process."""

    url: str
    kubeconfig: Path
    process: subprocess.Popen[str]

    def control(self, path: str) -> None:
        """PUT /_loopback/<path> (e.g. `fault/hang`, `metrics-api/off`)."""
        req = urllib.request.Request(f"{self.url}/_loopback/{path}", method="PUT", data=b"")
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as resp:
            body: bytes = resp.read()
            return body

    def cli_json(self, *args: str) -> Any:
        """Runs `kubemetrics ARGS --kubeconfig K -o json` and parses its output."""
        out = subprocess.run(
            [str(cli_path()), *args, "--kubeconfig", str(self.kubeconfig), "-o", "json"],
            check=True, capture_output=True, text=True, timeout=60,
        )
        return json.loads(out.stdout)


def start_loopback(tmp: Path, *extra: str) -> Loopback:
    cli = cli_path()
    if not cli.exists():
        pytest.fail(f"{cli} is missing: run `cargo build -p kubemetrics-cli` first")
    kubeconfig = tmp / "kubeconfig"
    process = subprocess.Popen(
        [str(cli), "loopback-api", "--write-kubeconfig", str(kubeconfig), *extra],
        stdout=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    prefix = "serving on "
    if not first.startswith(prefix):
        process.kill()
        pytest.fail(f"unexpected first line from loopback-api: {first!r}")
    return Loopback(url=first[len(prefix):], kubeconfig=kubeconfig, process=process)


def stop_loopback(server: Loopback) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def loopback_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loopback]:
    server = start_loopback(tmp_path_factory.mktemp("loopback"))
    yield server
    stop_loopback(server)


@pytest.fixture
def loopback(loopback_server: Loopback) -> Iterator[Loopback]:
    """The session's loopback server, reset to no fault and a served Metrics API."""
    loopback_server.control("fault/none")
    loopback_server.control("metrics-api/on")
    yield loopback_server
    loopback_server.control("fault/none")
    loopback_server.control("metrics-api/on")


@pytest.fixture
def kubeconfig(loopback: Loopback) -> str:
    return str(loopback.kubeconfig)


@pytest.fixture
def closed_port_kubeconfig(tmp_path: Path) -> str:
    """A kubeconfig pointing at a loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path / "closed"
    path.write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
        f"    server: http://127.0.0.1:{port}\ncontexts:\n- name: c\n  context:\n    cluster: c\n"
        "    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: t\n"
    )
    return str(path)


# -- kubemetrics serve --custom-metrics-push ------------------------------------------------------


def openssl(cwd: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_cert(d: Path, ca: str, name: str, subject: str, ext: str) -> None:
    """A key and a certificate `name.{key,crt}` signed by the CA `ca.{key,crt}`."""
    (d / f"{name}.ext").write_text(ext)
    openssl(d, "req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", f"{name}.key", "-out", f"{name}.csr")
    openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt")


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A serving CA and certificate for 127.0.0.1, and a client CA with carol (system:masters)."""
    if not shutil.which("openssl"):
        pytest.fail("openssl is needed to make the certificates of `kubemetrics serve`")
    d = tmp_path_factory.mktemp("certs")
    for ca in ("serving-ca", "client-ca"):
        openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={ca}",
                "-keyout", f"{ca}.key", "-out", f"{ca}.crt")
    make_cert(d, "serving-ca", "serving", "/CN=metrics-server",
              "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n")
    make_cert(d, "client-ca", "carol", "/CN=carol/O=system:masters", "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
    return d


@dataclass
class MetricsServer:
    """A running `kubemetrics serve --custom-metrics-push`, and a kubeconfig reaching it as carol."""

    url: str
    kubeconfig: Path
    certs: Path
    process: subprocess.Popen[str]

    def _open(self, method: str, path: str) -> Any:
        context = ssl.create_default_context(cafile=str(self.certs / "serving-ca.crt"))
        context.load_cert_chain(str(self.certs / "carol.crt"), str(self.certs / "carol.key"))
        req = urllib.request.Request(f"{self.url}{path}", method=method, data=b"" if method == "PUT" else None)
        with urllib.request.urlopen(req, timeout=10, context=context) as resp:
            assert resp.status == 200
            return json.loads(resp.read())

    def push(self, path: str) -> None:
        """PUT /push/... (e.g. `custom/namespaces/web/pods/web-1/http_requests?value=10`)."""
        self._open("PUT", f"/push/{path}")

    def get(self, path: str) -> Any:
        """GET a path as carol, parsed."""
        return self._open("GET", path)


@pytest.fixture(scope="session")
def metrics_server(loopback_server: Loopback, certs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MetricsServer]:
    cli = cli_path()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [str(cli), "serve", "--fixture-metrics", "--custom-metrics-push", "--bind-address", "127.0.0.1",
         "--secure-port", str(port), "--tls-cert-file", str(certs / "serving.crt"),
         "--tls-private-key-file", str(certs / "serving.key"), "--client-ca-file", str(certs / "client-ca.crt"),
         "--kubeconfig", str(loopback_server.kubeconfig)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    if not first.startswith("serving on "):
        process.kill()
        pytest.fail(f"unexpected first line from kubemetrics serve: {first!r}")
    kubeconfig = tmp_path_factory.mktemp("custom") / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: ms\n  cluster:\n"
        f"    server: https://127.0.0.1:{port}\n    certificate-authority: {certs / 'serving-ca.crt'}\n"
        "contexts:\n- name: ms\n  context:\n    cluster: ms\n    user: carol\n    namespace: web\ncurrent-context: ms\n"
        f"users:\n- name: carol\n  user:\n    client-certificate: {certs / 'carol.crt'}\n    client-key: {certs / 'carol.key'}\n"
    )
    server = MetricsServer(url=f"https://127.0.0.1:{port}", kubeconfig=kubeconfig, certs=certs, process=process)
    yield server
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def venv_bin(name: str) -> str:
    """A tool of the running interpreter's environment (mypy, ...)."""
    import sys

    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)
