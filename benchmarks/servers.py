#!/usr/bin/env python3
"""metrics-server vs `kubemetrics serve`, side by side, against one simulated kubelet fleet.

Everything runs on 127.0.0.1: a real etcd + kube-apiserver (tests/e2e/harness.py), the fleet
helper (benchmarks/fleet: simulated kubelets over HTTPS, registered as Nodes and Running Pods),
then each server in turn (never both at once) with the same flags:

    --secure-port=P --bind-address=127.0.0.1 --tls-cert-file/--tls-private-key-file (cluster CA)
    --kubeconfig/--authentication-kubeconfig/--authorization-kubeconfig=admin kubeconfig
    --client-ca-file=<cluster CA> --requestheader-client-ca-file=<front-proxy CA>
    --kubelet-use-node-status-port --kubelet-preferred-address-types=InternalIP
    --kubelet-certificate-authority=<cluster CA> --metric-resolution=15s

Per server: time until the first served node/pod metrics and until every node/pod is served;
CPU seconds per scrape cycle (utime+stime from /proc/PID/stat over --cycles cycles once all
nodes are served); steady RSS (median of 0.5 s samples over those cycles) and peak RSS (VmHWM);
the servers' own metrics_server_* figures (tick and kubelet request durations); then a bounded
load loop (km-bench-fleet load, one process) of GET /apis/metrics.k8s.io/v1beta1/pods and of
HPA-style per-namespace label-selector lists, while scraping continues. Writes one JSON file per
size into --results.

Usage: servers.py --sizes 100,1000,5000 [--alone 20000] [--cycles 4] [--results DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "e2e"))
import harness  # noqa: E402
from harness import ControlPlane, Proc, free_port  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
RESOLUTION = 15.0
SHARD = int(os.environ.get("KM_BENCH_SHARD", "5000"))  # most simulated nodes per fleet process
PER_ADDRESS = 8000  # most simulated kubelets per loopback address (127.0.0.1, 127.0.0.2, ...)
BIG_LIST = 300000  # pods above which full lists are counted as they stream (see run_server)
PROTOBUF = "application/vnd.kubernetes.protobuf"


def log(msg: str) -> None:
    print(f"[servers {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class BenchPlane(ControlPlane):
    """The e2e control plane, with room for 150,000+ pods: etcd's backend quota raised to 8 GiB."""

    def _spawn(self, name, argv):
        if name == "etcd":
            argv = argv + ["--quota-backend-bytes=8589934592"]
        return super()._spawn(name, argv)


# ---------------------------------------------------------------------------------------------
# /proc sampling
# ---------------------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    """(monotonic, cpu_s, rss_kib) of a pid every `every` seconds until stopped."""

    def __init__(self, pid: int, every: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.every, self.samples, self.fds = pid, every, [], []
        self._halt = threading.Event()

    def run(self) -> None:
        k = 0
        while not self._halt.is_set():
            try:
                self.samples.append((time.monotonic(), cpu_seconds(self.pid), status_kib(self.pid, "VmRSS")))
                if k % 10 == 0:
                    self.fds.append((time.monotonic(), len(os.listdir(f"/proc/{self.pid}/fd"))))
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                return
            k += 1
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)

    def window(self, t0: float, t1: float) -> list:
        return [s for s in self.samples if t0 <= s[0] <= t1]


# ---------------------------------------------------------------------------------------------
# HTTPS as admin (client certificate)
# ---------------------------------------------------------------------------------------------
class Client:
    def __init__(self, cp: ControlPlane, port: int):
        self.base = f"https://127.0.0.1:{port}"
        self.ctx = ssl.create_default_context(cafile=str(cp.certs.ca_crt))
        self.ctx.load_cert_chain(str(cp.certs.p("admin.crt")), str(cp.certs.p("admin.key")))

    def get(self, path: str, timeout: float = 60) -> tuple[int, bytes]:
        req = urllib.request.Request(self.base + path)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def count(self, path: str, marker: bytes, timeout: float = 600) -> tuple[int, int, int]:
        """GETs path reading the body in pieces, never whole: (status, occurrences of marker, bytes)."""
        req = urllib.request.Request(self.base + path)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=timeout) as r:
                n, size, tail = 0, 0, b""
                while piece := r.read(1 << 20):
                    size += len(piece)
                    buf = tail + piece
                    n += buf.count(marker)
                    # a marker split between pieces is counted with the next piece: keep the last
                    # len(marker)-1 bytes (too short to hold a whole, already counted, marker)
                    tail = buf[-(len(marker) - 1):]
                return r.status, n, size
        except urllib.error.HTTPError as e:
            return e.code, 0, 0


def parse_prom(text: str) -> dict[str, float]:
    """Sums of the metrics_server_* series we report, over all label sets."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if not m:
            continue
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        if not name.startswith("metrics_server_"):
            continue
        if name.endswith("_bucket"):
            continue
        key = name
        if name == "metrics_server_kubelet_request_total":
            ok = 'success="true"' in labels
            key = name + ("{success=true}" if ok else "{success=false}")
        elif name == "metrics_server_storage_points":
            key = name + ("{node}" if 'type="node"' in labels else "{container}")
        try:
            out[key] = out.get(key, 0.0) + float(value)
        except ValueError:
            pass
    return out


def quantity_value(s: str) -> float:
    """Just enough of the quantity grammar for metrics values (n, u, m, Ki, Mi, Gi, k, M, G, plain)."""
    suffixes = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9,
                "Ki": 1024.0, "Mi": 1024.0 ** 2, "Gi": 1024.0 ** 3, "Ti": 1024.0 ** 4}
    m = re.match(r"^([0-9.eE+-]+?)(Ki|Mi|Gi|Ti|n|u|m|k|M|G|)$", s)
    if not m:
        raise ValueError(s)
    return float(m.group(1)) * suffixes[m.group(2)]


# ---------------------------------------------------------------------------------------------
# one server
# ---------------------------------------------------------------------------------------------
def server_argv(kind: str, cp: ControlPlane, port: int, workdir: Path, exe: Path, kubeconfig: Path | None = None) -> list[str]:
    c = cp.certs
    crt, key = c.metrics_server_cert
    kc = str(kubeconfig or cp.kubeconfig)
    common = [
        f"--secure-port={port}", "--bind-address=127.0.0.1",
        f"--cert-dir={workdir / (kind + '-certs')}",
        f"--tls-cert-file={crt}", f"--tls-private-key-file={key}",
        f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}", f"--authorization-kubeconfig={kc}",
        f"--client-ca-file={c.ca_crt}",
        f"--requestheader-client-ca-file={c.front_proxy_ca_crt}",
        "--requestheader-allowed-names=front-proxy-client",
        "--kubelet-use-node-status-port", "--kubelet-preferred-address-types=InternalIP",
        f"--kubelet-certificate-authority={c.ca_crt}",
        f"--metric-resolution={int(RESOLUTION)}s",
    ]
    if kind == "metrics-server":
        return [str(exe), *common]
    return [str(exe), "serve", *common]


def count_items(body: bytes, marker: bytes) -> int:
    return body.count(marker)


def run_server(kind: str, exe: Path, cp: ControlPlane, fleet: dict, fleet_bin: Path, workdir: Path,
               cycles: int, load_seconds: float, expect_nodes: int, kubeconfig: Path | None = None) -> dict:
    port = free_port()
    argv = server_argv(kind, cp, port, workdir, exe, kubeconfig)
    (workdir / f"{kind}.cmd").write_text(" \\\n  ".join(argv) + "\n")
    env = dict(os.environ)
    env.setdefault("RUST_LOG", "warn")
    t_start = time.monotonic()
    proc = Proc(kind, argv, workdir / f"{kind}.log", env=env)
    cp.procs[kind] = proc  # stopped with the control plane whatever happens
    sampler = Sampler(proc.pid)
    sampler.start()
    cl = Client(cp, port)
    n_nodes, n_pods = fleet["nodes"], fleet["pods"]
    res: dict = {"server": kind, "pid": proc.pid, "argv": argv}
    phase = "startup"
    try:
        # ---- time until first served metrics / full coverage ---------------------------------
        deadline = t_start + max(180.0, 4 * RESOLUTION + expect_nodes / 40.0)
        marks: dict[str, float] = {}
        while time.monotonic() < deadline and len(marks) < 4:
            if not proc.alive():
                raise RuntimeError(f"{kind} exited with {proc.popen.returncode}: {harness.tail(proc.log, 30)}")
            try:
                if "all_nodes" not in marks:
                    st, body = cl.get("/apis/metrics.k8s.io/v1beta1/nodes")
                    if st == 200:
                        k = count_items(body, b'"window"')
                        if k > 0:
                            marks.setdefault("first_nodes", time.monotonic() - t_start)
                        if k >= n_nodes:
                            marks["all_nodes"] = time.monotonic() - t_start
                if "all_pods" not in marks and (n_pods <= BIG_LIST or "all_nodes" in marks):
                    # Above BIG_LIST pods a full list is hundreds of MB: it is counted as it
                    # streams, and only once every node is served (pods and nodes get their
                    # rates from the same scrapes); the mark is when that list was asked for,
                    # so the time to every pod is not overstated by the list's own length.
                    asked = time.monotonic() - t_start
                    st, k, _ = cl.count("/apis/metrics.k8s.io/v1beta1/pods", b'"window"', timeout=600)
                    if st == 200:
                        if k > 0:
                            marks.setdefault("first_pods", asked)
                        res["pods_served_at_last_poll"] = k
                        if k >= n_pods:
                            marks["all_pods"] = asked
            except (OSError, ssl.SSLError):
                pass  # not listening yet
            time.sleep(0.25 if "first_pods" not in marks else (1.0 if n_pods <= 30000 else 2.0))
        res.update({f"{k}_s": v for k, v in marks.items()})
        if "all_nodes" not in marks:
            log(f"{kind}: not every node served within the deadline ({marks})")
        # ---- steady state over `cycles` scrape cycles ---------------------------------------
        phase = "steady state"
        time.sleep(RESOLUTION)  # one more full cycle before measuring
        _, m0 = cl.get("/metrics")
        w0 = time.monotonic()
        c0 = cpu_seconds(proc.pid)
        time.sleep(cycles * RESOLUTION)
        c1 = cpu_seconds(proc.pid)
        w1 = time.monotonic()
        _, m1 = cl.get("/metrics")
        win = sampler.window(w0, w1)
        res["cycles"] = cycles
        res["cpu_s_per_cycle"] = (c1 - c0) / ((w1 - w0) / RESOLUTION)
        res["cpu_share"] = (c1 - c0) / (w1 - w0)
        res["steady_rss_kib"] = int(statistics.median(s[2] for s in win)) if win else None
        res["rss_kib_at_ready"] = status_kib(proc.pid, "VmRSS")
        p0, p1 = parse_prom(m0.decode(errors="replace")), parse_prom(m1.decode(errors="replace"))
        d = {k: p1.get(k, 0.0) - p0.get(k, 0.0) for k in p1}
        tc = d.get("metrics_server_manager_tick_duration_seconds_count", 0.0)
        if tc:
            res["tick_mean_s"] = d["metrics_server_manager_tick_duration_seconds_sum"] / tc
        rc = d.get("metrics_server_kubelet_request_duration_seconds_count", 0.0)
        if rc:
            res["kubelet_request_mean_ms"] = 1000 * d["metrics_server_kubelet_request_duration_seconds_sum"] / rc
            res["kubelet_requests_per_cycle"] = rc / ((w1 - w0) / RESOLUTION)
        res["kubelet_failures_in_window"] = d.get("metrics_server_kubelet_request_total{success=false}", 0.0)
        res["storage_points"] = {k.split("{")[1].rstrip("}"): v for k, v in p1.items()
                                 if k.startswith("metrics_server_storage_points")}
        # ---- a snapshot of what it serves, for the cross-check --------------------------------
        phase = "snapshot for the cross-check"
        st, body = cl.get("/apis/metrics.k8s.io/v1beta1/nodes")
        res["nodes_served"] = count_items(body, b'"window"') if st == 200 else 0
        nodes = json.loads(body) if st == 200 else {"items": []}
        res["node_usage"] = {it["metadata"]["name"]: [quantity_value(it["usage"]["cpu"]),
                                                      quantity_value(it["usage"]["memory"])]
                             for it in nodes.get("items", [])}
        if n_pods > BIG_LIST:
            st, res["pods_served"], res["pods_list_bytes"] = cl.count("/apis/metrics.k8s.io/v1beta1/pods", b'"window"')
        else:
            st, body = cl.get("/apis/metrics.k8s.io/v1beta1/pods", timeout=120)
            res["pods_served"] = count_items(body, b'"window"') if st == 200 else 0
            res["pods_list_bytes"] = len(body)
        if n_pods <= 20000 and st == 200:
            pods = json.loads(body)
            res["pod_usage"] = {f'{it["metadata"]["namespace"]}/{it["metadata"]["name"]}': [
                sum(quantity_value(c["usage"]["cpu"]) for c in it["containers"]),
                sum(quantity_value(c["usage"]["memory"]) for c in it["containers"])]
                for it in pods.get("items", [])}
        # one HPA answer and one node object, whole, for the drop-in comparison of the objects
        ns0, app0 = fleet["ns_apps"][0]
        st, body = cl.get(f"/apis/metrics.k8s.io/v1beta1/namespaces/{ns0}/pods?labelSelector="
                          + urllib.parse.quote(f"app={app0}"))
        res["sample_pod_list"] = json.loads(body) if st == 200 else None
        res["sample_node"] = nodes["items"][0] if nodes.get("items") else None
        # ---- load while scraping continues ---------------------------------------------------
        phase = "load"
        certs = cp.certs
        base = f"https://127.0.0.1:{port}/apis/metrics.k8s.io/v1beta1"
        hpa = [f"{base}/namespaces/{ns}/pods?labelSelector=" + urllib.parse.quote(f"app={app}")
               for ns, app in fleet["ns_apps"]]
        # Closed loops (each client asks again as soon as it has its answer) measure throughput, in
        # JSON (what most clients ask for) and in protobuf (kube-controller-manager's
        # --kube-api-content-type). The HPA controller is an open loop: it resyncs every HPA once per
        # --horizontal-pod-autoscaler-sync-period (15 s) with --concurrent-horizontal-pod-autoscaler-syncs
        # (5) workers; here one HPA per (namespace, app) pair.
        loads = {
            "list_all_pods": ([f"{base}/pods"], 4, 2000, None, None),
            "hpa_namespace_selector": (hpa, 8, 200000, None, None),
            "hpa_namespace_selector_protobuf": (hpa, 8, 200000, PROTOBUF, None),
            "hpa_controller": (hpa, 5, 200000, PROTOBUF, len(hpa) / RESOLUTION),
        }
        res["load"] = {}
        for name, (urls, conc, maxreq, accept, rate) in loads.items():
            argv_load = [str(fleet_bin), "load", "--ca", str(certs.ca_crt), "--cert", str(certs.p("admin.crt")),
                         "--key", str(certs.p("admin.key")), "--concurrency", str(conc),
                         "--max-requests", str(maxreq), "--max-seconds", str(load_seconds)]
            if accept:
                argv_load += ["--accept", accept]
            if rate:
                argv_load += ["--rate", f"{rate:.3f}"]
            for u in urls:
                argv_load += ["--url", u]
            l0, c0 = time.monotonic(), cpu_seconds(proc.pid)
            r = subprocess.run(argv_load, capture_output=True, text=True, timeout=load_seconds + 300)
            l1, c1 = time.monotonic(), cpu_seconds(proc.pid)
            if r.returncode != 0:
                raise RuntimeError(f"load {name} failed: {r.stderr}")
            out = json.loads(r.stdout)
            out["server_cpu_share"] = (c1 - c0) / (l1 - l0)
            out["urls"] = len(urls)
            res["load"][name] = out
            log(f"{kind}: {name}: {out['requests']} requests, {out['rps']:.1f}/s, p50 {out['p50_ms']:.1f} ms, "
                f"p99 {out['p99_ms']:.1f} ms, statuses {out['statuses']}")
        res["peak_rss_kib"] = status_kib(proc.pid, "VmHWM")
        res["rss_kib_after_load"] = status_kib(proc.pid, "VmRSS")
        res["threads"] = status_kib(proc.pid, "Threads")
        res["total_cpu_s"] = cpu_seconds(proc.pid)
        res["wall_s"] = time.monotonic() - t_start
        res["window_s"] = [round(w0 - t_start, 1), round(w1 - t_start, 1)]
    except Exception as e:  # record how far it got, and why it stopped
        res["error"] = f"{phase}: {e}"
        res["error_at_s"] = round(time.monotonic() - t_start, 1)
        try:
            res["rss_kib_at_error"] = status_kib(proc.pid, "VmRSS")
            res["peak_rss_kib"] = status_kib(proc.pid, "VmHWM")
            res["fds_at_error"] = len(os.listdir(f"/proc/{proc.pid}/fd"))
        except OSError:
            res["exited"] = proc.popen.poll()
        log(f"{kind}: stopped in phase {phase}: {e}")
    finally:
        sampler.stop()
        trace, last = [], -1e9
        for t, c, rss in sampler.samples:  # every ~5 s: seconds since exec, CPU seconds, RSS KiB
            if t - last >= 5:
                trace.append([round(t - t_start, 1), round(c, 2), rss])
                last = t
        res["trace"] = trace
        res["fds_trace"] = [[round(t - t_start, 1), n] for t, n in sampler.fds]
        proc.stop()
        cp.procs.pop(kind, None)
        lines = harness.tail(proc.log, 400).splitlines()
        res["log_warnings"] = len([l for l in lines if " WARN " in l or " ERROR " in l])
        res["log_tail"] = lines[-25:]
    log(f"{kind}: cpu/cycle {res.get('cpu_s_per_cycle', float('nan')):.3f} s, steady RSS "
        f"{(res.get('steady_rss_kib') or 0) / 1024:.0f} MiB, peak {(res.get('peak_rss_kib') or 0) / 1024:.0f} MiB, "
        f"first nodes {res.get('first_nodes_s')}, all pods {res.get('all_pods_s')}")
    return res


def cross_check(a: dict, b: dict) -> dict:
    """Same fleet, same instants modulo a few minutes: the usage each server reports must agree
    (the fleet's rates are constant, so CPU rates are exact in both; memory is constant)."""
    out = {}
    for what in ("node_usage", "pod_usage"):
        ua, ub = a.get(what) or {}, b.get(what) or {}
        common = set(ua) & set(ub)
        if not common:
            continue
        bad_cpu = [k for k in common if abs(ua[k][0] - ub[k][0]) > max(1e-3, 0.01 * abs(ua[k][0]))]
        bad_mem = [k for k in common if abs(ua[k][1] - ub[k][1]) > 0.001 * max(1.0, ua[k][1])]
        out[what] = {"compared": len(common), "only_" + a["server"]: len(set(ua) - set(ub)),
                     "only_" + b["server"]: len(set(ub) - set(ua)), "cpu_mismatch": len(bad_cpu),
                     "memory_mismatch": len(bad_mem), "cpu_mismatch_examples": sorted(bad_cpu)[:3],
                     "examples": {k: [ua[k], ub[k]] for k in sorted(bad_cpu or bad_mem)[:3]}}
    # The objects themselves: the same fields in the same order, the same names and labels; only
    # measured numbers and instants may differ (each server scraped at its own moments).
    for what in ("sample_pod_list", "sample_node"):
        sa, sb = shape(a.get(what)), shape(b.get(what))
        if sa is not None and sb is not None:
            text = {s["server"]: json.dumps(s[what], separators=(",", ":")) for s in (a, b)}
            out[what] = {"same_shape": sa == sb, "bytes": {k: len(t) for k, t in text.items()},
                         "swap_served_by": sorted(k for k, t in text.items() if '"swap"' in t)}
            if sa != sb:  # the first item that differs (or the whole object), not whole lists
                oa, ob = a[what], b[what]
                for ia, ib in zip(oa.get("items") or [], ob.get("items") or []):
                    if shape(ia) != shape(ib):
                        oa, ob = ia, ib
                        break
                out[what]["first_difference"] = {a["server"]: oa, b["server"]: ob}
    return out


MEASURED = ("timestamp", "window", "creationTimestamp", "resourceVersion")


def shape(obj):
    """`obj` with measured values and instants replaced by placeholders (usage by its resource
    names, without `swap`, which kubemetrics serves and metrics-server v0.8 does not: see the
    README), keys kept in their order, a pod's containers by name (metrics-server lists them in
    Go's map order, which changes from one answer to the next)."""
    if isinstance(obj, dict):
        def field(k, v):
            if k == "usage":
                return [r for r in v if r != "swap"]
            if k == "containers" and isinstance(v, list):
                return shape(sorted(v, key=lambda c: c.get("name", "")))
            return "<measured>" if k in MEASURED else shape(v)
        return [(k, field(k, v)) for k, v in obj.items()]
    if isinstance(obj, list):
        return [shape(v) for v in obj]
    return obj


# ---------------------------------------------------------------------------------------------
# one size
# ---------------------------------------------------------------------------------------------
def raise_nofile(want: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def machine() -> dict:
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = status = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1])
    load = os.getloadavg()
    return {"nproc": os.cpu_count(), "mem_gib": round(mem / 1024 / 1024, 1), "cpu": model,
            "loadavg_at_start": [round(x, 2) for x in load], "kernel": os.uname().release}


def run_size(nodes: int, args, servers: list[str], fleet_bin: Path, ms_bin: Path, km_bin: Path,
             stand_in_api: bool = False) -> dict:
    nofile = raise_nofile(max(4096, 6 * nodes + 20000))
    log(f"=== {nodes} nodes x {args.pods_per_node} pods x {args.containers} containers; servers {servers}; "
        f"RLIMIT_NOFILE {nofile}")
    result: dict = {"nodes": nodes, "pods_per_node": args.pods_per_node, "containers_per_pod": args.containers,
                    "resolution_s": RESOLUTION, "machine": machine(), "nofile": nofile,
                    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "servers": {},
                    "api": "km-bench-fleet api (stand-in)" if stand_in_api else "kube-apiserver v1.33.13"}
    with BenchPlane() as cp:
        workdir = cp.dir / "bench"
        workdir.mkdir()
        crt, key = cp.certs.metrics_server_cert
        addresses = max(1, -(-nodes // PER_ADDRESS))
        result["loopback_addresses"] = addresses
        if addresses > 1:
            # The kubelets' serving certificate names every loopback address they listen on.
            cp.certs.leaf("kubelet-serving", "ca", "/CN=kubelet-serving", server=True, dns=["localhost"],
                          ips=[f"127.0.0.{i}" for i in range(1, addresses + 1)])
            crt, key = cp.certs.p("kubelet-serving.crt"), cp.certs.p("kubelet-serving.key")
        # One fleet process per <= SHARD nodes: each simulated node costs the fleet ~3 file
        # descriptors (its HTTPS listener, the fleet's own HTTP listener, the scraper's connection)
        # and RLIMIT_NOFILE may not be raisable above 20,000 (it is not in this sandbox).
        shards = max(1, -(-nodes // SHARD))
        per = [nodes // shards + (1 if i < nodes % shards else 0) for i in range(shards)]
        t0 = time.monotonic()
        fleet_procs, info_files = [], []
        for i, n in enumerate(per):
            info_file = workdir / f"fleet-{i}.json"
            fargv = [str(fleet_bin), "fleet", "--nodes", str(n), "--pods-per-node", str(args.pods_per_node),
                     "--containers-per-pod", str(args.containers), "--namespaces", str(args.namespaces),
                     "--cert", str(crt), "--key", str(key),
                     *(["--objects-out", str(workdir / f"objects-{i}.jsonl")] if stand_in_api
                       else ["--kubeconfig", str(cp.kubeconfig)]),
                     "--info-file", str(info_file), "--max-seconds", str(int(args.max_seconds)),
                     "--register-concurrency", str(max(8, 48 // shards))]
            if shards > 1:
                # explicit ports below the ephemeral range (the fleets' own HTTP listeners use it);
                # past PER_ADDRESS nodes each fleet spreads its kubelets over several loopback
                # addresses (127.0.0.1 ... 127.0.0.A, all of 127.0.0.0/8), each counting its own ports
                fargv += ["--node-prefix", f"sim-{i}-node-", "--seed", str(1 + i),
                          "--loopback-addresses", str(addresses),
                          "--port-base", str(10300 + i * (-(-n // addresses) + 300))]
            p = Proc(f"km-bench-fleet-{i}", fargv, workdir / f"fleet-{i}.log")
            cp.procs[p.name] = p
            fleet_procs.append(p)
            info_files.append(info_file)
        reg_deadline = t0 + 300 + nodes * args.pods_per_node / 50.0
        while not all(f.exists() for f in info_files):
            for p in fleet_procs:
                if not p.alive():
                    raise RuntimeError(f"{p.name} exited: {harness.tail(p.log, 30)}")
            if time.monotonic() > reg_deadline:
                raise RuntimeError(f"fleet not registered after {reg_deadline - t0:.0f}s: "
                                   f"{harness.tail(fleet_procs[0].log, 10)}")
            time.sleep(1)
        infos = [json.loads(f.read_text()) for f in info_files]
        fleet = {
            "nodes": sum(i["nodes"] for i in infos), "pods": sum(i["pods"] for i in infos),
            "containers": sum(i["containers"] for i in infos),
            "namespaces": sorted({n for i in infos for n in i["namespaces"]}),
            "ns_apps": sorted({tuple(x) for i in infos for x in i["ns_apps"]})[:200],
            "body_bytes_node0": infos[0]["body_bytes_node0"], "shards": shards,
            "registration": None if stand_in_api else {
                "nodes_seconds": max(i["registration"]["nodes_seconds"] for i in infos),
                "pods_seconds": max(i["registration"]["pods_seconds"] for i in infos)},
        }
        kubeconfig = None
        if stand_in_api:
            kubeconfig = workdir / "stand-in.kubeconfig"
            api = Proc("km-bench-api", [str(fleet_bin), "api", "--kubeconfig-out", str(kubeconfig),
                                        "--max-seconds", str(int(args.max_seconds)),
                                        *[x for i in range(shards) for x in ("--objects", str(workdir / f"objects-{i}.jsonl"))]],
                       workdir / "api.log")
            cp.procs[api.name] = api
            fleet_procs.append(api)
            while not kubeconfig.exists():
                if not api.alive():
                    raise RuntimeError(f"stand-in API exited: {harness.tail(api.log, 20)}")
                time.sleep(0.5)
        result["fleet"] = {k: v for k, v in fleet.items() if k not in ("ns_apps", "namespaces")}
        result["fleet"]["namespaces"] = len(fleet["namespaces"])
        result["fleet"]["setup_s"] = time.monotonic() - t0
        result["apiserver_rss_kib_after_registration"] = status_kib(cp.procs["kube-apiserver"].pid, "VmRSS")
        result["etcd_rss_kib_after_registration"] = status_kib(cp.procs["etcd"].pid, "VmRSS")
        log(f"fleet ready: {fleet['nodes']} nodes, {fleet['pods']} pods, {fleet['containers']} containers "
            f"in {result['fleet']['setup_s']:.0f}s ({shards} fleet process(es)); body {fleet['body_bytes_node0']} bytes/node")

        def fleet_cpu() -> float:
            return sum(cpu_seconds(p.pid) for p in fleet_procs)

        for kind in servers:
            exe = ms_bin if kind == "metrics-server" else km_bin
            fc0 = fleet_cpu()
            la0 = os.getloadavg()[0]
            ac0 = cpu_seconds(cp.procs["kube-apiserver"].pid)
            # --replicas N: N-1 more kubemetrics replicas scrape the same fleet during the run
            # (the HA manifests' two replicas each scrape every kubelet): what they cost the
            # fleet and the API server shows in the shares below, against a one-replica run.
            extra = []
            if kind == "kubemetrics":
                for k in range(1, args.replicas):
                    name = f"kubemetrics-replica-{k}"
                    rargv = server_argv(name, cp, free_port(), workdir, exe, kubeconfig)
                    extra.append(Proc(name, rargv, workdir / f"{name}.log", env={**os.environ, "RUST_LOG": "warn"}))
                    cp.procs[name] = extra[-1]
            rc0 = {p.name: cpu_seconds(p.pid) for p in extra}
            tt0 = time.monotonic()
            r = run_server(kind, exe, cp, fleet, fleet_bin, workdir, args.cycles, args.load_seconds, nodes, kubeconfig)
            tt1 = time.monotonic()
            if extra:
                r["replicas"] = 1 + len(extra)
                r["extra_replicas"] = {p.name: {"cpu_share": (cpu_seconds(p.pid) - rc0[p.name]) / (tt1 - tt0),
                                                "rss_kib": status_kib(p.pid, "VmRSS")} for p in extra}
                for p in extra:
                    p.stop()
                    cp.procs.pop(p.name, None)
            r["fleet_cpu_share_during_run"] = (fleet_cpu() - fc0) / (tt1 - tt0)
            r["loadavg_1m_start_end"] = [round(la0, 2), round(os.getloadavg()[0], 2)]
            r["apiserver_cpu_share_during_run"] = (cpu_seconds(cp.procs["kube-apiserver"].pid) - ac0) / (tt1 - tt0)
            result["servers"][kind] = r
            time.sleep(2)
        if len(servers) == 2:
            result["cross_check"] = cross_check(result["servers"][servers[0]], result["servers"][servers[1]])
            log(f"cross-check: {json.dumps(result['cross_check'])}")
        for r in result["servers"].values():  # keep the files small
            r.pop("node_usage", None)
            r.pop("pod_usage", None)
            r.pop("sample_pod_list", None)
            r.pop("sample_node", None)
        for p in fleet_procs:
            p.stop()
            cp.procs.pop(p.name, None)
    return result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100", help="comma-separated node counts, both servers each")
    ap.add_argument("--alone", default="", help="comma-separated node counts, kubemetrics only")
    ap.add_argument("--alone-api", choices=["stand-in", "real"], default="stand-in",
                    help="API server for the kubemetrics-alone sizes: km-bench-fleet api (default; a real "
                         "kube-apiserver needs ~6 GB per 150,000 pods) or the real kube-apiserver")
    ap.add_argument("--pods-per-node", type=int, default=30)
    ap.add_argument("--containers", type=int, default=2)
    ap.add_argument("--namespaces", type=int, default=20)
    ap.add_argument("--cycles", type=int, default=4)
    ap.add_argument("--replicas", type=int, default=1,
                    help="kubemetrics replicas scraping the fleet at once (the measured one plus N-1)")
    ap.add_argument("--load-seconds", type=float, default=30.0)
    ap.add_argument("--max-seconds", type=float, default=7200, help="bound of the fleet process")
    ap.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results")
    ap.add_argument("--fleet-bin", type=Path, required=True)
    ap.add_argument("--kubemetrics-bin", type=Path, required=True)
    ap.add_argument("--metrics-server-bin", type=Path, required=True)
    args = ap.parse_args()
    args.results.mkdir(parents=True, exist_ok=True)
    plan = [(int(s), ["metrics-server", "kubemetrics"]) for s in args.sizes.split(",") if s] + \
           [(int(s), ["kubemetrics"]) for s in args.alone.split(",") if s]
    # Which metrics-server each figure used, as the binary says (`--version` prints its git tag).
    ms_version = ""
    if any("metrics-server" in servers for _, servers in plan):
        v = subprocess.run([str(args.metrics_server_bin), "--version"], capture_output=True, text=True, timeout=60)
        ms_version = v.stdout.strip() or f"unknown ({args.metrics_server_bin} --version: exit {v.returncode})"
        log(f"metrics-server {ms_version} ({args.metrics_server_bin})")
    failures = 0
    for nodes, servers in plan:
        name = f"servers_{nodes}" if len(servers) == 2 else f"alone_{nodes}"
        try:
            r = run_size(nodes, args, servers, args.fleet_bin, args.metrics_server_bin, args.kubemetrics_bin,
                         stand_in_api=len(servers) == 1 and args.alone_api == "stand-in")
            r["command"] = " ".join(sys.argv)
            if "metrics-server" in servers:
                r["metrics_server_version"] = ms_version
        except Exception as e:  # record where it stopped and why, go on with the next size
            log(f"{name}: FAILED: {e}")
            failures += 1
            r = {"nodes": nodes, "servers_planned": servers, "error": str(e)[-4000:], "machine": machine(),
                 "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "command": " ".join(sys.argv)}
        (args.results / f"{name}.json").write_text(json.dumps(r, indent=1, sort_keys=True) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
