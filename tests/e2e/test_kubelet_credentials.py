"""Kubelet credentials taken from the kubeconfig, as metrics-server takes them (issue 17, task 3).

Without ``--kubelet-*`` TLS flags, metrics-server's kubelet client is a copy of its REST config:
it trusts the kubeconfig's CA, presents its client certificate and sends its bearer token.
``kubemetrics serve`` does the same, and explicit ``--kubelet-*`` flags win. On a real control
plane, three ``kubemetrics simulate`` fleets serve HTTPS with a serving certificate signed by the
*cluster* CA (as kubelet serving certificates issued through the cluster's CSR API are):

- fleet ``ca``: no client authentication;
- fleet ``cert``: ``--client-ca-file`` = the cluster CA (the admin kubeconfig's certificate passes);
- fleet ``token``: ``--require-token`` = a service account's bound token.

| serve | kubeconfig | kubelet flags | expected |
| --- | --- | --- | --- |
| ``inherit-ca`` | admin (CA file, client cert) | none | exact numbers from fleet ``ca`` |
| ``inherit-cert`` | admin | none | exact numbers from fleet ``cert`` |
| ``inherit-token`` | token (inline) | none | exact numbers from fleet ``token`` |
| ``inherit-token-file`` | token (``tokenFile``) | none | exact numbers from fleet ``token`` |
| ``flag-ca-wins`` | admin | ``--kubelet-certificate-authority`` of another CA | class ``tls`` |
| ``flag-cert-wins`` | admin | ``--kubelet-client-certificate`` of another CA | class ``auth`` (401) |
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from harness import LOOPBACK, ControlPlane
from metrics_stack import TIMINGS, Serve, build_kubemetrics, service_account_token, token_kubeconfig, wait_until
from test_kubelet_tls import LABEL, RESOLUTION_S, Stack, _exact, _fails_with, _failure_lines, _scrape_errors, _start_fleet

SA = "km-e2e-kubelet-creds"


def _serve(cp: ControlPlane, binary: Path, name: str, fleet: str, kubeconfig: Path, kubelet_flags: list[str]) -> Serve:
    cert, key = cp.certs.metrics_server_cert
    proc, m = cp.spawn(f"kubemetrics-serve-{name}", [
        binary, "serve", "--bind-address=127.0.0.1", "--secure-port=0",
        f"--tls-cert-file={cert}", f"--tls-private-key-file={key}", f"--client-ca-file={cp.certs.ca_crt}",
        f"--requestheader-client-ca-file={cp.certs.front_proxy_ca_crt}",
        f"--kubeconfig={kubeconfig}", f"--node-selector={LABEL}={fleet}",
        "--kubelet-preferred-address-types=InternalIP", "--kubelet-use-node-status-port",
        f"--metric-resolution={RESOLUTION_S}s", "--node-grace-period=15s", "--kubelet-request-timeout=2s",
        *kubelet_flags,
    ], wait_for=r"serving on (https://127\.0\.0\.1:\d+)")
    assert m is not None
    return Serve(proc, m.group(1), kubeconfig)


@pytest.fixture(scope="module")
def stack(cp: ControlPlane, request: pytest.FixtureRequest):
    t0 = time.monotonic()
    binary = build_kubemetrics()
    c = cp.certs
    # Kubelet serving certificates signed by the cluster CA, which the kubeconfigs trust.
    c.leaf("kubelet-serving-cluster", "ca", "/CN=kubelet", server=True, ips=[LOOPBACK])
    c.ca("kubelet-other-ca", "kubemetrics-e2e-other-ca")
    c.leaf("other-client", "kubelet-other-ca", "/CN=system:metrics-server", client=True)
    # A service account that may read nodes and pods (serve's watches) and whose token the
    # token fleet requires.
    token = service_account_token(cp, "kube-system", SA)
    r = cp.kubectl("create", "clusterrolebinding", SA, "--clusterrole=cluster-admin", f"--serviceaccount=kube-system:{SA}", check=False)
    assert r.returncode == 0 or "AlreadyExists" in r.stderr, r.stderr
    token_kc = token_kubeconfig(cp, c.p("token.kubeconfig"), token, SA)
    c.p("sa.token").write_text(token)  # no newline: kube-rs sends a token file as it is
    file_kc = c.p("token-file.kubeconfig")
    doc = json.loads(token_kc.read_text())
    doc["users"][0]["user"] = {"tokenFile": str(c.p("sa.token"))}
    file_kc.write_text(json.dumps(doc))
    file_kc.chmod(0o600)

    serving = [f"--tls-cert-file={c.p('kubelet-serving-cluster.crt')}", f"--tls-private-key-file={c.p('kubelet-serving-cluster.key')}"]
    sims = {
        "ca": _start_fleet(cp, binary, "ca", nodes=1, pods=2, containers=2, seed=31, extra=serving),
        "cert": _start_fleet(cp, binary, "cert", nodes=1, pods=2, containers=1, seed=32, extra=[*serving, f"--client-ca-file={c.ca_crt}"]),
        "token": _start_fleet(cp, binary, "token", nodes=1, pods=1, containers=2, seed=33, extra=[*serving, f"--require-token={token}"]),
    }
    admin = cp.kubeconfig
    variants = {
        "inherit-ca": ("ca", admin, []),
        "inherit-cert": ("cert", admin, []),
        "inherit-token": ("token", token_kc, []),
        "inherit-token-file": ("token", file_kc, []),
        "flag-ca-wins": ("ca", admin, [f"--kubelet-certificate-authority={c.p('kubelet-other-ca.crt')}"]),
        "flag-cert-wins": ("cert", admin, [f"--kubelet-client-certificate={c.p('other-client.crt')}",
                                           f"--kubelet-client-key={c.p('other-client.key')}"]),
    }
    serves = {name: _serve(cp, binary, name, fleet, kc, flags) for name, (fleet, kc, flags) in variants.items()}
    yield Stack(cp, sims, serves, c.ca_crt, pinned=c.ca_crt)  # no pinned-certificate shape here
    TIMINGS.append(f"{request.node.name}: setup and tests {time.monotonic() - t0:.1f}")


def test_kubeconfig_ca_verifies_kubelets(stack: Stack):
    wait_until("exact numbers verifying kubelets with the kubeconfig's CA", lambda: _exact(stack, "inherit-ca", "ca"), 30, 0.3)
    assert _scrape_errors(stack, "inherit-ca") == {}


def test_kubeconfig_client_certificate_authenticates_to_kubelets(stack: Stack):
    wait_until("exact numbers with the kubeconfig's client certificate", lambda: _exact(stack, "inherit-cert", "cert"), 30, 0.3)
    assert _scrape_errors(stack, "inherit-cert") == {}


def test_kubeconfig_token_and_token_file_authenticate_to_kubelets(stack: Stack):
    for serve in ("inherit-token", "inherit-token-file"):
        wait_until(f"exact numbers with the kubeconfig's token ({serve})", lambda: _exact(stack, serve, "token"), 30, 0.3)
        assert _scrape_errors(stack, serve) == {}
    assert all(n["requests"] >= 2 for n in stack.sims["token"].inventory())


def test_explicit_kubelet_flags_win_over_the_kubeconfig(stack: Stack):
    _fails_with(stack, "flag-ca-wins", "ca", "tls")
    assert any("UnknownIssuer" in ln for ln in _failure_lines(stack, "flag-ca-wins"))
    _fails_with(stack, "flag-cert-wins", "cert", "auth")
