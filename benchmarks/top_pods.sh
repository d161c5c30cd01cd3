#!/usr/bin/env bash
# kubemetrics top pod -A vs kubectl top pod -A over a generated cluster served on loopback:
# wall time and peak RSS of each, in one run, and a check that both print the same bytes.
# Usage: benchmarks/top_pods.sh [PODS] [RUNS]   (default 100000 pods, 3 runs each)
set -euo pipefail
cd "$(dirname "$0")/.."
PODS=${1:-100000}
RUNS=${2:-3}
# KM_BIN: a kubemetrics binary to use (benchmarks/run.sh --small passes its dev build).
if [[ -n ${KM_BIN:-} ]]; then
  BIN=$KM_BIN
else
  cargo build -q --release -p kubemetrics-cli
  BIN=target/release/kubemetrics
fi
TMP=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$TMP"' EXIT
$BIN loopback-api --scale-pods "$PODS" --scale-nodes 1000 --write-kubeconfig "$TMP/kubeconfig" > "$TMP/server.log" &
SERVER=$!
for _ in $(seq 50); do grep -q serving "$TMP/server.log" 2>/dev/null && break; sleep 0.2; done
measure() {  # measure NAME CMD... -> prints "NAME wall_s peak_kb" per run, best run last
  local name=$1; shift
  for i in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$TMP/time" "$@" > "$TMP/$name.out" 2>/dev/null
    echo "$name $(cat "$TMP/time")"
  done
}
echo "pods=$PODS runs=$RUNS machine: $(nproc) cores, $(uname -m)"
measure kubectl kubectl --kubeconfig "$TMP/kubeconfig" --cache-dir "$TMP/cache" top pod -A | tee "$TMP/k.txt"
measure kubemetrics $BIN top pod -A --kubeconfig "$TMP/kubeconfig" | tee "$TMP/m.txt"
if cmp -s "$TMP/kubectl.out" "$TMP/kubemetrics.out"; then echo "outputs: identical ($(wc -l < "$TMP/kubectl.out") lines)"; else echo "outputs: DIFFERENT"; diff <(head -50 "$TMP/kubectl.out") <(head -50 "$TMP/kubemetrics.out") | head; exit 1; fi
python3 - "$TMP/k.txt" "$TMP/m.txt" <<'PY'
import sys, statistics
def load(p):
    rows = [l.split() for l in open(p)]
    return statistics.median(float(r[1]) for r in rows), max(int(r[2]) for r in rows)
kt, km = load(sys.argv[1]); mt, mm = load(sys.argv[2])
print(f"| tool | median wall (s) | peak RSS (MiB) |\n|---|---|---|")
print(f"| kubectl top pod -A | {kt:.2f} | {km/1024:.0f} |")
print(f"| kubemetrics top pod -A | {mt:.2f} | {mm/1024:.0f} |")
print(f"ratio (kubectl / kubemetrics): wall {kt/mt:.1f}x, memory {km/mm:.1f}x")
PY
