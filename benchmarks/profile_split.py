#!/usr/bin/env python3
"""Splits a `perf record -g --call-graph dwarf` profile of `kubemetrics serve` into where a scrape
cycle's CPU goes: TLS, HTTP, parse, store, snapshot, serving, allocator, kernel, runtime.

    perf record -F 199 -g --call-graph dwarf,16384 -p "$(pgrep -f 'kubemetrics serve')" -o cycle.data -- sleep 15
    python3 benchmarks/profile_split.py cycle.data

Each sample goes to the first category (in the order below) whose pattern matches a frame of its
stack, searched from the leaf up, so "allocator" holds malloc/free wherever they were called
from and "parse" holds the parser's own code. Prints percentages of all samples.
"""
import re
import subprocess
import sys
from collections import Counter

# (category, pattern on a frame's symbol); leaf-most match wins, earlier categories first on ties
CATEGORIES = [
    ("allocator", re.compile(r"je_|rjem|malloc|free|realloc|rallocx|sdallocx|mallocx")),
    ("TLS (rustls, ring)", re.compile(r"rustls|ring_core|\bring::|aes_gcm|sha\d|x25519|nistz|fiat_|fe4_|ecp_")),
    ("parse (/metrics/resource)", re.compile(r"kubemetrics::scrape::(parse|summary)|NodeScrapeBuilder")),
    ("store", re.compile(r"kubemetrics::store::MetricsStore::(store|mark_failed|expire)")),
    ("snapshot build", re.compile(r"build_snapshot|Collector::rebuild|served_pods_unsorted|sort_served_pods|served_pods_detached|into_served")),
    ("serving (encode answers)", re.compile(r"kubemetrics::server::routes|serde_json::ser|metrics::protobuf::encode|list_to_wire_json|metrics_routes")),
    ("HTTP (hyper)", re.compile(r"hyper|h2::|http::|httparse|scrape::kubelet")),
    ("kernel (network, scheduling)", re.compile(r"\[k\]|^0x|entry_SYSCALL|do_syscall|_raw_spin|tcp_|sock_|epoll|schedule|finish_task_switch|__x64_sys")),
    ("runtime (tokio)", re.compile(r"tokio::")),
]


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    out = subprocess.run(["perf", "script", "-i", sys.argv[1], "-F", "sym,ip,dso"], capture_output=True, text=True, check=True).stdout
    counts: Counter = Counter()
    total = 0
    for block in out.split("\n\n"):
        frames = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if not frames:
            continue
        total += 1
        # perf prints "ip sym (dso)"; the kernel's frames carry "[kernel.kallsyms]"
        syms = [("[k] " if "kernel.kallsyms" in f else "") + f.split(" ", 1)[-1] for f in frames]
        cat = "other"
        for s in syms:  # leaf first
            hit = next((name for name, pat in CATEGORIES if pat.search(s)), None)
            if hit:
                cat = hit
                break
        counts[cat] += 1
    if not total:
        print("no samples")
        return 1
    print(f"{total} samples")
    for name, n in counts.most_common():
        print(f"  {100.0 * n / total:5.1f}%  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
