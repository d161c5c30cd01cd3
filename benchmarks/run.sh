#!/usr/bin/env bash
# Every side-by-side benchmark of issue 11, in one run, on this machine; writes the raw figures to
# benchmarks/results/*.json and regenerates the section of BENCHMARKS.md between the markers
# "<!-- BEGIN kubemetrics-bench -->" and "<!-- END kubemetrics-bench -->" (nothing else in the file).
#
#   benchmarks/run.sh --small    # CI size, a few minutes: quantity, top over 10,000 pods, servers at 100 nodes
#   benchmarks/run.sh            # full: quantity, top over 100,000 pods, servers at 100/1,000/5,000 nodes,
#                                #       kubemetrics alone at 20,000 nodes
#
# Options: --only quantity,top,servers   parts to run (default all)
#          --sizes 100,1000,5000         node counts for the side-by-side servers part ("none" for none)
#          --alone 10000,15000,20000     node counts for kubemetrics alone ("none" for none), against the
#                                        stand-in API (km-bench-fleet api; see benchmarks/servers.py)
#          --results DIR                 where the JSON goes (default benchmarks/results)
#          --markdown FILE               file whose section is regenerated (default BENCHMARKS.md; "" = none)
#
# Everything listens on and talks to 127.0.0.1 only; every load loop is bounded in requests and
# seconds. Builds run under `nice -n 19` (and Go with -p 1); measurements do not.
# Needs: cargo, python3, openssl, kubectl, Go (only to build metrics-server/the Go benchmark once).
set -euo pipefail
{
cd "$(dirname "$0")/.."
ROOT=$PWD
SMALL=0
ONLY="quantity,top,servers"
SIZES=""
ALONE="-"
RESULTS="$ROOT/benchmarks/results"
MARKDOWN="$ROOT/BENCHMARKS.md"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --small) SMALL=1 ;;
    --only) ONLY="$2"; shift ;;
    --sizes) SIZES="$2"; shift ;;
    --alone) ALONE="$2"; shift ;;
    --results) RESULTS="$2"; shift ;;
    --markdown) MARKDOWN="$2"; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
CACHE="${KM_CACHE_DIR:-$HOME/.cache/kubemetrics}"
APIMACHINERY_VERSION="${KM_APIMACHINERY_VERSION:-v0.36.2}"   # the one metrics-server v0.9.0 uses
if [[ $SMALL == 1 ]]; then
  TOP_PODS=10000; TOP_RUNS=3; CRIT_TIME=2; GO_TIME=1s; GO_COUNT=3; Q_ROUNDS=1
  [[ -n $SIZES ]] || SIZES=100
  [[ $ALONE != "-" ]] || ALONE=""
  CYCLES=3; LOAD_SECONDS=10
else
  TOP_PODS=100000; TOP_RUNS=3; CRIT_TIME=3; GO_TIME=1s; GO_COUNT=3; Q_ROUNDS=5
  [[ -n $SIZES ]] || SIZES=100,1000,5000
  [[ $ALONE != "-" ]] || ALONE=10000,15000,20000
  CYCLES=4; LOAD_SECONDS=30
fi
[[ $SIZES != none ]] || SIZES=""
[[ $ALONE != none ]] || ALONE=""
MODE=$([[ $SMALL == 1 ]] && echo small || echo full)
log() { printf '[run.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
want() { [[ ",$ONLY," == *",$1,"* ]]; }
export GOTOOLCHAIN=local
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-p=1"

# ---- builds (low priority; cargo serializes on its own lock) ----------------------------------
log "building kubemetrics (release)"
nice -n 19 cargo build -q --release -p kubemetrics-cli
KM_BIN="$ROOT/target/release/kubemetrics"
if want servers; then
  log "building the fleet helper (benchmarks/fleet, workspace lock file and target dir)"
  cp "$ROOT/Cargo.lock" "$ROOT/benchmarks/fleet/Cargo.lock"
  CARGO_TARGET_DIR="$ROOT/target" nice -n 19 cargo build -q --release --manifest-path "$ROOT/benchmarks/fleet/Cargo.toml"
  FLEET_BIN="$ROOT/target/release/km-bench-fleet"
  bash "$ROOT/benchmarks/build-metrics-server.sh"
  bash "$ROOT/tests/e2e/build-control-plane.sh"
fi

# ---- (a) quantity: criterion vs apimachinery's resource.ParseQuantity --------------------------
if want quantity; then
  log "quantity: building the criterion bench"
  CRIT_BIN=$(nice -n 19 cargo bench -p kubemetrics --bench quantity --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == "quantity" and m.get("executable"):
        print(m["executable"])' | tail -1)
  [[ -x "$CRIT_BIN" ]] || { echo "could not build the criterion bench" >&2; exit 1; }
  GOMOD="$CACHE/quantity-bench"
  mkdir -p "$GOMOD"
  cp "$ROOT/benchmarks/go-quantity/quantity_test.go" "$GOMOD/"
  if ! grep -q "k8s.io/apimachinery $APIMACHINERY_VERSION" "$GOMOD/go.mod" 2>/dev/null; then
    printf 'module kubemetrics.invalid/quantitybench\n\ngo 1.24\n' > "$GOMOD/go.mod"
    rm -f "$GOMOD/go.sum"
    (cd "$GOMOD" && go get "k8s.io/apimachinery@$APIMACHINERY_VERSION" && go mod tidy)
  fi
  log "quantity: building the Go benchmark (apimachinery $APIMACHINERY_VERSION)"
  (cd "$GOMOD" && nice -n 19 go test -c -o quantitybench.test .)
  # Alternate the two, round after round, and keep each side's best round: other processes on a
  # shared machine only ever make a round slower.
  rm -f "$RESULTS"/quantity_criterion_*.txt "$RESULTS"/quantity_go_*.txt
  for round in $(seq "$Q_ROUNDS"); do
    log "quantity: round $round/$Q_ROUNDS: criterion (${CRIT_TIME}s per bench), then Go (-benchtime $GO_TIME -count $GO_COUNT)"
    CH="$RESULTS/.criterion-$round"; rm -rf "$CH"
    (cd "$ROOT/core" && CRITERION_HOME="$CH" "$CRIT_BIN" --bench --warm-up-time 1 --measurement-time "$CRIT_TIME") \
      > "$RESULTS/quantity_criterion_$round.txt" 2>&1 || { cat "$RESULTS/quantity_criterion_$round.txt" >&2; exit 1; }
    (cd "$GOMOD" && ./quantitybench.test -test.run '^$' -test.bench . -test.benchtime "$GO_TIME" -test.count "$GO_COUNT") \
      > "$RESULTS/quantity_go_$round.txt"
  done
  python3 - "$RESULTS" "$APIMACHINERY_VERSION" "$(go env GOVERSION)" "$(rustc --version)" "$MODE" <<'PY'
import json, re, shutil, statistics, sys, time, pathlib
res, apim, gov, rustv, mode = pathlib.Path(sys.argv[1]), *sys.argv[2:]
rust, go = {}, {}
for ch in sorted(res.glob(".criterion-*")):
    for bj in ch.glob("**/new/benchmark.json"):
        name = json.load(open(bj))["full_id"]
        e = json.load(open(bj.parent / "estimates.json"))
        rust.setdefault(name, []).append(e["median"]["point_estimate"])
    shutil.rmtree(ch)
for f in sorted(res.glob("quantity_go_*.txt")):
    per = {}
    for line in f.read_text().splitlines():
        m = re.match(r"^Benchmark(\w+?)(-\d+)?\s+\d+\s+([\d.]+) ns/op", line)
        if m:
            per.setdefault(m.group(1), []).append(float(m.group(3)))
    for k, v in per.items():
        go.setdefault(k, []).append(statistics.median(v))
pairs = {"parse": ("parse (10 metrics-server values)", "Parse"),
         "format": ("format (10 values)", "Format"),
         "parse_format_milli": ("parse + format + milli (10 values)", "ParseFormatMilli")}
rows = {}
for key, (rname, gname) in pairs.items():
    if rname in rust and gname in go:
        rows[key] = {"kubemetrics_ns_per_10": min(rust[rname]), "apimachinery_ns_per_10": min(go[gname]),
                     "kubemetrics_rounds": rust[rname], "apimachinery_rounds": go[gname]}
out = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "mode": mode, "apimachinery": apim, "go": gov,
       "rounds": len(next(iter(rust.values()), [])), "loadavg": list(__import__("os").getloadavg()),
       "rustc": rustv, "rows": rows,
       "command": "benchmarks/run.sh --only quantity" + (" --small" if mode == "small" else "")}
(res / "quantity.json").write_text(json.dumps(out, indent=1) + "\n")
for k, r in rows.items():
    print(f"quantity {k}: kubemetrics {r['kubemetrics_ns_per_10']/10:.1f} ns/value, apimachinery {r['apimachinery_ns_per_10']/10:.1f} ns/value")
PY
fi

# ---- (b) top pod -A: kubectl vs kubemetrics (benchmarks/top_pods.sh) --------------------------
if want top; then
  log "top: benchmarks/top_pods.sh $TOP_PODS $TOP_RUNS"
  bash "$ROOT/benchmarks/top_pods.sh" "$TOP_PODS" "$TOP_RUNS" > "$RESULTS/top_pods_$TOP_PODS.txt" 2>&1 \
    || { cat "$RESULTS/top_pods_$TOP_PODS.txt" >&2; exit 1; }
  cat "$RESULTS/top_pods_$TOP_PODS.txt" >&2
  python3 - "$RESULTS" "$TOP_PODS" "$TOP_RUNS" "$MODE" "$(kubectl version --client -o json 2>/dev/null | python3 -c 'import json,sys;print(json.load(sys.stdin)["clientVersion"]["gitVersion"])' 2>/dev/null || echo unknown)" <<'PY'
import json, sys, time, pathlib, statistics
res, pods, runs, mode, kver = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
txt = (res / f"top_pods_{pods}.txt").read_text().splitlines()
rows = {"kubectl": [], "kubemetrics": []}
identical = None
for l in txt:
    p = l.split()
    if len(p) == 3 and p[0] in rows:
        rows[p[0]].append((float(p[1]), int(p[2])))
    if l.startswith("outputs: identical"):
        identical = l
    if l.startswith("outputs: DIFFERENT"):
        identical = False
out = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "mode": mode, "pods": pods, "runs": runs,
       "kubectl_on_path": kver, "identical": identical,
       "kubectl": {"wall_s": [r[0] for r in rows["kubectl"]], "peak_rss_kib": [r[1] for r in rows["kubectl"]]},
       "kubemetrics": {"wall_s": [r[0] for r in rows["kubemetrics"]], "peak_rss_kib": [r[1] for r in rows["kubemetrics"]]},
       "command": f"benchmarks/top_pods.sh {pods} {runs}"}
(res / f"top_pods_{pods}.json").write_text(json.dumps(out, indent=1) + "\n")
PY
fi

# ---- (c) servers side by side ---------------------------------------------------------------
if want servers; then
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  log "servers: sizes $SIZES, alone ${ALONE:-none}, $CYCLES cycles, load ${LOAD_SECONDS}s"
  rc=0
  python3 "$ROOT/benchmarks/servers.py" --sizes "$SIZES" --alone "$ALONE" --cycles "$CYCLES" \
    --load-seconds "$LOAD_SECONDS" --results "$RESULTS" --fleet-bin "$FLEET_BIN" \
    --kubemetrics-bin "$KM_BIN" --metrics-server-bin "$CACHE/bin/metrics-server" || rc=$?
  [[ $rc == 0 ]] || log "servers: at least one size failed (recorded in its JSON)"
fi

if [[ -n $MARKDOWN ]]; then
  python3 "$ROOT/benchmarks/report.py" --results "$RESULTS" --markdown "$MARKDOWN"
  log "wrote the kubemetrics-bench section of $MARKDOWN"
fi
exit "${rc:-0}"
}
