"""`kubemetrics serve` with real clients over loopback: curl, openssl, kubectl and the official
Python client, against the real TLS, authentication, authorization and routing stack
(serving the built-in fixture metrics)."""

import json
import shutil
import subprocess
import time

import pytest

from conftest import start_server

READYZ = """[+]ping ok
[+]log ok
[+]poststarthook/generic-apiserver-start-informers ok
[+]informer-sync ok
[+]poststarthook/max-in-flight-filter ok
[+]metric-storage-ready ok
[+]metadata-informer-sync ok
[+]shutdown ok
readyz check passed
"""

LIVEZ = """[+]ping ok
[+]log ok
[+]poststarthook/generic-apiserver-start-informers ok
[+]poststarthook/max-in-flight-filter ok
[+]metric-collection-timely ok
[+]metadata-informer-sync ok
livez check passed
"""


def curl(server, certs, path, *, cert=None, headers=(), cacert=True):
    args = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", f"https://127.0.0.1:{server.port}{path}"]
    args += ["--cacert", str(certs / "serving-ca.crt")] if cacert else ["-k"]
    if cert:
        args += ["--cert", str(certs / f"{cert}.crt"), "--key", str(certs / f"{cert}.key")]
    for h in headers:
        args += ["-H", h]
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode != 0:
        return None, out.stderr
    body, _, code = out.stdout.rpartition("\n")
    return int(code), body


def test_health_checks_match_metrics_server(server, certs):
    assert curl(server, certs, "/readyz?verbose") == (200, READYZ)
    assert curl(server, certs, "/livez?verbose") == (200, LIVEZ)
    assert curl(server, certs, "/healthz") == (200, "ok")
    # Always-allow paths match exactly, as in Kubernetes: sub-checks need credentials.
    assert curl(server, certs, "/readyz/ping")[0] == 401
    assert curl(server, certs, "/readyz/ping", cert="admin") == (200, "ok")
    assert curl(server, certs, "/readyz/metric-storage-ready", cert="admin") == (200, "ok")


def test_anonymous_requests_are_refused(server, certs):
    code, body = curl(server, certs, "/apis/metrics.k8s.io/v1beta1/nodes")
    assert code == 401
    status = json.loads(body)
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "Unauthorized", 401)
    assert curl(server, certs, "/metrics")[0] == 401


def test_client_certificate_users_read_every_path(server, certs):
    code, body = curl(server, certs, "/apis/metrics.k8s.io/v1beta1/nodes", cert="admin")
    assert code == 200
    nodes = json.loads(body)
    assert nodes["kind"] == "NodeMetricsList" and nodes["apiVersion"] == "metrics.k8s.io/v1beta1"
    assert [n["metadata"]["name"] for n in nodes["items"]] == ["node-a", "node-b"], "sorted by name"
    assert nodes["items"][0]["usage"] == {"cpu": "1630534153n", "memory": "8318172Ki"}
    assert nodes["items"][0]["metadata"]["labels"] == {"tier": "a", "zone": "z1"}
    code, body = curl(server, certs, "/apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods/etcd-node-a", cert="admin")
    assert code == 200 and json.loads(body)["containers"][0]["usage"]["memory"] == "60Mi"
    code, body = curl(server, certs, "/apis/metrics.k8s.io/v1beta1/pods?labelSelector=app%20in%20(web,redis)", cert="admin")
    assert [p["metadata"]["name"] for p in json.loads(body)["items"]] == ["batch-1"][:0] + ["redis-master-fsx46", "web-7f9c-abcde", "web-7f9c-fghij"]
    code, body = curl(server, certs, "/apis/metrics.k8s.io/v1beta1/pods?fieldSelector=metadata.namespace%3Dmonitoring", cert="admin")
    assert [p["metadata"]["name"] for p in json.loads(body)["items"]] == ["alertmanager-0", "prometheus-0"]
    code, body = curl(server, certs, "/apis/metrics.k8s.io/v1beta1/nodes/nope", cert="admin")
    assert code == 404
    assert json.loads(body)["message"] == 'nodemetrics.metrics.k8s.io "nope" not found'
    code, body = curl(server, certs, "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope", cert="admin")
    assert (code, json.loads(body)["message"]) == (404, 'podmetrics.metrics.k8s.io "default/nope" not found')


def test_front_proxy_identity_goes_through_subject_access_review(server, certs):
    allowed = curl(server, certs, "/apis/metrics.k8s.io/v1beta1/pods", cert="front-proxy", headers=["X-Remote-User: alice", "X-Remote-Group: team-a"])
    assert allowed[0] == 200
    code, body = curl(server, certs, "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods", cert="front-proxy", headers=["X-Remote-User: bob"])
    assert code == 403
    assert json.loads(body)["message"] == 'pods.metrics.k8s.io is forbidden: User "bob" cannot list resource "pods" in API group "metrics.k8s.io" in the namespace "default"'
    # The aggregator's availability check (no groups) must pass discovery.
    code, _ = curl(server, certs, "/apis/metrics.k8s.io/v1beta1", cert="front-proxy", headers=["X-Remote-User: system:kube-aggregator"])
    assert code == 200
    # A front-proxy certificate whose CN is not allowed proves nothing.
    assert curl(server, certs, "/apis/metrics.k8s.io/v1beta1/pods", cert="evil-proxy", headers=["X-Remote-User: alice"])[0] == 401
    # A client-CA user without permission is refused by the review.
    assert curl(server, certs, "/apis/metrics.k8s.io/v1beta1/pods", cert="dave")[0] == 403


def test_bearer_tokens_go_through_token_review(server, certs):
    assert curl(server, certs, "/apis/metrics.k8s.io/v1beta1/nodes", headers=["Authorization: Bearer alice-token"])[0] == 200
    assert curl(server, certs, "/apis/metrics.k8s.io/v1beta1/nodes", headers=["Authorization: Bearer bob-token"])[0] == 403
    assert curl(server, certs, "/apis/metrics.k8s.io/v1beta1/nodes", headers=["Authorization: Bearer forged"])[0] == 401


def test_tls_refusals(server, certs):
    # Unknown CA for the client certificate: the handshake completes, as with every Kubernetes API
    # server; the certificate proves nothing (401, not system:masters) and a token still works.
    code, body = curl(server, certs, "/apis/metrics.k8s.io/v1beta1/nodes", cert="stranger")
    assert code == 401, body
    assert curl(server, certs, "/apis/metrics.k8s.io/v1beta1/nodes", cert="stranger", headers=["Authorization: Bearer alice-token"])[0] == 200
    assert curl(server, certs, "/apis/metrics.k8s.io/v1beta1/nodes", cert="stranger", headers=["Authorization: Bearer forged"])[0] == 401
    # The serving certificate verifies against its CA with the service name.
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}", "-servername", "metrics-server.kube-system.svc",
                          "-CAfile", str(certs / "serving-ca.crt"), "-verify_return_error", "-brief"],
                         input="", capture_output=True, text=True, timeout=20)
    assert "Verification: OK" in out.stderr or "Verify return code: 0" in out.stdout + out.stderr, out.stderr
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}", "-CAfile", str(certs / "other-ca.crt"),
                          "-verify_return_error", "-brief"], input="", capture_output=True, text=True, timeout=20)
    assert out.returncode != 0


def test_discovery_openapi_and_negotiation(server, certs):
    admin = dict(cert="admin")
    code, body = curl(server, certs, "/apis", **admin)
    assert json.loads(body)["groups"][0]["name"] == "metrics.k8s.io"
    code, body = curl(server, certs, "/apis", headers=["Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"], **admin)
    assert json.loads(body)["kind"] == "APIGroupDiscoveryList"
    code, body = curl(server, certs, "/apis/metrics.k8s.io/v1beta1", **admin)
    assert [r["name"] for r in json.loads(body)["resources"]] == ["nodes", "pods"]
    assert json.loads(curl(server, certs, "/openapi/v2", **admin)[1])["swagger"] == "2.0"
    assert "components" in json.loads(curl(server, certs, "/openapi/v3/apis/metrics.k8s.io/v1beta1", **admin)[1])
    # Protobuf is what kubectl and kube-controller-manager ask for first: answered in protobuf
    # (the k8s\0 envelope naming the kind), JSON when it comes later in Accept, never 406.
    args = ["curl", "-sS", "-D", "-", "-o", "-", f"https://127.0.0.1:{server.port}/apis/metrics.k8s.io/v1beta1/pods",
            "--cacert", str(certs / "serving-ca.crt"), "--cert", str(certs / "admin.crt"), "--key", str(certs / "admin.key"),
            "-H", "Accept: application/vnd.kubernetes.protobuf, */*"]
    raw = subprocess.run(args, capture_output=True, check=True).stdout
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b" 200" in head.split(b"\r\n")[0] and b"content-type: application/vnd.kubernetes.protobuf" in head.lower(), head
    assert body.startswith(b"k8s\x00") and b"PodMetricsList" in body[:64], body[:64]
    code, body = curl(server, certs, "/apis/metrics.k8s.io/v1beta1/pods", headers=["Accept: application/json, application/vnd.kubernetes.protobuf"], **admin)
    assert code == 200 and json.loads(body)["kind"] == "PodMetricsList"
    code, body = curl(server, certs, "/apis/metrics.k8s.io/v1beta1/nodes", headers=["Accept: application/json;as=Table;v=v1;g=meta.k8s.io"], **admin)
    table = json.loads(body)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "cpu", "memory", "Window"]
    assert table["rows"][0]["cells"] == ["node-a", "1630534153n", "8318172Ki", "20s"]
    code, body = curl(server, certs, "/apis/metrics.k8s.io/v1beta1/nodes/node-a", headers=["Accept: application/yaml"], **admin)
    assert "kind: NodeMetrics" in body and "cpu: 1630534153n" in body
    code, body = curl(server, certs, "/apis/metrics.k8s.io/v1beta1/nodes?watch=true", **admin)
    assert code == 405


def test_self_metrics_families(server, certs):
    code, body = curl(server, certs, "/metrics", cert="admin")
    assert code == 200
    families = sorted({l.split()[2] for l in body.splitlines() if l.startswith("# TYPE")})
    assert [f for f in families if f.startswith("metrics_server_")] == [
        "metrics_server_api_metric_freshness_seconds",
        "metrics_server_kubelet_last_request_time_seconds",
        "metrics_server_kubelet_request_duration_seconds",
        "metrics_server_kubelet_request_total",
        "metrics_server_manager_tick_duration_seconds",
        "metrics_server_storage_points",
    ]
    assert "# TYPE metrics_server_kubelet_request_total counter" in body
    assert "kubemetrics_scrape_errors_total" in body


def test_kubectl_get_raw_every_path(server, certs, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(f"""apiVersion: v1
kind: Config
clusters:
- name: ms
  cluster:
    server: https://127.0.0.1:{server.port}
    certificate-authority: {certs / 'serving-ca.crt'}
contexts:
- name: ms
  context: {{cluster: ms, user: carol}}
current-context: ms
users:
- name: carol
  user:
    client-certificate: {certs / 'admin.crt'}
    client-key: {certs / 'admin.key'}
""")
    for path, kind in [("/apis/metrics.k8s.io/v1beta1/nodes", "NodeMetricsList"), ("/apis/metrics.k8s.io/v1beta1/nodes/node-b", "NodeMetrics"),
                       ("/apis/metrics.k8s.io/v1beta1/pods", "PodMetricsList"), ("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods", "PodMetricsList"),
                       ("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/batch-1", "PodMetrics"), ("/apis/metrics.k8s.io/v1beta1", "APIResourceList"),
                       ("/apis/metrics.k8s.io", "APIGroup"), ("/apis", "APIGroupList")]:
        out = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "get", "--raw", path], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["kind"] == kind, path
    out = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes/nope"], capture_output=True, text=True)
    assert out.returncode == 1
    assert 'nodemetrics.metrics.k8s.io "nope" not found' in out.stderr


def test_official_python_client_reads_metrics(server, certs):
    import kubernetes
    cfg = kubernetes.client.Configuration()
    cfg.host = f"https://127.0.0.1:{server.port}"
    cfg.ssl_ca_cert = str(certs / "serving-ca.crt")
    cfg.cert_file = str(certs / "admin.crt")
    cfg.key_file = str(certs / "admin.key")
    api = kubernetes.client.CustomObjectsApi(kubernetes.client.ApiClient(cfg))
    nodes = api.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")
    assert {n["metadata"]["name"]: n["usage"]["cpu"] for n in nodes["items"]} == {"node-a": "1630534153n", "node-b": "551516196n"}
    pods = api.list_namespaced_custom_object("metrics.k8s.io", "v1beta1", "kube-system", "pods")
    assert len(pods["items"]) == 3
    with pytest.raises(kubernetes.client.exceptions.ApiException) as e:
        api.get_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes", "nope")
    assert e.value.status == 404


def test_metrics_server_flags_are_accepted(binary, certs, loopback_api):
    proc = start_server(binary, certs, loopback_api[1], "--logging-format=text", "--profiling", "--v=2", "--kubelet-insecure-tls",
                        "--metric-resolution=15s", "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname", "--kubelet-use-node-status-port")
    try:
        assert curl(proc, certs, "/livez")[0] == 200
    finally:
        proc.stop()
    err = proc.p.stderr.read()
    assert err.count("--logging-format has no effect in kubemetrics serve") == 1, err
    bad = subprocess.run([str(binary), "serve", "--no-such-flag"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--no-such-flag" in bad.stderr


def test_serving_certificate_is_reloaded(binary, certs, loopback_api, tmp_path):
    import conftest
    for f in ("serving.crt", "serving.key"):
        shutil.copy(certs / f, tmp_path / f)
    port = conftest.free_port()
    proc = conftest.Proc([str(binary), "serve", "--fixture-metrics", "--bind-address", "127.0.0.1", "--secure-port", str(port),
                          "--tls-cert-file", str(tmp_path / "serving.crt"), "--tls-private-key-file", str(tmp_path / "serving.key"),
                          "--kubeconfig", str(loopback_api[1])])

    def serial():
        out = subprocess.run(f"openssl s_client -connect 127.0.0.1:{port} </dev/null 2>/dev/null | openssl x509 -noout -serial", shell=True, capture_output=True, text=True)
        return out.stdout.strip()

    try:
        before = serial()
        conftest.make_ca(tmp_path, "ca2")
        conftest.make_cert(tmp_path, "ca2", "next", "/CN=metrics-server", "subjectAltName=IP:127.0.0.1\n")
        time.sleep(1.1)
        shutil.copy(tmp_path / "next.crt", tmp_path / "serving.crt")
        shutil.copy(tmp_path / "next.key", tmp_path / "serving.key")
        after = serial()
        assert before and after and before != after
    finally:
        proc.stop()
