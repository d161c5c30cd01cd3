"""Custom/external metrics providers written with the bindings, on the loopback control plane.

- :func:`binding_python` / :func:`node_provider_command`: how to run the Python example
  (``examples/python/custom_metrics_provider.py``, needs the built Python binding) and the Node one
  (``examples/node/external_metrics_provider.mjs``, needs the built Node addon); None with the
  reason when they cannot run here.
- :func:`provider_kubeconfig`: a ServiceAccount with the RBAC of an aggregated API server
  (``system:auth-delegator``, ``extension-apiserver-authentication-reader``) and a token kubeconfig.
- :class:`ValuesFile`: a JSON file rewritten atomically (the providers read it on every request).
- :class:`FakeKubelet`: plays kubelet for a Deployment's pods (Running/Ready, forced deletions) and
  spreads a total queue depth over the live pods in the Python provider's values file.

Everything listens on and talks to 127.0.0.1 only. Standard library only.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from harness import ControlPlane, PollingThread
from metrics_stack import ROOT, service_account_token, settle_pods, token_kubeconfig
from metrics_stack import binding_python as stack_binding_python

PYTHON_EXAMPLE = ROOT / "examples" / "python" / "custom_metrics_provider.py"
NODE_EXAMPLE = ROOT / "examples" / "node" / "external_metrics_provider.mjs"
SERVING = r"serving on (https://127\.0\.0\.1:(\d+))"


def binding_python() -> str | None:
    """An interpreter with the built Python binding's provider API (see :func:`metrics_stack.binding_python`)."""
    return stack_binding_python("from kubemetrics import serve_custom_metrics")


def node_provider_command() -> tuple[list[str] | None, str]:
    """``[node, script]`` for the Node external metrics provider, or None and why it cannot run."""
    if not NODE_EXAMPLE.exists():
        return None, f"{NODE_EXAMPLE.relative_to(ROOT)} does not exist (the Node half of issue #10)"
    node = shutil.which("node")
    if node is None:
        return None, "node is not on PATH"
    if not list((ROOT / "bindings-node").glob("*.node")):
        return None, "the Node binding is not built (bash bindings-node/scripts/test.sh builds it)"
    return [node, str(NODE_EXAMPLE)], ""


def _apply(cp: ControlPlane, objs: list[dict[str, Any]]) -> None:
    cp.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objs}))


def provider_kubeconfig(cp: ControlPlane, sa: str, path: Path, namespace: str = "kube-system") -> Path:
    """ServiceAccount ``namespace/sa`` bound as an aggregated API server's is (TokenReview and
    SubjectAccessReview; reading ``kube-system/extension-apiserver-authentication``); its token
    kubeconfig at ``path``."""
    subject = [{"kind": "ServiceAccount", "name": sa, "namespace": namespace}]
    _apply(cp, [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa, "namespace": namespace}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": f"{sa}-auth-reader", "namespace": "kube-system"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                     "name": "extension-apiserver-authentication-reader"},
         "subjects": subject},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": f"{sa}:system:auth-delegator"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:auth-delegator"},
         "subjects": subject},
    ])
    return token_kubeconfig(cp, path, service_account_token(cp, namespace, sa, create=False), sa)


class ValuesFile:
    """A JSON document rewritten atomically (temporary file + rename)."""

    def __init__(self, path: Path, doc: Any = None):
        self.path = path
        if doc is not None:
            self.write(doc)

    def write(self, doc: Any) -> None:
        self.write_text(json.dumps(doc))

    def write_text(self, text: str) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(self.path)


class FakeKubelet(PollingThread):
    """Does for a Deployment's pods what kubelets would (marks new pods Running/Ready, finishes
    deletions) and, when ``values`` is given, writes ``metric`` = the total load spread evenly over
    the live pods into the Python provider's values file (``extra`` objects kept as they are)."""

    def __init__(self, cp: ControlPlane, ns: str, selector: str, *, values: ValuesFile | None = None,
                 metric: str = "queue_depth", total: int = 0, extra: list[dict[str, Any]] | None = None):
        super().__init__()
        self.cp, self.ns, self.selector, self.values, self.metric = cp, ns, selector, values, metric
        self.total, self.extra = total, list(extra or [])
        self.live: list[dict[str, Any]] = []

    def step(self) -> None:
        live = [{"name": p["metadata"]["name"], "labels": p["metadata"].get("labels", {})}
                for p in settle_pods(self.cp, self.ns, self.selector)]
        with self.lock:
            self.live = live
            if self.values is not None:
                per = self.total / len(live) if live else 0
                objects = [{"resource": "pods", "namespace": self.ns, "name": p["name"], "labels": p["labels"],
                            "metrics": {self.metric: per}} for p in live]
                self.values.write({"objects": objects + self.extra})

    def set_total(self, total: int) -> None:
        with self.lock:
            self.total = total

    def running(self) -> int:
        with self.lock:
            return len(self.live)
