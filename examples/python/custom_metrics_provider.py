#!/usr/bin/env python3
"""Custom metrics for the HorizontalPodAutoscaler, served from a JSON file that another process writes.

An application (or a sidecar, or a cron job) writes what it measures to a JSON file; this program
serves it as ``custom.metrics.k8s.io`` (v1beta1 and v1beta2) behind the API server's aggregator,
so that an HPA can scale on it::

    {"objects": [
      {"resource": "pods", "namespace": "shop", "name": "worker-7d9f-abcde",
       "labels": {"app": "worker"}, "metrics": {"queue_depth": 12}},
      {"resource": "namespaces", "name": "shop", "metrics": {"queue_depth": 40}},
      {"resource": "nodes", "name": "node-a", "metrics": {"temperature": "61.5"}}
    ]}

Objects without a ``namespace`` are cluster-scoped (nodes, and a namespace's own metrics). Values
are numbers or Kubernetes quantity strings (``"250m"``). The file is read on every request: rewrite
it whenever the numbers change (write a temporary file and rename it over the old one). An HPA
scaling the ``worker`` Deployment on the average ``queue_depth`` of its pods::

    metrics:
    - type: Pods
      pods:
        metric: {name: queue_depth}
        target: {type: AverageValue, averageValue: "10"}

Run it where the aggregator can reach it, registered as the APIServices
``v1beta1.custom.metrics.k8s.io`` and ``v1beta2.custom.metrics.k8s.io`` (see
``deploy/custom-metrics.yaml``), with a ServiceAccount bound to ``system:auth-delegator`` and to the
``extension-apiserver-authentication-reader`` Role::

    custom_metrics_provider.py --values /var/run/metrics/values.json \\
        --tls-cert-file serving.crt --tls-private-key-file serving.key

It prints ``serving on https://HOST:PORT`` once it listens, and serves until SIGTERM or Ctrl-C.
The provider below has plain methods; ``async def`` methods work the same way.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional, Union

import kubemetrics
from kubemetrics import CustomMetricInfo, LabelSelector, ObjectRef

Value = Union[int, float, str]


class FileMetrics:
    """A custom metrics provider: the three methods kubemetrics calls, answered from the file."""

    def __init__(self, path: Path):
        self.path = path

    def objects(self) -> list[dict[str, Any]]:
        try:
            objects: list[dict[str, Any]] = json.loads(self.path.read_text())["objects"]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as e:
            # Any exception but LookupError / ValueError answers 500 with its message.
            raise RuntimeError(f"cannot read {self.path}: {e!r}") from e
        return objects

    def of(self, resource: str, namespace: Optional[str], metric: str) -> Iterator[dict[str, Any]]:
        """The objects of `resource` in `namespace` (None: cluster-scoped) that have `metric`."""
        for o in self.objects():
            if o["resource"] == resource and o.get("namespace") == namespace and metric in o.get("metrics", {}):
                yield o

    def list_metrics(self) -> list[CustomMetricInfo]:
        served = {(o["resource"], m, "namespace" in o) for o in self.objects() for m in o.get("metrics", {})}
        return [CustomMetricInfo(resource, metric, namespaced) for resource, metric, namespaced in sorted(served)]

    def metric_by_name(self, obj: ObjectRef, metric: str, metric_selector: LabelSelector) -> Value:
        for o in self.of(obj.resource, obj.namespace, metric):
            if o["name"] == obj.name:
                value: Value = o["metrics"][metric]
                return value
        where = f"{obj.namespace}/{obj.name}" if obj.namespace else obj.name
        raise KeyError(f"no metric {metric} for {obj.resource} {where}")  # answered 404 NotFound

    def metrics_by_selector(self, namespace: Optional[str], resource: str, selector: LabelSelector, metric: str,
                            metric_selector: LabelSelector) -> dict[str, Value]:
        if not any(o["resource"] == resource and metric in o.get("metrics", {}) for o in self.objects()):
            raise KeyError(f"no metric {metric} for {resource}")
        return {o["name"]: o["metrics"][metric] for o in self.of(resource, namespace, metric)
                if selector.matches(o.get("labels", {}))}


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--values", type=Path, required=True, help="the JSON file of objects and their metrics")
    parser.add_argument("--bind-address", default="0.0.0.0")
    parser.add_argument("--secure-port", type=int, default=6443, help="0 picks a free port")
    parser.add_argument("--tls-cert-file", default=None, help="serving certificate (default: self-signed into --cert-dir)")
    parser.add_argument("--tls-private-key-file", default=None)
    parser.add_argument("--cert-dir", default=None)
    parser.add_argument("--client-ca-file", default=None,
                        help="default: the CAs of kube-system/extension-apiserver-authentication")
    parser.add_argument("--requestheader-client-ca-file", default=None)
    parser.add_argument("--requestheader-allowed-names", default=None, help="comma-separated")
    parser.add_argument("--kubeconfig", default=None, help="the cluster asked for TokenReviews and SubjectAccessReviews")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        server = kubemetrics.serve_custom_metrics(
            FileMetrics(args.values),
            bind_address=args.bind_address,
            secure_port=args.secure_port,
            tls_cert_file=args.tls_cert_file,
            tls_private_key_file=args.tls_private_key_file,
            cert_dir=args.cert_dir,
            client_ca_file=args.client_ca_file,
            requestheader_client_ca_file=args.requestheader_client_ca_file,
            requestheader_allowed_names=args.requestheader_allowed_names.split(",") if args.requestheader_allowed_names else None,
            kubeconfig=args.kubeconfig,
        )
    except kubemetrics.KubeMetricsError as e:
        print(f"custom-metrics-provider: {e.kind}: {e.message}", file=sys.stderr)
        return 1
    with server:
        print(f"serving on {server.url}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
