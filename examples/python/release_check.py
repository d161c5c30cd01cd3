#!/usr/bin/env python3
"""Release gate: the usage of a Deployment's pods, before or after a rollout.

A release system runs this before and after a rollout. It prints each pod matched by the
Deployment's label selector with its CPU and memory usage, and exits 1 if any pod uses more than
the limits given (``--max-cpu``, ``--max-memory``), 2 if the metrics cannot be read.

    release_check.py --namespace shop --selector app=web --max-cpu 500m --max-memory 1Gi --label before
    kubectl rollout status deploy/web -n shop
    release_check.py --namespace shop --selector app=web --max-cpu 500m --max-memory 1Gi --label after

The selector is the Deployment's ``spec.selector`` (``kubectl get deploy web -o
jsonpath='{.spec.selector.matchLabels}'``; with the official client,
``AppsV1Api().read_namespaced_deployment(name, ns).spec.selector.match_labels``).

Not yet shown: the percent of each pod's *requests*. Requests live in the Pod objects, and the
kubemetrics core has no API that reads them yet (it reads Pods only to explain missing metrics);
until it does, this example shows usage only and gates on absolute limits rather than computing
requests in Python.
"""

from __future__ import annotations

import argparse
import json
import sys

import kubemetrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespace", "-n", default=None, help="namespace (default: the kubeconfig context's)")
    parser.add_argument("--selector", "-l", required=True, help="the Deployment's label selector, e.g. app=web")
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
    except kubemetrics.KubeMetricsError as e:
        print(f"release-check: {e.kind}: {e.message}", file=sys.stderr)
        return 2

    over = [
        row for row in top
        if (args.max_cpu is not None and row.cpu > args.max_cpu)
        or (args.max_memory is not None and row.memory > args.max_memory)
    ]
    if args.json:
        print(json.dumps({"label": args.label, "top": top.to_dict(), "over_limit": [r.name for r in over]}))
    else:
        print(f"[{args.label}] {len(top)} pod(s) in {top.namespace} matching {args.selector}")
        print(f"{'POD':40} {'CPU':>10} {'MEMORY':>14}  % OF REQUESTS")
        for row in top:
            flag = "  OVER LIMIT" if row in over else ""
            print(f"{row.name:40} {f'{row.cpu.milli_value}m':>10} {str(row.memory):>14}  n/a{flag}")
        print(f"{'TOTAL':40} {f'{top.total_cpu.milli_value}m':>10} {str(top.total_memory):>14}")
    if over:
        print(f"release-check: {len(over)} pod(s) over the limit: {', '.join(r.name for r in over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
