"""Fixtures: a real loopback Kubernetes API server (`kubemetrics loopback-api`) per session."""

from __future__ import annotations

import json
import os
import shutil
import socket
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


def venv_bin(name: str) -> str:
    """A tool of the running interpreter's environment (mypy, ...)."""
    import sys

    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)
