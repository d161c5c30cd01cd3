#!/usr/bin/env python3
"""kubemetrics vs the official Kubernetes Python client, side by side in one run.

1. Parsing metrics-server quantities: ``kubemetrics.Quantity(s)`` vs ``kubernetes.utils.parse_quantity(s)``.
2. ``Client().top_pods(all_namespaces=True)`` over N pods (default 100,000) served by
   ``kubemetrics loopback-api --scale-pods N`` vs the official client:
   ``CustomObjectsApi().list_cluster_custom_object("metrics.k8s.io", "v1beta1", "pods")`` +
   ``parse_quantity`` + summing CPU and memory per pod. Both sides read every row's CPU and memory.

Usage (build both in release mode first, see BENCHMARKS.md):
    python bench.py [--cli target/release/kubemetrics] [--pods 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes
from kubernetes.utils import parse_quantity

import kubemetrics

REPO = Path(__file__).resolve().parents[2]
VALUES = ["250264852n", "8318172Ki", "1500m", "969654n", "15012Ki", "1630534153n", "13280692Ki", "100M", "1Gi", "12e6", "4710169n", "12533760"]


def per_value_ns(fn: Callable[[str], object], repeat: int = 5, number: int = 20000) -> float:
    values = VALUES

    def run() -> None:
        for v in values:
            fn(v)

    best = min(timeit.repeat(run, repeat=repeat, number=number))
    return best / (number * len(values)) * 1e9


def bench_quantity() -> None:
    for v in VALUES:  # same values, same meaning
        assert kubemetrics.Quantity(v).to_decimal() == parse_quantity(v), v
    ours = per_value_ns(kubemetrics.Quantity)
    theirs = per_value_ns(parse_quantity)
    print("== parse one metrics-server quantity")
    print(f"kubemetrics.Quantity(s)              {ours:10.0f} ns/value")
    print(f"kubernetes.utils.parse_quantity(s)   {theirs:10.0f} ns/value")
    print(f"ratio (official / kubemetrics)       {theirs / ours:10.1f}x")


def top_pods_kubemetrics(kubeconfig: str) -> tuple[int, Any, Any]:
    client = kubemetrics.Client(kubeconfig, timeout=300)
    top = client.top_pods(all_namespaces=True)
    rows = [(row.namespace, row.name, row.cpu, row.memory) for row in top]
    return len(rows), top.total_cpu, top.total_memory


def top_pods_official(kubeconfig: str) -> tuple[int, Any, Any]:
    cfg = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
    api = kubernetes.client.CustomObjectsApi(kubernetes.client.ApiClient(cfg))
    listing = api.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "pods", _request_timeout=300)
    rows = []
    for item in listing["items"]:
        cpu = sum(parse_quantity(c["usage"]["cpu"]) for c in item["containers"])
        memory = sum(parse_quantity(c["usage"]["memory"]) for c in item["containers"])
        rows.append((item["metadata"]["namespace"], item["metadata"]["name"], cpu, memory))
    return len(rows), sum(r[2] for r in rows), sum(r[3] for r in rows)


def raw_get(url: str) -> tuple[int, Any, Any]:
    """The shared floor: the server answering and the bytes arriving, with no decoding at all."""
    with urllib.request.urlopen(f"{url}/apis/metrics.k8s.io/v1beta1/pods", timeout=300) as resp:
        body = resp.read()
    return len(body), None, None


def bench_top_pods(cli: Path, pods: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = str(Path(tmp) / "kubeconfig")
        server = subprocess.Popen([str(cli), "loopback-api", "--scale-pods", str(pods), "--write-kubeconfig", kubeconfig], stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            first = server.stdout.readline().strip()
            url = first.removeprefix("serving on ")
            print(f"\n== top pods -A over {pods:,} pods ({first})")
            ours_n, ours_cpu, ours_mem = top_pods_kubemetrics(kubeconfig)  # warm-up and check
            theirs_n, theirs_cpu, theirs_mem = top_pods_official(kubeconfig)
            assert ours_n == theirs_n == pods, (ours_n, theirs_n)
            assert ours_cpu.to_decimal() <= theirs_cpu and ours_mem.to_decimal() == theirs_mem
            size = raw_get(url)[0]
            runs: list[tuple[str, Callable[[str], tuple[int, Any, Any]], str]] = [
                ("kubemetrics", top_pods_kubemetrics, kubeconfig),
                ("official", top_pods_official, kubeconfig),
                ("raw", raw_get, url),
            ]
            times: dict[str, list[float]] = {name: [] for name, _, _ in runs}
            for _ in range(rounds):
                for name, fn, arg in runs:
                    start = time.perf_counter()
                    fn(arg)
                    times[name].append(time.perf_counter() - start)
            ours, theirs, raw = (statistics.median(times[n]) for n in ("kubemetrics", "official", "raw"))
            print(f"kubemetrics Client().top_pods(all_namespaces=True)   {ours:8.2f} s  (median of {rounds})")
            print(f"official list_cluster_custom_object + parse + sum    {theirs:8.2f} s  (median of {rounds})")
            print(f"ratio (official / kubemetrics)                       {theirs / ours:8.1f}x")
            print(f"shared floor: raw GET of the {size / 1e6:.0f} MB list, no decoding {raw:8.2f} s")
            print(f"client-side time (total - floor): kubemetrics {ours - raw:.2f} s, official {theirs - raw:.2f} s, "
                  f"ratio {(theirs - raw) / max(ours - raw, 1e-9):.1f}x")
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", type=Path, default=REPO / "target" / "release" / "kubemetrics")
    parser.add_argument("--pods", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, kubemetrics {kubemetrics.__version__}, kubernetes {kubernetes.__version__}")
    bench_quantity()
    bench_top_pods(args.cli, args.pods, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
