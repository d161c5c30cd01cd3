"""Custom and external metrics served by `kubemetrics serve --custom-metrics-push`: values pushed
over the authenticated endpoint, read back by kubectl get --raw (v1beta1 and v1beta2 shapes)
and by `kubemetrics get`."""

import json
import subprocess

import pytest

from conftest import start_server
from test_server import curl


@pytest.fixture(scope="module")
def custom_server(binary, certs, loopback_api):
    proc = start_server(binary, certs, loopback_api[1], "--custom-metrics-push")
    yield proc
    proc.stop()


def push(server, certs, path, cert="admin", headers=()):
    args = ["curl", "-sS", "-X", "PUT", "-o", "-", "-w", "\n%{http_code}", "--cacert", str(certs / "serving-ca.crt"),
            f"https://127.0.0.1:{server.port}{path}"]
    if cert:
        args += ["--cert", str(certs / f"{cert}.crt"), "--key", str(certs / f"{cert}.key")]
    for h in headers:
        args += ["-H", h]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    body, _, code = out.stdout.rpartition("\n")
    return int(code), body


@pytest.fixture(scope="module")
def kubeconfig(custom_server, certs, tmp_path_factory):
    path = tmp_path_factory.mktemp("custom") / "kubeconfig"
    path.write_text(f"""apiVersion: v1
kind: Config
clusters:
- name: ms
  cluster: {{server: "https://127.0.0.1:{custom_server.port}", certificate-authority: "{certs / 'serving-ca.crt'}"}}
contexts:
- name: ms
  context: {{cluster: ms, user: carol, namespace: web}}
current-context: ms
users:
- name: carol
  user: {{client-certificate: "{certs / 'admin.crt'}", client-key: "{certs / 'admin.key'}"}}
""")
    return path


def test_push_then_read_custom_metrics(custom_server, certs, kubeconfig):
    for pod, app, value in [("web-1", "web", "10"), ("web-2", "web", "30"), ("db-1", "db", "500m")]:
        code, body = push(custom_server, certs, f"/push/custom/namespaces/web/pods/{pod}/http_requests?value={value}&ttl=5m&labels=app%3D{app}")
        assert code == 200, body
    code, body = curl(custom_server, certs, "/apis/custom.metrics.k8s.io/v1beta2/namespaces/web/pods/*/http_requests?labelSelector=app%3Dweb", cert="admin")
    doc = json.loads(body)
    assert (code, doc["kind"], doc["apiVersion"]) == (200, "MetricValueList", "custom.metrics.k8s.io/v1beta2")
    assert [(i["describedObject"]["name"], i["value"]) for i in doc["items"]] == [("web-1", "10"), ("web-2", "30")]
    raw = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "get", "--raw",
                          "/apis/custom.metrics.k8s.io/v1beta1/namespaces/web/pods/db-1/http_requests"], capture_output=True, text=True)
    item = json.loads(raw.stdout)["items"][0]
    assert (item["metricName"], item["value"], item["describedObject"]["kind"], item["describedObject"]["apiVersion"]) == ("http_requests", "500m", "Pod", "/v1")
    assert "selector" in item
    names = subprocess.run([str(custom_server.p.args[0]), "get", "custom", "--kubeconfig", str(kubeconfig)], capture_output=True, text=True)
    assert names.stdout.split() == ["pods/http_requests"], names.stderr
    table = subprocess.run([str(custom_server.p.args[0]), "get", "custom", "pods/*", "http_requests", "-l", "app=web", "--kubeconfig", str(kubeconfig)],
                           capture_output=True, text=True)
    rows = [l.split()[:3] for l in table.stdout.splitlines()[1:]]
    assert rows == [["Pod/web-1", "http_requests", "10"], ["Pod/web-2", "http_requests", "30"]], table.stdout + table.stderr
    missing = subprocess.run([str(custom_server.p.args[0]), "get", "custom", "pods/nope", "http_requests", "--kubeconfig", str(kubeconfig)], capture_output=True, text=True)
    assert missing.returncode == 1
    assert "the server could not find the metric http_requests for pods nope" in missing.stderr


def test_push_then_read_external_metrics(custom_server, certs, kubeconfig):
    for queue, value in [("jobs", "42"), ("mail", "7")]:
        assert push(custom_server, certs, f"/push/external/namespaces/web/queue_depth?value={value}&labels=queue%3D{queue}")[0] == 200
    code, body = curl(custom_server, certs, "/apis/external.metrics.k8s.io/v1beta1/namespaces/web/queue_depth?labelSelector=queue%3Djobs", cert="admin")
    doc = json.loads(body)
    assert (doc["kind"], [i["value"] for i in doc["items"]]) == ("ExternalMetricValueList", ["42"])
    out = subprocess.run([str(custom_server.p.args[0]), "get", "external", "queue_depth", "-n", "web", "-o", "json", "--kubeconfig", str(kubeconfig)],
                         capture_output=True, text=True)
    assert sorted(i["value"] for i in json.loads(out.stdout)) == ["42", "7"], out.stderr
    code, body = curl(custom_server, certs, "/apis", cert="admin")
    assert [g["name"] for g in json.loads(body)["groups"]] == ["metrics.k8s.io", "custom.metrics.k8s.io", "external.metrics.k8s.io"]


def test_push_is_authorized_and_validated(custom_server, certs):
    assert push(custom_server, certs, "/push/external/namespaces/web/q?value=1", cert=None)[0] == 401
    code, body = push(custom_server, certs, "/push/external/namespaces/web/q?value=1", cert=None, headers=["Authorization: Bearer bob-token"])
    assert code == 403 and json.loads(body)["message"].startswith('forbidden: User "bob" cannot put path')
    assert push(custom_server, certs, "/push/external/namespaces/web/q?value=1", cert=None, headers=["Authorization: Bearer alice-token"])[0] == 200
    code, body = push(custom_server, certs, "/push/external/namespaces/web/q?value=1K")
    assert code == 400 and json.loads(body)["message"].startswith('invalid quantity "1K"')
    assert push(custom_server, certs, "/push/external/namespaces/web/q")[0] == 400
