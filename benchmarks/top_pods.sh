#!/usr/bin/env bash
# kubemetrics top pod -A vs kubectl top pod -A over one generated cluster, served on loopback twice:
#   1. by `kubemetrics loopback-api` (a stand-in kube-apiserver that answers JSON), and
#   2. by `kubemetrics serve --fixture-pods` (the metrics server itself, which answers protobuf to
#      clients that ask for it, as kubectl and kubemetrics both do; JSON otherwise).
# For each: wall time, CPU time (user+system) and peak RSS of each client, in one run, and a check
# that both print the same bytes.
# Usage: benchmarks/top_pods.sh [PODS] [RUNS]   (default 100000 pods, 3 runs each)
# Output lines: "NAME wall_s peak_kib cpu_s" per run; NAME is kubectl/kubemetrics (JSON from the
# loopback API) or kubectl-pb/kubemetrics-pb (protobuf from kubemetrics serve).
set -euo pipefail
cd "$(dirname "$0")/.."
PODS=${1:-100000}
RUNS=${2:-3}
NODES=1000
# KM_BIN: a kubemetrics binary to use (benchmarks/run.sh --small passes its dev build).
if [[ -n ${KM_BIN:-} ]]; then
  BIN=$KM_BIN
else
  cargo build -q --release -p kubemetrics-cli
  BIN=target/release/kubemetrics
fi
source benchmarks/fixture_servers.sh

measure() {  # measure NAME CMD... -> prints "NAME wall_s peak_kib cpu_s" per run
  local name=$1; shift
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M %U %S" -o "$TMP/time" "$@" > "$TMP/$name.out" 2>"$TMP/$name.err" \
      || { echo "$name failed:" >&2; cat "$TMP/$name.err" >&2; exit 1; }
    read -r wall rss user sys < "$TMP/time"
    echo "$name $wall $rss $(python3 -c "print(round($user + $sys, 2))")"
  done
}
same() {  # same A B: both clients printed the same bytes
  if cmp -s "$TMP/$1.out" "$TMP/$2.out"; then echo "outputs $1 = $2: identical ($(wc -l < "$TMP/$1.out") lines)"
  else echo "outputs $1 / $2: DIFFERENT"; diff <(head -50 "$TMP/$1.out") <(head -50 "$TMP/$2.out") | head; exit 1; fi
}
echo "pods=$PODS runs=$RUNS machine: $(nproc) cores, $(uname -m)"
{
  measure kubectl kubectl --kubeconfig "$TMP/kubeconfig" --cache-dir "$TMP/cache" top pod -A
  measure kubemetrics $BIN top pod -A --kubeconfig "$TMP/kubeconfig"
  measure kubectl-pb kubectl --kubeconfig "$TMP/serve-kubeconfig" --cache-dir "$TMP/cache-pb" top pod -A
  measure kubemetrics-pb $BIN top pod -A --kubeconfig "$TMP/serve-kubeconfig"
} | tee "$TMP/times.txt"
same kubectl kubemetrics
same kubectl-pb kubemetrics-pb
same kubectl kubectl-pb
python3 - "$TMP/times.txt" <<'PY'
import sys, statistics
rows = {}
for line in open(sys.argv[1]):
    name, wall, rss, cpu = line.split()
    rows.setdefault(name, []).append((float(wall), int(rss), float(cpu)))
med = lambda name, i: statistics.median(r[i] for r in rows[name])
print("| server | client | median wall (s) | median CPU (s) | peak RSS (MiB) |\n|---|---|---|---|---|")
for server, suffix in (("loopback-api (JSON)", ""), ("kubemetrics serve (protobuf)", "-pb")):
    for client in ("kubectl", "kubemetrics"):
        n = client + suffix
        print(f"| {server} | {client} top pod -A | {med(n, 0):.2f} | {med(n, 2):.2f} | {max(r[1] for r in rows[n]) / 1024:.0f} |")
    k, m = "kubectl" + suffix, "kubemetrics" + suffix
    print(f"ratio on {server} (kubectl / kubemetrics): wall {med(k, 0) / med(m, 0):.1f}x, CPU {med(k, 2) / med(m, 2):.1f}x, "
          f"memory {max(r[1] for r in rows[k]) / max(r[1] for r in rows[m]):.1f}x")
PY
