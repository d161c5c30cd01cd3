#!/usr/bin/env bash
# The Python and Node bindings' bulk reads against both servers of one generated cluster (see
# benchmarks/fixture_servers.sh): the JSON loopback API, and `kubemetrics serve`, which answers
# protobuf to the bindings (they ask for it first, as kubectl does) and JSON to the official clients.
# Each side runs in fresh processes through the bindings' own benchmarks
# (bindings-python/benchmarks/bench.py --child, bindings-node/benchmarks/bench.mjs --case);
# CPU is the client process's (user + system, after its imports), median of RUNS; peak RSS is the
# whole client process's.
# Needs the release CLI, the release wheel installed in bindings-python/.venv and the release
# Node addon built (npm run build).
# Usage: benchmarks/bindings_servers.sh [PODS] [RUNS]   (default 100000 pods, 3 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
PODS=${1:-100000}
RUNS=${2:-3}
NODES=1000
BIN=${KM_BIN:-target/release/kubemetrics}
PY=${KM_PYTHON:-bindings-python/.venv/bin/python}
export PYTHONWARNINGS=ignore  # the official client warns on every request to the unverified serving certificate
source benchmarks/fixture_servers.sh

for server in json protobuf; do
  kc=$TMP/kubeconfig; [[ $server == protobuf ]] && kc=$TMP/serve-kubeconfig
  for case in top list; do
    for side in kubemetrics official; do
      for _ in $(seq "$RUNS"); do
        echo "python $server $case $side $("$PY" bindings-python/benchmarks/bench.py --child "$case" "$side" "$kc")"
      done
    done
  done
  for case in top-pods list-sums; do
    for side in kubemetrics client-node; do
      echo "node $server $case $side $(cd bindings-node && node --expose-gc benchmarks/bench.mjs --case "$case" --side "$side" --kubeconfig "$kc" --pods "$PODS" --runs "$RUNS")"
    done
  done
done > "$TMP/results.txt"

python3 - "$TMP/results.txt" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    lang, server, case, side, data = line.split(" ", 4)
    rows.setdefault((lang, server, case), {}).setdefault(side, []).append(json.loads(data))
print("| binding | server (what the binding gets) | read | kubemetrics CPU | official CPU | ratio | kubemetrics peak RSS | official peak RSS | pods (both) |")
print("|---|---|---|---:|---:|---:|---:|---:|---|")
for (lang, server, case), sides in rows.items():
    ours = sides["kubemetrics"]
    theirs = next(v for k, v in sides.items() if k != "kubemetrics")
    cpu = lambda runs: statistics.median(r["cpu"] for r in runs) / (1000 if lang == "node" else 1)
    count = lambda runs: runs[0].get("n", runs[0].get("result", {}).get("count"))
    got = "loopback API (JSON)" if server == "json" else "kubemetrics serve (protobuf; the official client: JSON)"
    # The whole process's peak (Python: ru_maxrss of the child; Node: process.resourceUsage().maxRSS).
    peak = lambda runs: statistics.median(r.get("peak_kib", r.get("maxRssKiB", 0)) for r in runs) / 1024
    print(f"| {lang} | {got} | {case} | {cpu(ours):.3f} s | {cpu(theirs):.3f} s | {cpu(theirs) / cpu(ours):.2f}x | {peak(ours):.0f} MiB | {peak(theirs):.0f} MiB | {count(ours)} / {count(theirs)} |")
PY
