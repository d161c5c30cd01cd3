"""Shared fixtures: the built kubemetrics binary, certificates made with openssl, a loopback
API server (for TokenReview/SubjectAccessReview), and `kubemetrics serve` on 127.0.0.1."""

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / (os.environ.get("CARGO_TARGET_DIR") or "target") / "debug" / "kubemetrics"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d: Path, name: str) -> None:
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.crt", cwd=d)


def make_cert(d: Path, ca: str, name: str, subj: str, ext: str) -> None:
    (d / f"{name}.ext").write_text(ext)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subj, "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=d)


@pytest.fixture(scope="session")
def certs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("certs")
    for ca in ("serving-ca", "client-ca", "front-proxy-ca", "other-ca"):
        make_ca(d, ca)
    client = "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n"
    make_cert(d, "serving-ca", "serving", "/CN=metrics-server",
              "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
              "subjectAltName=DNS:metrics-server.kube-system.svc,DNS:localhost,IP:127.0.0.1\n")
    make_cert(d, "client-ca", "admin", "/CN=carol/O=system:masters", client)
    make_cert(d, "client-ca", "dave", "/CN=dave/O=team-d", client)
    make_cert(d, "front-proxy-ca", "front-proxy", "/CN=front-proxy-client", client)
    make_cert(d, "front-proxy-ca", "evil-proxy", "/CN=evil-proxy", client)
    make_cert(d, "other-ca", "stranger", "/CN=stranger/O=system:masters", client)
    return d


class Proc:
    """A child process whose first stdout line is `serving on URL`; stopped by PID."""

    def __init__(self, args, env=None):
        self.log = open(os.devnull, "w")
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        line = self.p.stdout.readline()
        if not line.startswith("serving on "):
            if line == "":  # stdout closed: the process is exiting; wait for it to say why
                try:
                    self.p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
            err = self.p.stderr.read() if self.p.poll() is not None else ""
            self.stop()
            raise RuntimeError(f"{args[0]} did not start: {line!r} {err}")
        self.url = line.split()[-1]

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


@pytest.fixture(scope="session")
def binary() -> Path:
    subprocess.run(["cargo", "build", "-q", "-p", "kubemetrics-cli"], cwd=ROOT, check=True)
    return BIN


@pytest.fixture(scope="session")
def loopback_api(binary, tmp_path_factory):
    d = tmp_path_factory.mktemp("loopback")
    kubeconfig = d / "kubeconfig"
    proc = Proc([str(binary), "loopback-api", "--write-kubeconfig", str(kubeconfig)])
    yield proc, kubeconfig
    proc.stop()


def start_server(binary, certs, kubeconfig, *extra):
    port = free_port()
    args = [str(binary), "serve", "--fixture-metrics", "--bind-address", "127.0.0.1", "--secure-port", str(port),
            "--tls-cert-file", str(certs / "serving.crt"), "--tls-private-key-file", str(certs / "serving.key"),
            "--client-ca-file", str(certs / "client-ca.crt"),
            "--requestheader-client-ca-file", str(certs / "front-proxy-ca.crt"),
            "--requestheader-allowed-names", "front-proxy-client",
            "--kubeconfig", str(kubeconfig), *extra]
    proc = Proc(args)
    proc.port = port
    return proc


@pytest.fixture(scope="session")
def server(binary, certs, loopback_api):
    proc = start_server(binary, certs, loopback_api[1])
    yield proc
    proc.stop()
