#!/usr/bin/env python3
"""kubemetrics vs the official Kubernetes Python client, side by side in one run.

1. Parsing metrics-server quantities: ``kubemetrics.Quantity(s)`` vs ``kubernetes.utils.parse_quantity(s)``.
2. ``Client().top_pods(all_namespaces=True)`` over N pods (default 100,000) served by
   ``kubemetrics loopback-api --scale-pods N`` vs the official client:
   ``CustomObjectsApi().list_cluster_custom_object("metrics.k8s.io", "v1beta1", "pods")`` +
   ``parse_quantity`` + summing CPU and memory per pod. Both sides read every row's CPU and memory.

Usage (build both in release mode first, see BENCHMARKS.md):
    python bench.py [--cli target/release/kubemetrics] [--pods 100000] [--rounds 3]
    python bench.py --quantity-only [--repeat 5] [--seconds 0.2] [--json FILE]

``--quantity-only`` is what ``benchmarks/run.sh`` calls: parse, parse + ``float``, parse + millis
over the ten metrics-server values of ``core/benches/quantity.rs`` (the criterion benchmark, whose
list is read from that file), each timed loop handling all ten values like one criterion iteration;
the two sides alternate and each keeps its best repeat; JSON (ns per value) to ``--json``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
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


def criterion_values() -> list[str]:
    """The ten values of the criterion benchmark (core/benches/quantity.rs), the one list all sides use."""
    src = (REPO / "core" / "benches" / "quantity.rs").read_text()
    m = re.search(r"const VALUES: &\[&str\] = &\[(.*?)\];", src, re.S)
    if not m:
        raise SystemExit("no `const VALUES` in core/benches/quantity.rs")
    return re.findall(r'"([^"]*)"', m.group(1))


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


Quantity = kubemetrics.Quantity
# (key, what kubemetrics does, what the official client does): the same result on both sides.
QUANTITY_OPS: list[tuple[str, str, Callable[[str], object], str, Callable[[str], object]]] = [
    ("parse", "Quantity(s)", Quantity, "parse_quantity(s)", parse_quantity),
    ("parse_float", "float(Quantity(s))", lambda s: float(Quantity(s)),
     "float(parse_quantity(s))", lambda s: float(parse_quantity(s))),
    ("parse_milli", "Quantity(s).milli_value", lambda s: Quantity(s).milli_value,
     "math.ceil(parse_quantity(s) * 1000)", lambda s: math.ceil(parse_quantity(s) * 1000)),
]


def bench_quantity_ops(values: list[str], repeat: int, seconds: float) -> dict[str, Any]:
    """Each op on both sides over ``values``; one timed call = one pass over all values (the
    criterion loop shape). The sides alternate repeat after repeat; each keeps its best."""
    rows: dict[str, Any] = {}
    for key, ours_name, ours, theirs_name, theirs in QUANTITY_OPS:
        for v in values:  # same values, same answers (the parsed values compared as decimals)
            a, b = ours(v), theirs(v)
            assert (a.to_decimal() if isinstance(a, Quantity) else a) == b, (key, v, a, b)

        def loop(fn: Callable[[str], object]) -> Callable[[], None]:
            def run() -> None:
                for v in values:
                    fn(v)
            return run

        timers = {"kubemetrics": timeit.Timer(loop(ours)), "official": timeit.Timer(loop(theirs))}
        # Passes per timing: enough for `seconds` on the slower side (autorange's estimate).
        number = {}
        for side, t in timers.items():
            n, took = t.autorange()
            number[side] = max(1, int(n * seconds / max(took, 1e-9)))
        best = {side: math.inf for side in timers}
        for _ in range(repeat):
            for side, t in timers.items():
                best[side] = min(best[side], t.timeit(number[side]) / number[side])
        rows[key] = {"kubemetrics": ours_name, "official": theirs_name,
                     "kubemetrics_ns_per_value": best["kubemetrics"] / len(values) * 1e9,
                     "official_ns_per_value": best["official"] / len(values) * 1e9}
    return rows


def quantity_only(repeat: int, seconds: float, json_out: Path | None) -> None:
    values = criterion_values()
    rows = bench_quantity_ops(values, repeat, seconds)
    native = getattr(kubemetrics, "_native", None)
    out = {"python": sys.version.split()[0], "kubernetes": kubernetes.__version__, "kubemetrics": kubemetrics.__version__,
           "native_module": getattr(native, "__file__", None), "values": values, "repeat": repeat, "rows": rows}
    for key, r in rows.items():
        print(f"python {key:12} {r['kubemetrics']:28} {r['kubemetrics_ns_per_value']:8.0f} ns/value   "
              f"{r['official']:36} {r['official_ns_per_value']:8.0f} ns/value   "
              f"ratio {r['official_ns_per_value'] / r['kubemetrics_ns_per_value']:.2f}x")
    if json_out:
        json_out.write_text(json.dumps(out, indent=1) + "\n")


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
    parser.add_argument("--quantity-only", action="store_true", help="only the quantity operations over the criterion values")
    parser.add_argument("--repeat", type=int, default=5, help="--quantity-only: timings per side and operation (best kept)")
    parser.add_argument("--seconds", type=float, default=0.2, help="--quantity-only: about how long one timing lasts")
    parser.add_argument("--json", type=Path, help="--quantity-only: write the figures there")
    args = parser.parse_args()
    if args.quantity_only:
        quantity_only(args.repeat, args.seconds, args.json)
        return 0
    print(f"python {sys.version.split()[0]}, kubemetrics {kubemetrics.__version__}, kubernetes {kubernetes.__version__}")
    bench_quantity()
    bench_top_pods(args.cli, args.pods, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
