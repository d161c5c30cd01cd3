"""metrics-server flags that `kubemetrics serve` acts on (issue 17), checked with real clients
(curl, openssl) over loopback: CORS, HSTS, the address published in discovery, TLS versions,
suites and groups by Go name, port sharing, HTTP/2 switch-off, the separate authentication and
authorization kubeconfigs, and --version."""

import json
import re
import subprocess

import pytest

from conftest import Proc, free_port, start_server
from test_server import curl

NODES = "/apis/metrics.k8s.io/v1beta1/nodes"


def curl_headers(server, certs, path, *, method="GET", cert=None, headers=(), extra=()):
    """(status, headers dict lower-cased, body) of one request."""
    args = ["curl", "-sS", "-i", "-X", method, f"https://127.0.0.1:{server.port}{path}", "--cacert", str(certs / "serving-ca.crt"), *extra]
    if cert:
        args += ["--cert", str(certs / f"{cert}.crt"), "--key", str(certs / f"{cert}.key")]
    for h in headers:
        args += ["-H", h]
    out = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    head, _, body = out.stdout.replace("\r\n", "\n").partition("\n\n")
    lines = head.splitlines()
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body


def handshake(port, certs, *args):
    """openssl s_client with the given options; True when the handshake succeeded."""
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(certs / "serving-ca.crt"), "-brief", *args],
                         input="", capture_output=True, text=True, timeout=20)
    return out.returncode == 0 and "CONNECTION ESTABLISHED" in out.stderr


@pytest.fixture
def started():
    procs = []
    yield procs
    for p in procs:
        p.stop()


def test_cors_preflight_and_headers_like_the_api_server(binary, certs, loopback_api, started):
    s = start_server(binary, certs, loopback_api[1], r"--cors-allowed-origins=//ok\.example(:|$)",
                     "--strict-transport-security-directives=max-age=60,includeSubDomains")
    started.append(s)
    # Preflight from an allowed origin: 204 before authentication, with the API server's headers.
    status, h, _ = curl_headers(s, certs, NODES, method="OPTIONS", headers=["Origin: https://ok.example:8443"])
    assert status == 204
    assert h["access-control-allow-origin"] == "https://ok.example:8443"
    assert h["access-control-allow-methods"] == "POST, GET, OPTIONS, PUT, DELETE, PATCH"
    assert h["access-control-allow-headers"] == "Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token, Authorization, X-Requested-With, If-Modified-Since"
    assert h["access-control-expose-headers"] == "Date"
    assert h["access-control-allow-credentials"] == "true"
    assert h["strict-transport-security"] == "max-age=60; includeSubDomains"
    # An authenticated GET from the allowed origin carries them too.
    status, h, body = curl_headers(s, certs, NODES, cert="admin", headers=["Origin: https://ok.example"])
    assert status == 200 and json.loads(body)["kind"] == "NodeMetricsList"
    assert h["access-control-allow-origin"] == "https://ok.example"
    # Another origin gets none, and its preflight is not answered early (no anonymous 204).
    status, h, _ = curl_headers(s, certs, NODES, cert="admin", headers=["Origin: https://ok.example.evil"])
    assert status == 200 and "access-control-allow-origin" not in h
    status, h, _ = curl_headers(s, certs, NODES, method="OPTIONS", headers=["Origin: https://evil.example"])
    assert status != 204 and "access-control-allow-origin" not in h
    # Without an Origin header, HSTS only.
    status, h, _ = curl_headers(s, certs, "/livez")
    assert status == 200 and h["strict-transport-security"] == "max-age=60; includeSubDomains"
    assert "access-control-allow-origin" not in h


def test_advertise_address_and_external_hostname_are_published_in_discovery(binary, certs, loopback_api, started):
    s = start_server(binary, certs, loopback_api[1], "--advertise-address=10.96.0.7")
    started.append(s)
    code, body = curl(s, certs, "/apis", cert="admin")
    assert code == 200
    groups = json.loads(body)["groups"]
    assert groups[0]["serverAddressByClientCIDRs"] == [{"clientCIDR": "0.0.0.0/0", "serverAddress": f"10.96.0.7:{s.port}"}]
    assert body.index('"preferredVersion"') < body.index('"serverAddressByClientCIDRs"')
    e = start_server(binary, certs, loopback_api[1], "--advertise-address=10.96.0.7", "--external-hostname=metrics.example")
    started.append(e)
    code, body = curl(e, certs, "/apis", cert="admin")
    assert json.loads(body)["groups"][0]["serverAddressByClientCIDRs"][0]["serverAddress"] == f"metrics.example:{e.port}"


def test_tls_min_version_cipher_suites_and_curves_by_go_name(binary, certs, loopback_api, started):
    s13 = start_server(binary, certs, loopback_api[1], "--tls-min-version=VersionTLS13")
    started.append(s13)
    assert handshake(s13.port, certs, "-tls1_3")
    assert not handshake(s13.port, certs, "-tls1_2")
    s12 = start_server(binary, certs, loopback_api[1], "--tls-min-version=VersionTLS12",
                       "--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_RSA_WITH_AES_128_GCM_SHA256",
                       "--tls-curve-preferences=24")
    started.append(s12)
    assert handshake(s12.port, certs, "-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384")
    assert not handshake(s12.port, certs, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256")
    # TLS 1.3 suites stay enabled, as in Go; the key exchange is limited to P-384 (24).
    assert handshake(s12.port, certs, "-tls1_3", "-groups", "P-384")
    assert not handshake(s12.port, certs, "-tls1_3", "-groups", "X25519")
    bad = subprocess.run([str(binary), "serve", "--tls-cipher-suites=TLS_FOO"], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 1 and "Cipher suite TLS_FOO not supported or doesn't exist" in bad.stderr


def test_permit_port_sharing_lets_two_servers_share_the_port(binary, certs, loopback_api, started):
    first = start_server(binary, certs, loopback_api[1], "--permit-port-sharing")
    started.append(first)
    args = [str(binary), "serve", "--fixture-metrics", "--bind-address", "127.0.0.1", "--secure-port", str(first.port),
            "--tls-cert-file", str(certs / "serving.crt"), "--tls-private-key-file", str(certs / "serving.key"),
            "--client-ca-file", str(certs / "client-ca.crt"), "--requestheader-client-ca-file", str(certs / "front-proxy-ca.crt"),
            "--kubeconfig", str(loopback_api[1])]
    second = Proc(args + ["--permit-port-sharing", "--permit-address-sharing"])
    started.append(second)
    assert second.url.endswith(f":{first.port}")
    with pytest.raises(RuntimeError, match="Address already in use|cannot listen"):
        started.append(Proc(args))


def test_disable_http2_serving(binary, certs, loopback_api, started):
    def version(server):
        out = subprocess.run(["curl", "-sS", "--http2", "-o", "/dev/null", "-w", "%{http_version}", "--cacert", str(certs / "serving-ca.crt"),
                              f"https://127.0.0.1:{server.port}/livez"], capture_output=True, text=True, timeout=30)
        return out.stdout.strip()
    h2 = start_server(binary, certs, loopback_api[1])
    started.append(h2)
    h1 = start_server(binary, certs, loopback_api[1], "--disable-http2-serving")
    started.append(h1)
    assert version(h2) == "2"
    assert version(h1) == "1.1"


def dead_kubeconfig(loopback_kubeconfig, tmp_path):
    """The loopback kubeconfig pointed at a closed port."""
    text = loopback_kubeconfig.read_text()
    dead = re.sub(r"server: \S+", f"server: http://127.0.0.1:{free_port()}", text)
    path = tmp_path / "dead-kubeconfig"
    path.write_text(dead)
    return path


def test_authentication_and_authorization_kubeconfigs_are_used(binary, certs, loopback_api, started, tmp_path):
    dead = dead_kubeconfig(loopback_api[1], tmp_path)
    # TokenReview goes to --authentication-kubeconfig: a dead one refuses every token;
    # client certificates (no review) and SubjectAccessReview (through --kubeconfig) still work.
    authn = start_server(binary, certs, loopback_api[1], f"--authentication-kubeconfig={dead}")
    started.append(authn)
    assert curl(authn, certs, NODES, headers=["Authorization: Bearer alice-token"])[0] == 401
    assert curl(authn, certs, NODES, cert="admin")[0] == 200
    assert curl(authn, certs, NODES, cert="front-proxy", headers=["X-Remote-User: alice"])[0] == 200
    # SubjectAccessReview goes to --authorization-kubeconfig: a dead one allows nobody it must ask.
    authz = start_server(binary, certs, loopback_api[1], f"--authorization-kubeconfig={dead}")
    started.append(authz)
    assert curl(authz, certs, NODES, headers=["Authorization: Bearer alice-token"])[0] == 403
    assert curl(authz, certs, NODES, cert="front-proxy", headers=["X-Remote-User: alice"])[0] == 403
    assert curl(authz, certs, NODES, cert="admin")[0] == 200  # system:masters needs no review
    # Both pointing at the live cluster: as without them.
    live = start_server(binary, certs, loopback_api[1], f"--authentication-kubeconfig={loopback_api[1]}",
                        f"--authorization-kubeconfig={loopback_api[1]}")
    started.append(live)
    assert curl(live, certs, NODES, headers=["Authorization: Bearer alice-token"])[0] == 200


def test_version_exits_zero_with_the_version_alone(binary):
    out = subprocess.run([str(binary), "serve", "--version", "--secure-port=1"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and re.fullmatch(r"v\d+\.\d+\.\d+\S*\n", out.stdout), out


def test_authentication_lookup_failure_stops_the_start_unless_tolerated_or_skipped(binary, certs, loopback_api, tmp_path, started):
    # A cluster that cannot be reached: extension-apiserver-authentication cannot be read (an error,
    # unlike a missing ConfigMap, which the API server library, and kubemetrics, ignore).
    dead = dead_kubeconfig(loopback_api[1], tmp_path)

    def serve(*extra):
        # No --client-ca-file / --requestheader-client-ca-file: the ConfigMap is looked up.
        return [str(binary), "serve", "--fixture-metrics", "--bind-address", "127.0.0.1", "--secure-port", str(free_port()),
                "--tls-cert-file", str(certs / "serving.crt"), "--tls-private-key-file", str(certs / "serving.key"),
                "--kubeconfig", str(dead), *extra]

    strict = subprocess.run(serve(), capture_output=True, text=True, timeout=120)
    assert strict.returncode == 1
    assert "cannot read kube-system/extension-apiserver-authentication" in strict.stderr, strict.stderr
    assert "--authentication-tolerate-lookup-failure" in strict.stderr
    tolerant = Proc(serve("--authentication-tolerate-lookup-failure"))
    started.append(tolerant)
    skipped = Proc(serve("--authentication-skip-lookup"))
    started.append(skipped)
    # The live cluster has no such ConfigMap: not an error, as in the library.
    missing = Proc(serve()[:-2] + ["--kubeconfig", str(loopback_api[1])])
    started.append(missing)
