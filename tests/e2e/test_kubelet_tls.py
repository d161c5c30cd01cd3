"""`kubemetrics serve` scraping kubelets over real HTTPS (issue #4), on a real control plane.

One control plane for the module; on it two ``kubemetrics simulate`` fleets serving HTTPS on 127.0.0.1
with a certificate of a private kubelet CA (IP SAN 127.0.0.1), as kubelets do on port 10250:

- fleet ``a`` (2 nodes): serving certificate only;
- fleet ``b`` (1 node): also ``--client-ca-file`` of a separate client CA, so (like a kubelet with
  ``--anonymous-auth=false``) a request without a client certificate of that CA gets 401;
- fleet ``c`` (2 nodes): a self-signed serving certificate that is also a CA (IP SAN 127.0.0.1, what
  kubelet generates without ``--tls-cert-file``), which operators pin with
  ``--kubelet-certificate-authority`` (issue 17).

Their nodes carry the label ``e2e.kubemetrics.io/fleet=a|b``; one ``kubemetrics serve`` per kubelet flag set
(``--node-selector`` picks its fleet), all started at once by the module fixture, as admin, queried
directly over HTTPS with the admin client certificate (no APIService):

| serve | flags | expected |
| --- | --- | --- |
| ``ca`` | ``--kubelet-certificate-authority=<kubelet CA>`` | exact numbers |
| ``wrong-ca`` | ``--kubelet-certificate-authority=<cluster CA>`` | ``scrape_errors_total{class="tls"}``, log says UnknownIssuer |
| ``insecure`` | ``--kubelet-insecure-tls`` | exact numbers |
| ``default`` | none: verification is the default (the kubeconfig's CA, as metrics-server) | class ``tls`` |
| ``no-client-cert`` | right CA, no client certificate | class ``auth`` (HTTP 401: the handshake succeeds) |
| ``client-cert`` | right CA, ``--kubelet-client-certificate/--kubelet-client-key`` of the client CA | exact numbers |
| ``pinned`` | fleet ``c``, ``--kubelet-certificate-authority=<its self-signed certificate>`` | exact numbers (as Go's crypto/x509 accepts it) |
| ``pinned-wrong-ca`` | fleet ``c``, ``--kubelet-certificate-authority=<kubelet CA>`` | class ``tls``, log says UnknownIssuer |

The pinned shape is also given to the real metrics-server (Go), which serves fleet ``c`` too.

Credentials taken from the kubeconfig (its CA, client certificate, token or token file) are
covered by ``test_kubelet_credentials.py``.

Run: python3 -m pytest tests/e2e/test_kubelet_tls.py -q -p no:cacheprovider
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness import LOOPBACK, ControlPlane, free_port
from metrics_stack import (
    TIMINGS, Serve, Simulator, build_kubemetrics, create_running_pod, ensure_namespace, expected_node, https_get,
    wait_until,
)

GV = "/apis/metrics.k8s.io/v1beta1"
LABEL = "e2e.kubemetrics.io/fleet"
RESOLUTION_S = 2


@dataclass
class Stack:
    cp: ControlPlane
    sims: dict[str, Simulator]
    serves: dict[str, Serve]
    kubelet_ca: Path
    pinned: Path


def _start_fleet(cp: ControlPlane, binary: Path, fleet: str, *, nodes: int, pods: int, containers: int, seed: int,
                 extra: list[str]) -> Simulator:
    proc, m = cp.spawn(f"kubemetrics-simulate-{fleet}", [
        binary, "simulate", f"--nodes={nodes}", f"--pods-per-node={pods}", f"--containers-per-pod={containers}",
        "--namespaces=2", f"--seed={seed}", f"--node-name-prefix=tls-{fleet}-", "--control-port=0", *extra,
    ], wait_for=r"serving on (http://127\.0\.0\.1:\d+)")
    assert m is not None
    sim = Simulator(proc, m.group(1))
    for n in sim.inventory():
        assert n["scheme"] == "https" and n["address"] == LOOPBACK, n
        cp.create_node(n["name"], kubelet_port=n["port"], cpu=f"{n['cpu_capacity_millicores']}m",
                       memory=str(n["memory_capacity_bytes"]), labels={**n["labels"], LABEL: fleet})
        for p in n["pods"]:
            ensure_namespace(cp, p["namespace"])
            create_running_pod(cp, p["namespace"], p["name"], n["name"], p["containers"], p["labels"])
    return sim


def _start_serve(cp: ControlPlane, binary: Path, name: str, fleet: str, kubelet_flags: list[str]) -> Serve:
    cert, key = cp.certs.metrics_server_cert
    proc, m = cp.spawn(f"kubemetrics-serve-{name}", [
        binary, "serve", "--bind-address=127.0.0.1", "--secure-port=0",
        f"--tls-cert-file={cert}", f"--tls-private-key-file={key}", f"--client-ca-file={cp.certs.ca_crt}",
        f"--requestheader-client-ca-file={cp.certs.front_proxy_ca_crt}",
        "--requestheader-allowed-names=front-proxy-client", "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group", "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        f"--kubeconfig={cp.kubeconfig}", f"--node-selector={LABEL}={fleet}",
        "--kubelet-preferred-address-types=InternalIP", "--kubelet-use-node-status-port",
        f"--metric-resolution={RESOLUTION_S}s", "--node-grace-period=15s", "--kubelet-request-timeout=2s",
        *kubelet_flags,
    ], wait_for=r"serving on (https://127\.0\.0\.1:\d+)")
    assert m is not None
    return Serve(proc, m.group(1), cp.kubeconfig)


def _self_signed_kubelet_cert(d: Path, name: str, ip: str) -> tuple[Path, Path]:
    """A kubelet-style self-signed serving certificate that is also a CA: (cert, key)."""
    key, crt = d / f"{name}.key", d / f"{name}.crt"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key)],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-x509", "-new", "-key", str(key), "-out", str(crt), "-days", "3", "-sha256",
                    "-subj", f"/CN={ip}@1700000000",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
                    "-addext", "extendedKeyUsage=serverAuth",
                    "-addext", f"subjectAltName=IP:{ip}"], check=True, capture_output=True)
    return crt, key


@pytest.fixture(scope="module")
def stack(cp: ControlPlane, request: pytest.FixtureRequest):
    t0 = time.monotonic()
    binary = build_kubemetrics()
    c = cp.certs
    c.ca("kubelet-ca", "kubemetrics-e2e-kubelet-ca")
    c.leaf("kubelet-serving", "kubelet-ca", "/CN=kubelet", server=True, ips=[LOOPBACK])
    c.ca("kubelet-client-ca", "kubemetrics-e2e-kubelet-client-ca")
    c.leaf("kubelet-client", "kubelet-client-ca", "/CN=system:metrics-server", client=True)
    serving = [f"--tls-cert-file={c.p('kubelet-serving.crt')}", f"--tls-private-key-file={c.p('kubelet-serving.key')}"]
    pinned_crt, pinned_key = _self_signed_kubelet_cert(c.dir, "kubelet-self-signed", LOOPBACK)
    sims = {
        "a": _start_fleet(cp, binary, "a", nodes=2, pods=2, containers=2, seed=21, extra=serving),
        "b": _start_fleet(cp, binary, "b", nodes=1, pods=2, containers=1, seed=22,
                          extra=[*serving, f"--client-ca-file={c.p('kubelet-client-ca.crt')}"]),
        "c": _start_fleet(cp, binary, "c", nodes=2, pods=2, containers=2, seed=23,
                          extra=[f"--tls-cert-file={pinned_crt}", f"--tls-private-key-file={pinned_key}"]),
    }
    ca = f"--kubelet-certificate-authority={c.p('kubelet-ca.crt')}"
    client = [f"--kubelet-client-certificate={c.p('kubelet-client.crt')}",
              f"--kubelet-client-key={c.p('kubelet-client.key')}"]
    variants = {
        "ca": ("a", [ca]),
        "wrong-ca": ("a", [f"--kubelet-certificate-authority={c.ca_crt}"]),
        "insecure": ("a", ["--kubelet-insecure-tls"]),
        "default": ("a", []),
        "no-client-cert": ("b", [ca]),
        "client-cert": ("b", [ca, *client]),
        "pinned": ("c", [f"--kubelet-certificate-authority={pinned_crt}"]),
        "pinned-wrong-ca": ("c", [ca]),
    }
    serves = {name: _start_serve(cp, binary, name, fleet, flags) for name, (fleet, flags) in variants.items()}
    yield Stack(cp, sims, serves, c.p("kubelet-ca.crt"), pinned_crt)
    TIMINGS.append(f"{request.node.name}: setup and tests {time.monotonic() - t0:.1f}")


# ---------------------------------------------------------------------------------------------
def _get(stack: Stack, serve: str, path: str) -> Any:
    c = stack.cp.certs
    status, body = https_get(stack.serves[serve].url + path, ca=c.ca_crt, cert=(c.p("admin.crt"), c.p("admin.key")))
    assert status == 200, (serve, path, status, body)
    return body


def _scrape_errors(stack: Stack, serve: str) -> dict[tuple[str, str], int]:
    """(node, class) -> count, from serve's own /metrics."""
    text = _get(stack, serve, "/metrics")
    return {(m.group(2), m.group(1)): int(m.group(3)) for m in re.finditer(
        r'^kubemetrics_scrape_errors_total\{class="(\w+)",node="([^"]+)"\} (\d+)$', text, re.M)}


def _nanocores(q: str) -> int:
    """A CPU quantity as served (``123n``, ``4u``, ``300m``, ``2``) in nanocores, exactly."""
    for suffix, mult in (("n", 1), ("u", 1000), ("m", 10**6)):
        if q.endswith(suffix):
            return int(q[:-1]) * mult
    return int(q) * 10**9


def _memory(q: str) -> int:
    for suffix, mult in (("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30)):
        if q.endswith(suffix):
            return int(q[:-2]) * mult
    return int(q)


def _exact(stack: Stack, serve: str, fleet: str) -> bool:
    """Every node and container of the fleet is served with exactly the simulated numbers."""
    inv = stack.sims[fleet].inventory()
    nodes = {m["metadata"]["name"]: m["usage"] for m in _get(stack, serve, GV + "/nodes")["items"]}
    if set(nodes) != {n["name"] for n in inv}:
        return False
    for n in inv:
        cpu, mem = expected_node(n)
        assert (_nanocores(nodes[n["name"]]["cpu"]), _memory(nodes[n["name"]]["memory"])) == (cpu * 10**6, mem), \
            (serve, n["name"], nodes[n["name"]])
    pods = {(m["metadata"]["namespace"], m["metadata"]["name"]): {c["name"]: c["usage"] for c in m["containers"]}
            for m in _get(stack, serve, GV + "/pods")["items"]}
    want = {(p["namespace"], p["name"]): {c["name"]: c for c in p["containers"]} for n in inv for p in n["pods"]}
    if set(pods) != set(want):
        return False
    for key, containers in want.items():
        assert set(pods[key]) == set(containers), (serve, key, pods[key])
        for name, c in containers.items():
            got = pods[key][name]
            assert (_nanocores(got["cpu"]), _memory(got["memory"])) == (c["cpu_millicores"] * 10**6, c["memory_bytes"]), \
                (serve, key, name, got, c)
    return True


def _fails_with(stack: Stack, serve: str, fleet: str, cls: str) -> None:
    """Every node of the fleet fails with error class ``cls`` and no other; nothing is served."""
    names = {n["name"] for n in stack.sims[fleet].inventory()}
    errors = wait_until(f"{serve}: scrape errors of class {cls} for {sorted(names)}",
                        lambda: (e := _scrape_errors(stack, serve)) and {n for n, _ in e} == names and e, 20, 0.3)
    assert {c for _, c in errors} == {cls}, errors
    assert _get(stack, serve, GV + "/nodes")["items"] == []
    # still failing on later cycles, never served
    time.sleep(RESOLUTION_S + 0.5)
    assert _get(stack, serve, GV + "/nodes")["items"] == []
    assert {c for _, c in _scrape_errors(stack, serve)} == {cls}


def _log(stack: Stack, serve: str) -> str:
    return stack.serves[serve].proc.log.read_text(errors="replace")


def _failure_lines(stack: Stack, serve: str) -> list[str]:
    return [ln for ln in _log(stack, serve).splitlines() if "failed to scrape node" in ln]


# ---------------------------------------------------------------------------------------------
def _serves_exactly(stack: Stack, serve: str, sim: str, what: str) -> None:
    """``serve`` comes to serve ``sim``'s exact numbers, with no scrape error counted or logged."""
    wait_until(f"exact numbers {what}", lambda: _exact(stack, serve, sim), 30, 0.3)
    assert _scrape_errors(stack, serve) == {}
    assert _failure_lines(stack, serve) == []


def test_kubelet_ca_verifies_and_numbers_are_exact(stack: Stack):
    _serves_exactly(stack, "ca", "a", "from the HTTPS kubelets (--kubelet-certificate-authority)")
    # the kubelets did serve HTTPS: the simulator counted our requests
    assert all(n["requests"] >= 2 for n in stack.sims["a"].inventory())


def test_another_ca_fails_with_class_tls_and_a_clear_log_line(stack: Stack):
    _fails_with(stack, "wrong-ca", "a", "tls")
    lines = _failure_lines(stack, "wrong-ca")
    assert lines, _log(stack, "wrong-ca")
    line = lines[0]
    assert "WARN" in line and re.search(r'class="?tls"?', line), line
    assert re.search(r"GET https://127\.0\.0\.1:\d+/metrics/resource: .*invalid peer certificate: UnknownIssuer", line), line
    assert "--kubelet-certificate-authority" in line and "--kubelet-insecure-tls" in line, line


def test_insecure_tls_works_again(stack: Stack):
    wait_until("exact numbers with --kubelet-insecure-tls", lambda: _exact(stack, "insecure", "a"), 30, 0.3)
    assert _scrape_errors(stack, "insecure") == {}


def test_verification_is_the_default(stack: Stack):
    # No --kubelet-certificate-authority and no --kubelet-insecure-tls: the serving certificate is still
    # verified (against the kubeconfig's cluster CA, which did not sign the private kubelet CA) and refused.
    _fails_with(stack, "default", "a", "tls")
    assert any("UnknownIssuer" in ln for ln in _failure_lines(stack, "default"))


def test_kubelet_requiring_client_certs_answers_401_without_one(stack: Stack):
    # The kubelet only *requests* a client certificate (Go's tls.RequestClientCert): the handshake
    # succeeds and the request is refused with 401, so the class is auth, not tls.
    _fails_with(stack, "no-client-cert", "b", "auth")
    line = _failure_lines(stack, "no-client-cert")[0]
    assert re.search(r'class="?auth"?', line), line
    assert re.search(r"GET https://127\.0\.0\.1:\d+/metrics/resource: HTTP 401 Unauthorized", line), line
    assert "--kubelet-client-certificate" in line, line


def test_kubelet_client_certificate_is_accepted(stack: Stack):
    _serves_exactly(stack, "client-cert", "b", "with --kubelet-client-certificate/--kubelet-client-key")


def test_a_pinned_self_signed_kubelet_certificate_is_trusted(stack: Stack):
    # Issue 17: the kubelet serves its own self-signed certificate, which is a CA, and
    # --kubelet-certificate-authority points at that very certificate. Go's crypto/x509
    # (metrics-server) trusts a certificate found among its roots; so does kubemetrics now.
    _serves_exactly(stack, "pinned", "c", "from kubelets serving the pinned self-signed certificate")
    assert all(n["requests"] >= 2 for n in stack.sims["c"].inventory())


def test_a_self_signed_kubelet_certificate_not_pinned_fails_with_class_tls(stack: Stack):
    _fails_with(stack, "pinned-wrong-ca", "c", "tls")
    line = _failure_lines(stack, "pinned-wrong-ca")[0]
    assert re.search(r"invalid peer certificate: UnknownIssuer", line), line
    assert "--kubelet-certificate-authority" in line, line


def test_metrics_server_accepts_the_same_pinned_certificate(stack: Stack, metrics_server_bin: Path):
    # The reference: the real metrics-server (Go crypto/x509) with the same flag serves fleet c.
    cp, c = stack.cp, stack.cp.certs
    cert, key = c.metrics_server_cert
    port = free_port()
    proc, _ = cp.spawn("metrics-server-pinned", [
        metrics_server_bin, f"--bind-address={LOOPBACK}", f"--secure-port={port}",
        f"--tls-cert-file={cert}", f"--tls-private-key-file={key}", f"--client-ca-file={c.ca_crt}",
        f"--kubeconfig={cp.kubeconfig}", f"--authentication-kubeconfig={cp.kubeconfig}",
        f"--authorization-kubeconfig={cp.kubeconfig}", f"--node-selector={LABEL}=c",
        "--kubelet-preferred-address-types=InternalIP", "--kubelet-use-node-status-port", "--metric-resolution=10s",
        "--kubelet-request-timeout=2s",
        f"--kubelet-certificate-authority={stack.pinned}",
    ], wait_for=r"[Ss]erving securely on")
    try:
        names = {n["name"] for n in stack.sims["c"].inventory()}

        def served() -> bool:
            status, body = https_get(f"https://{LOOPBACK}:{port}{GV}/nodes", ca=c.ca_crt,
                                     cert=(c.p("admin.crt"), c.p("admin.key")))
            return status == 200 and {m["metadata"]["name"] for m in body["items"]} == names

        wait_until("metrics-server serving fleet c through the pinned certificate", served, 60, 1)
        log = proc.log.read_text(errors="replace")
        assert "Failed to scrape node" not in log and "x509:" not in log, log[-4000:]
    finally:
        cp.stop_process("metrics-server-pinned")
