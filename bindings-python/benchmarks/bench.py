#!/usr/bin/env python3
"""kubemetrics vs the official Kubernetes Python client, side by side in one run.

1. Parsing metrics-server quantities: ``kubemetrics.Quantity(s)`` vs ``kubernetes.utils.parse_quantity(s)``.
2. Bulk reads over N pods (default 100,000) served by one ``kubemetrics loopback-api --scale-pods N``,
   each against the official client (``CustomObjectsApi().list_cluster_custom_object("metrics.k8s.io",
   "v1beta1", "pods")`` + ``parse_quantity`` + sums):
   (a) ``Client().top_pods(all_namespaces=True)`` + every row's CPU and memory (per-pod sums);
   (b) ``Client().list_pod_metrics()`` + per-container sums.
   kubemetrics runs twice: with the integer accessors (``cpu_milli_value`` / ``memory_value``) and
   through ``Quantity`` objects. Every run is a fresh process (imports before the clock), so wall
   time, CPU time (user + system, all threads) and peak RSS are its own; the server's CPU time
   during the run is shown apart, and so is the raw GET of the body (the shared floor). All sides
   must agree on the pod count and the CPU and memory sums.

Usage (build both in release mode first, see BENCHMARKS.md):
    python bench.py [--cli target/release/kubemetrics] [--pods 100000] [--rounds 3] [--json FILE]
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
import os
import re
import resource
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


# -- the bulk reads, each side in a process of its own -------------------------------------------
#
# A case is what a dashboard does with one read: fetch, then touch every row's CPU and memory.
# Each (case, side) runs in a fresh child process (`bench.py --child CASE SIDE KUBECONFIG`), so that
# its CPU time and peak RSS are its own; the imports happen before the clock starts.


def kubemetrics_top_int(kubeconfig: str) -> tuple[int, int, int]:
    """top_pods(all_namespaces=True) + every row's CPU (millicores) and memory (bytes) as ints."""
    top = kubemetrics.Client(kubeconfig, timeout=300).top_pods(all_namespaces=True)
    cpu = memory = 0
    for row in top:
        cpu += row.cpu_milli_value
        memory += row.memory_value
    return len(top), cpu, memory


def kubemetrics_top_quantity(kubeconfig: str) -> tuple[int, int, int]:
    """The same through the rows' Quantity objects."""
    top = kubemetrics.Client(kubeconfig, timeout=300).top_pods(all_namespaces=True)
    cpu = memory = 0
    for row in top:
        cpu += row.cpu.milli_value
        memory += row.memory.value
    return len(top), cpu, memory


def official_items(kubeconfig: str) -> list[dict[str, Any]]:
    cfg = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
    api = kubernetes.client.CustomObjectsApi(kubernetes.client.ApiClient(cfg))
    items: list[dict[str, Any]] = api.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "pods", _request_timeout=300)["items"]
    return items


def official_top(kubeconfig: str) -> tuple[int, int, int]:
    """list_cluster_custom_object + parse_quantity + per-pod sums (what top computes)."""
    n = 0
    cpu_total = memory_total = 0
    for item in official_items(kubeconfig):
        cpu = sum(parse_quantity(c["usage"]["cpu"]) for c in item["containers"])
        memory = sum(parse_quantity(c["usage"]["memory"]) for c in item["containers"])
        cpu_total += math.ceil(cpu * 1000)
        memory_total += math.ceil(memory)
        n += 1
    return n, cpu_total, memory_total


def kubemetrics_list_int(kubeconfig: str) -> tuple[int, int, int]:
    """list_pod_metrics() + per-container sums of CPU (millicores) and memory (bytes) as ints."""
    pods = kubemetrics.Client(kubeconfig, timeout=300).list_pod_metrics()
    cpu = memory = 0
    for pod in pods:
        for c in pod.containers:
            cpu += c.cpu_milli_value
            memory += c.memory_value
    return len(pods), cpu, memory


def kubemetrics_list_quantity(kubeconfig: str) -> tuple[int, int, int]:
    """The same through the containers' usage dicts of Quantity objects."""
    pods = kubemetrics.Client(kubeconfig, timeout=300).list_pod_metrics()
    cpu = memory = 0
    for pod in pods:
        for c in pod.containers:
            usage = c.usage
            cpu += usage["cpu"].milli_value
            memory += usage["memory"].value
    return len(pods), cpu, memory


def official_list(kubeconfig: str) -> tuple[int, int, int]:
    """list_cluster_custom_object + parse_quantity + per-container sums."""
    n = 0
    cpu = memory = 0
    for item in official_items(kubeconfig):
        for c in item["containers"]:
            cpu += math.ceil(parse_quantity(c["usage"]["cpu"]) * 1000)
            memory += math.ceil(parse_quantity(c["usage"]["memory"]))
        n += 1
    return n, cpu, memory


CASES: dict[str, tuple[str, dict[str, tuple[str, Callable[[str], tuple[int, int, int]]]]]] = {
    "top": ("top_pods(all_namespaces=True) + every row's CPU and memory", {
        "kubemetrics": ("Client.top_pods(all_namespaces=True), row.cpu_milli_value / memory_value", kubemetrics_top_int),
        "kubemetrics-q": ("the same through row.cpu / row.memory Quantity objects", kubemetrics_top_quantity),
        "official": ("list_cluster_custom_object + parse_quantity + per-pod sums", official_top),
    }),
    "list": ("list_pod_metrics() + per-container sums", {
        "kubemetrics": ("Client.list_pod_metrics(), container.cpu_milli_value / memory_value", kubemetrics_list_int),
        "kubemetrics-q": ("the same through container.usage[...] Quantity objects", kubemetrics_list_quantity),
        "official": ("list_cluster_custom_object + parse_quantity + per-container sums", official_list),
    }),
}


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (resource.getpagesize() // 1024)


def child(case: str, side: str, kubeconfig: str) -> None:
    """One timed run in this process; prints one JSON line."""
    fn = CASES[case][1][side][1]
    base = rss_kib()
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    n, cpu, memory = fn(kubeconfig)
    t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"wall": t1 - t0, "cpu": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
                      "peak_kib": r1.ru_maxrss, "base_kib": base, "n": n, "cpu_sum": cpu, "memory_sum": memory}))


def proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raw_get(url: str) -> int:
    """The shared floor: the server answering and the bytes arriving, with no decoding at all."""
    with urllib.request.urlopen(f"{url}/apis/metrics.k8s.io/v1beta1/pods", timeout=300) as resp:
        return len(resp.read())


def bench_reads(cli: Path, pods: int, rounds: int, json_out: Path | None) -> None:
    """Both cases, every side, `rounds` fresh processes each (sides alternating), one server."""
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = str(Path(tmp) / "kubeconfig")
        server = subprocess.Popen([str(cli), "loopback-api", "--scale-pods", str(pods), "--write-kubeconfig", kubeconfig], stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            first = server.stdout.readline().strip()
            url = first.removeprefix("serving on ")
            raw_times = []
            for _ in range(rounds):
                start = time.perf_counter()
                size = raw_get(url)
                raw_times.append(time.perf_counter() - start)
            raw = statistics.median(raw_times)
            print(f"\n== bulk reads over {pods:,} pods ({first}); one fresh process per run, median of {rounds}")
            print(f"shared floor: raw GET of the {size / 1e6:.1f} MB JSON list, no decoding: {raw:.2f} s wall")
            results: dict[str, Any] = {"pods": pods, "rounds": rounds, "raw_get_s": raw, "body_bytes": size, "cases": {}}
            for case, (title, sides) in CASES.items():
                runs: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
                for _ in range(rounds):
                    for side in sides:
                        before = proc_cpu_seconds(server.pid)
                        out = subprocess.run([sys.executable, __file__, "--child", case, side, kubeconfig],
                                             check=True, capture_output=True, text=True, timeout=1800)
                        run = json.loads(out.stdout.strip().splitlines()[-1])
                        run["server_cpu"] = proc_cpu_seconds(server.pid) - before
                        runs[side].append(run)
                checks = {side: {(r["n"], r["cpu_sum"], r["memory_sum"]) for r in rs} for side, rs in runs.items()}
                assert len({c for cs in checks.values() for c in cs}) == 1 and next(iter(checks["official"]))[0] == pods, checks
                med = {side: {k: statistics.median(r[k] for r in rs) for k in ("wall", "cpu", "peak_kib", "base_kib", "server_cpu")}
                       for side, rs in runs.items()}
                print(f"\n-- {title}")
                print(f"{'side':14} {'wall s':>8} {'CPU s':>8} {'peak RSS MiB':>13} {'(after imports)':>16} {'server CPU s':>13}   what")
                for side, (what, _) in sides.items():
                    m = med[side]
                    print(f"{side:14} {m['wall']:8.2f} {m['cpu']:8.2f} {m['peak_kib'] / 1024:13.0f} {m['base_kib'] / 1024:16.0f} {m['server_cpu']:13.2f}   {what}")
                o = med["official"]
                for side in sides:
                    if side == "official":
                        continue
                    m = med[side]
                    print(f"ratio official / {side:14} wall {o['wall'] / m['wall']:5.1f}x   CPU {o['cpu'] / m['cpu']:5.1f}x   "
                          f"peak RSS {o['peak_kib'] / m['peak_kib']:4.1f}x   wall minus the raw GET floor "
                          f"{(o['wall'] - raw) / max(m['wall'] - raw, 1e-9):5.1f}x")
                results["cases"][case] = {"title": title, "median": med, "runs": runs}
            if json_out:
                json_out.write_text(json.dumps(results, indent=1) + "\n")
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
    parser.add_argument("--json", type=Path, help="write the figures there (JSON)")
    parser.add_argument("--child", nargs=3, metavar=("CASE", "SIDE", "KUBECONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    if args.quantity_only:
        quantity_only(args.repeat, args.seconds, args.json)
        return 0
    print(f"python {sys.version.split()[0]}, kubemetrics {kubemetrics.__version__}, kubernetes {kubernetes.__version__}")
    bench_quantity()
    bench_reads(args.cli, args.pods, args.rounds, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
