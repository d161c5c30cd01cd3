#!/usr/bin/env bash
# km_client_top_pods (C, all namespaces, every row read) vs `kubemetrics top pod -A` (the CLI),
# in one run against the same `kubemetrics loopback-api --scale-pods PODS` server, release builds
# of both: CPU time (user + sys), wall time and peak RSS of each whole process (/usr/bin/time),
# median over RUNS alternating runs, and the ratio C / CLI. Also checks that both saw the same
# number of pods and the same totals (the CLI's --sum row).
# Usage: bindings-c/benchmarks/run.sh [PODS] [RUNS]   (default 100000 pods, 5 runs each)
# Env: CARGO_TARGET_DIR (default target/), KM_NO_BUILD=1 to use the release builds already there.
set -euo pipefail
trap 'echo "run.sh: failed at line $LINENO" >&2' ERR
cd "$(dirname "$0")/../.."
ROOT=$PWD
PODS=${1:-100000}
RUNS=${2:-5}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
WORK=$TARGET/kubemetrics-c-bench
mkdir -p "$WORK/lib"
if [[ ${KM_NO_BUILD:-0} != 1 ]]; then
  nice -n 5 cargo build -q --release -p kubemetrics-cli -p kubemetrics-c
fi
BIN=$TARGET/release/kubemetrics
# The release library under the name it is linked by (its SONAME, see bindings-c/build.rs).
rm -f "$WORK/lib/libkubemetrics.so.0" "$WORK/lib/libkubemetrics.so"
cp "$TARGET/release/libkubemetrics_c.so" "$WORK/lib/libkubemetrics.so.0"
ln -sf libkubemetrics.so.0 "$WORK/lib/libkubemetrics.so"
cc -std=c11 -O2 -Wall -Wextra -Werror -Ibindings-c/include bindings-c/benchmarks/top_pods.c -o "$WORK/top_pods" \
  -L"$WORK/lib" -lkubemetrics -Wl,-rpath,"$WORK/lib"

"$BIN" loopback-api --scale-pods "$PODS" --scale-nodes 1000 --write-kubeconfig "$WORK/kubeconfig" > "$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 300); do grep -q '^serving on ' "$WORK/server.log" 2>/dev/null && break; sleep 0.1; done
grep -q '^serving on ' "$WORK/server.log" || { cat "$WORK/server.log" >&2; exit 1; }

# One warm-up of each (the server builds its answer once per request; page cache, connections).
"$BIN" top pod -A --sum --kubeconfig "$WORK/kubeconfig" > "$WORK/cli.out"
"$WORK/top_pods" "$WORK/kubeconfig" > "$WORK/c.out"
cli_rows=$(($(wc -l < "$WORK/cli.out") - 3))   # header, the --sum separator and total rows
c_rows=$(sed -n 's/.*rows=\([0-9]*\).*/\1/p' "$WORK/c.out")
echo "pods=$PODS runs=$RUNS machine: $(nproc) cores, $(uname -m); C rows=$c_rows CLI rows=$cli_rows"
echo "C totals: $(grep -o 'cpu_total=[^ ]* memory_total=[^ ]*' "$WORK/c.out"); CLI --sum row: $(tail -n 1 "$WORK/cli.out" | tr -s ' ')"
[[ $c_rows == "$cli_rows" ]] || { echo "row counts differ" >&2; exit 1; }

: > "$WORK/times"
for i in $(seq "$RUNS"); do
  /usr/bin/time -f "cli %U %S %e %M" -a -o "$WORK/times" "$BIN" top pod -A --kubeconfig "$WORK/kubeconfig" > /dev/null
  /usr/bin/time -f "c %U %S %e %M" -a -o "$WORK/times" "$WORK/top_pods" "$WORK/kubeconfig" > /dev/null
done
python3 - "$WORK/times" <<'PY'
import sys, statistics
rows = {}
for line in open(sys.argv[1]):
    name, user, sys_, wall, rss = line.split()
    rows.setdefault(name, []).append((float(user) + float(sys_), float(wall), int(rss)))
def med(name, i):
    return statistics.median(r[i] for r in rows[name])
print("| process | median CPU (user+sys, s) | median wall (s) | peak RSS (MiB, max) |")
print("|---|---|---|---|")
for name, label in (("cli", "kubemetrics top pod -A (CLI)"), ("c", "C: km_client_top_pods, all rows read")):
    print(f"| {label} | {med(name, 0):.3f} | {med(name, 1):.3f} | {max(r[2] for r in rows[name]) / 1024:.0f} |")
print(f"ratio C / CLI: CPU {med('c', 0) / med('cli', 0):.2f}, wall {med('c', 1) / med('cli', 1):.2f}, "
      f"peak RSS {max(r[2] for r in rows['c']) / max(r[2] for r in rows['cli']):.2f}")
print("runs (name cpu wall rss_kib):", "; ".join(f"{n} {c:.2f} {w:.2f} {r}" for n, v in rows.items() for c, w, r in v))
PY
