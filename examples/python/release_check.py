#!/usr/bin/env python3
"""Release gate: the usage of a Deployment's pods, in percent of their requests, before or after a rollout.

A release system runs this before and after a rollout. It prints each pod matched by the
Deployment's label selector with its CPU and memory usage and that usage in percent of the pod's
requests, and exits 1 if any pod uses more than the thresholds given (``--max-cpu-percent``,
``--max-memory-percent`` of its requests; ``--max-cpu``, ``--max-memory`` absolute), 2 if the
metrics cannot be read.

    release_check.py --namespace shop --selector app=web --max-cpu-percent 150 --max-memory-percent 120 --label before
    kubectl rollout status deploy/web -n shop
    release_check.py --namespace shop --selector app=web --max-cpu-percent 150 --max-memory-percent 120 --label after

The selector is the Deployment's ``spec.selector`` (``kubectl get deploy web -o
jsonpath='{.spec.selector.matchLabels}'``; with the official client,
``AppsV1Api().read_namespaced_deployment(name, ns).spec.selector.match_labels``).

Usage comes from the Metrics API (``Client.top_pods``, kubectl's numbers), requests from the Pod
objects (``Client.pod_requests``, summed over containers); the percent is computed by
kubemetrics (``PodRequests.cpu_percent(row.cpu)``, truncated like ``kubectl top node``). A pod
without a CPU (memory) request shows ``n/a`` and is not gated on that resource's percent.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import kubemetrics


def percent(value: int | None) -> str:
    return "n/a" if value is None else f"{value}%"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespace", "-n", default=None, help="namespace (default: the kubeconfig context's)")
    parser.add_argument("--selector", "-l", required=True, help="the Deployment's label selector, e.g. app=web")
    parser.add_argument("--max-cpu-percent", type=int, default=None, help="fail above this CPU usage in percent of the pod's request, e.g. 150")
    parser.add_argument("--max-memory-percent", type=int, default=None, help="fail above this memory usage in percent of the pod's request, e.g. 120")
    parser.add_argument("--max-cpu", type=kubemetrics.Quantity, default=None, help="fail above this CPU per pod, e.g. 500m")
    parser.add_argument("--max-memory", type=kubemetrics.Quantity, default=None, help="fail above this memory per pod, e.g. 1Gi")
    parser.add_argument("--label", default="now", help="a tag for the output: before, after, ...")
    parser.add_argument("--kubeconfig", default=None)
    parser.add_argument("--context", default=None)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)

    try:
        client = kubemetrics.Client(args.kubeconfig, args.context)
        top = client.top_pods(namespace=args.namespace, label_selector=args.selector, sort_by="cpu")
        requests = {r.name: r for r in client.pod_requests(top.namespace, label_selector=args.selector)}
    except kubemetrics.KubeMetricsError as e:
        print(f"release-check: {e.kind}: {e.message}", file=sys.stderr)
        return 2

    pods: list[dict[str, Any]] = []
    for row in top:
        req = requests.get(row.name)
        cpu_percent = req.cpu_percent(row.cpu) if req else None
        memory_percent = req.memory_percent(row.memory) if req else None
        reasons: list[str] = []
        if args.max_cpu_percent is not None and cpu_percent is not None and cpu_percent > args.max_cpu_percent:
            reasons.append(f"cpu {cpu_percent}% of request > {args.max_cpu_percent}%")
        if args.max_memory_percent is not None and memory_percent is not None and memory_percent > args.max_memory_percent:
            reasons.append(f"memory {memory_percent}% of request > {args.max_memory_percent}%")
        if args.max_cpu is not None and row.cpu > args.max_cpu:
            reasons.append(f"cpu {row.cpu} > {args.max_cpu}")
        if args.max_memory is not None and row.memory > args.max_memory:
            reasons.append(f"memory {row.memory} > {args.max_memory}")
        pods.append({
            "name": row.name,
            "cpu": str(row.cpu),
            "memory": str(row.memory),
            "cpu_request": str(req.cpu) if req and req.cpu is not None else None,
            "memory_request": str(req.memory) if req and req.memory is not None else None,
            "cpu_percent": cpu_percent,
            "memory_percent": memory_percent,
            "over_limit": reasons,
        })
    over = [p["name"] for p in pods if p["over_limit"]]

    if args.json:
        print(json.dumps({"label": args.label, "namespace": top.namespace, "selector": args.selector,
                          "pods": pods, "top": top.to_dict(), "over_limit": over}))
    else:
        print(f"[{args.label}] {len(top)} pod(s) in {top.namespace} matching {args.selector}")
        print(f"{'POD':40} {'CPU':>10} {'MEMORY':>14} {'CPU%REQ':>8} {'MEM%REQ':>8}")
        for row, pod in zip(top, pods):
            flag = f"  OVER LIMIT: {'; '.join(pod['over_limit'])}" if pod["over_limit"] else ""
            print(f"{row.name:40} {f'{row.cpu.milli_value}m':>10} {str(row.memory):>14} "
                  f"{percent(pod['cpu_percent']):>8} {percent(pod['memory_percent']):>8}{flag}")
        print(f"{'TOTAL':40} {f'{top.total_cpu.milli_value}m':>10} {str(top.total_memory):>14}")
    if over:
        print(f"release-check: {len(over)} pod(s) over the limit: {', '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
