#!/usr/bin/env bash
# Every side-by-side benchmark of issue 11, in one run, on this machine; writes the raw figures to
# benchmarks/results/*.json and regenerates the section of BENCHMARKS.md between the markers
# "<!-- BEGIN kubemetrics-bench -->" and "<!-- END kubemetrics-bench -->" (nothing else in the file).
#
#   benchmarks/run.sh --small    # CI size, ~5 min once built: quantity, top over 10,000 pods, servers at 100 nodes (2 cycles)
#                                # (scripts/test.sh runs it so that it cannot rot; figures not asserted)
#   benchmarks/run.sh            # full: quantity, top over 100,000 pods, servers at 100/1,000/5,000 nodes,
#                                #       kubemetrics alone at 20,000 nodes
#
# Options: --only quantity,top,servers   parts to run (default all)
#          --sizes 100,1000,5000         node counts for the side-by-side servers part ("none" for none)
#          --alone 10000,15000,20000     node counts for kubemetrics alone ("none" for none), against the
#                                        stand-in API (km-bench-fleet api; see benchmarks/servers.py)
#          --results DIR                 where the JSON goes (default benchmarks/results)
#          --markdown FILE               file whose section is regenerated (default BENCHMARKS.md; "" = none)
#          (env) KM_METRICS_SERVER_VERSION  metrics-server release to build and run side by side (default v0.8.0,
#                                        recorded in each servers_*.json as metrics_server_version)
#          --bindings release|prebuilt|none  the Python/Node rows of the quantity part: "release" (default
#                                        of a full run) builds a release wheel into target/bench-venv and a
#                                        release addon into target/bench-node; "prebuilt" (default with
#                                        --small) uses what the binding test scripts built (dev profile:
#                                        ${KM_VENV:-bindings-python/.venv}, bindings-node/*.node) and skips
#                                        a binding's rows, saying so, when it is not there
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
BINDINGS=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --small) SMALL=1 ;;
    --only) ONLY="$2"; shift ;;
    --sizes) SIZES="$2"; shift ;;
    --alone) ALONE="$2"; shift ;;
    --results) RESULTS="$2"; shift ;;
    --markdown) MARKDOWN="$2"; shift ;;
    --bindings) BINDINGS="$2"; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
CACHE="${KM_CACHE_DIR:-$HOME/.cache/kubemetrics}"
# The metrics-server release the side-by-side figures use (recorded in each servers_*.json), and
# the apimachinery its go.mod selects (the Go side of the quantity benchmark).
METRICS_SERVER_VERSION="${KM_METRICS_SERVER_VERSION:-v0.8.0}"
APIMACHINERY_VERSION="${KM_APIMACHINERY_VERSION:-v0.33.2}"   # the one metrics-server v0.8.0 uses
if [[ $SMALL == 1 ]]; then
  TOP_PODS=10000; TOP_RUNS=3; CRIT_TIME=2; GO_TIME=1s; GO_COUNT=3; Q_ROUNDS=1; QB_REPEAT=3; QB_SECONDS=0.1
  [[ -n $BINDINGS ]] || BINDINGS=prebuilt
  [[ -n $SIZES ]] || SIZES=100
  [[ $ALONE != "-" ]] || ALONE=""
  CYCLES=2; LOAD_SECONDS=10
else
  TOP_PODS=100000; TOP_RUNS=3; CRIT_TIME=3; GO_TIME=1s; GO_COUNT=3; Q_ROUNDS=5; QB_REPEAT=5; QB_SECONDS=0.2
  [[ -n $BINDINGS ]] || BINDINGS=release
  [[ -n $SIZES ]] || SIZES=100,1000,5000
  [[ $ALONE != "-" ]] || ALONE=10000,15000,20000
  CYCLES=4; LOAD_SECONDS=30
fi
[[ $SIZES != none ]] || SIZES=""
[[ $ALONE != none ]] || ALONE=""
case $BINDINGS in release|prebuilt|none) ;; *) echo "--bindings: release, prebuilt or none, not $BINDINGS" >&2; exit 2 ;; esac
MODE=$([[ $SMALL == 1 ]] && echo small || echo full)
log() { printf '[run.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
want() { [[ ",$ONLY," == *",$1,"* ]]; }
export GOTOOLCHAIN=local
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-p=1"

# ---- builds (low priority; cargo serializes on its own lock) ----------------------------------
# --small only proves the scripts work, so it uses the dev profile the test stages already built
# (a cold release build of everything would cost CI many minutes); its figures say so.
if [[ $SMALL == 1 ]]; then PROFILE_ARGS=(); PROFILE_DIR=debug; BENCH_PROFILE=(--profile dev); else PROFILE_ARGS=(--release); PROFILE_DIR=release; BENCH_PROFILE=(); fi
log "building kubemetrics ($PROFILE_DIR)"
nice -n 19 cargo build -q "${PROFILE_ARGS[@]}" -p kubemetrics-cli
# Where cargo put it: CARGO_TARGET_DIR when the caller set one (CI caches, shared builds).
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
KM_BIN="$TARGET_DIR/$PROFILE_DIR/kubemetrics"
if want servers; then
  log "building the fleet helper (benchmarks/fleet, workspace lock file and target dir)"
  cp "$ROOT/Cargo.lock" "$ROOT/benchmarks/fleet/Cargo.lock"
  CARGO_TARGET_DIR="$TARGET_DIR" nice -n 19 cargo build -q "${PROFILE_ARGS[@]}" --manifest-path "$ROOT/benchmarks/fleet/Cargo.toml"
  FLEET_BIN="$TARGET_DIR/$PROFILE_DIR/km-bench-fleet"
  KM_METRICS_SERVER_VERSION="$METRICS_SERVER_VERSION" bash "$ROOT/benchmarks/build-metrics-server.sh"
  bash "$ROOT/tests/e2e/build-control-plane.sh"
fi

# ---- (a) quantity: criterion vs apimachinery's resource.ParseQuantity --------------------------
if want quantity; then
  log "quantity: building the criterion bench"
  CRIT_BIN=$(nice -n 19 cargo bench "${BENCH_PROFILE[@]}" -p kubemetrics --bench quantity --no-run --message-format=json 2>/dev/null \
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
  # All sides parse the ten values of core/benches/quantity.rs: the Python and Node benchmarks read
  # that list themselves; the Go file has it as a literal, checked here.
  python3 - "$ROOT/core/benches/quantity.rs" "$ROOT/benchmarks/go-quantity/quantity_test.go" <<'PY'
import re, sys
rs, go = (open(p).read() for p in sys.argv[1:])
a = re.findall(r'"([^"]*)"', re.search(r"const VALUES: &\[&str\] = &\[(.*?)\];", rs, re.S).group(1))
b = re.findall(r'"([^"]*)"', re.search(r"var values = \[\]string\{(.*?)\}", go, re.S).group(1))
if a != b:
    sys.exit(f"quantity values differ: core/benches/quantity.rs {a} vs benchmarks/go-quantity/quantity_test.go {b}")
PY

  # The Python and Node bindings against the official clients' helpers (kubernetes.utils.parse_quantity,
  # @kubernetes/client-node's quantityToScalar). A binding that cannot be had is skipped, with the
  # reason in quantity.json and in the table; a benchmark script that fails fails this script.
  PY_BENCH=""; PY_BUILD=""; PY_SKIP=""; NODE_ADDON=""; NODE_BUILD=""; NODE_SKIP=""
  node_deps() {  # bindings-node/node_modules with client-node (and, to build, the napi CLI) as its test script installs them
    [[ -f "$ROOT/bindings-node/node_modules/@kubernetes/client-node/package.json" ]] \
      && [[ $BINDINGS != release || -x "$ROOT/bindings-node/node_modules/.bin/napi" ]] && return 0
    log "quantity: npm ci (bindings-node)"
    (cd "$ROOT/bindings-node" && export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false \
      && { npm ci --loglevel=error 2>/dev/null || npm install --loglevel=error; })
  }
  if [[ $BINDINGS == none ]]; then
    PY_SKIP="not requested (--bindings none)"; NODE_SKIP="$PY_SKIP"
  elif [[ $BINDINGS == prebuilt ]]; then
    py="${KM_VENV:-$ROOT/bindings-python/.venv}/bin/python"
    if [[ -x $py ]] && "$py" -c 'import kubemetrics._native, kubernetes' 2>/dev/null; then
      venvdir=${py%/bin/python}; venvdir=${venvdir#"$ROOT"/}
      PY_BENCH=$py; PY_BUILD="prebuilt: the wheel installed in $venvdir (bindings-python/scripts/test.sh builds it in the dev profile)"
    else
      PY_SKIP="no Python binding built: $py cannot import kubemetrics and kubernetes (run bash bindings-python/scripts/test.sh, or use --bindings release)"
    fi
    if ! command -v node >/dev/null 2>&1; then
      NODE_SKIP="no node on PATH"
    elif ! compgen -G "$ROOT/bindings-node/*.node" >/dev/null; then
      NODE_SKIP="no Node addon built: no bindings-node/*.node (run bash bindings-node/scripts/test.sh, or use --bindings release)"
    elif ! node_deps; then
      NODE_SKIP="npm could not install bindings-node's dependencies"
    else
      NODE_BUILD="prebuilt: $(cd "$ROOT" && ls bindings-node/*.node | head -1) (bindings-node/scripts/test.sh builds it in the debug profile)"
    fi
  else
    venv="$ROOT/target/bench-venv"
    log "quantity: release wheel of the Python binding into $venv"
    wheels=$(mktemp -d)
    if { [[ -x $venv/bin/python ]] || python3 -m venv "$venv"; } \
       && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'maturin>=1.9.4,<2' 'kubernetes>=25' \
       && nice -n 19 "$venv/bin/maturin" build --release --quiet --out "$wheels" --manifest-path "$ROOT/bindings-python/Cargo.toml" --interpreter "$venv/bin/python" \
       && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheels"/kubemetrics-*.whl; then
      PY_BENCH="$venv/bin/python"; PY_BUILD="release wheel (maturin build --release), installed in target/bench-venv"
    else
      PY_SKIP="the release wheel of the Python binding could not be built or installed (see the log above)"
    fi
    rm -rf "$wheels"
    if ! command -v node >/dev/null 2>&1; then
      NODE_SKIP="no node on PATH"
    elif ! node_deps; then
      NODE_SKIP="npm could not install bindings-node's dependencies"
    else
      log "quantity: release addon of the Node binding into target/bench-node"
      out=$(mktemp -d)
      # Into a scratch folder: the package's index.js / index.d.ts / *.node stay as they are.
      if (cd "$ROOT/bindings-node" && nice -n 19 npm run --silent build -- --output-dir "$out" >&2) \
         && mkdir -p "$ROOT/target/bench-node" && cp "$out"/*.node "$ROOT/target/bench-node/kubemetrics.node"; then
        NODE_ADDON="$ROOT/target/bench-node/kubemetrics.node"; NODE_BUILD="release addon (napi build --release), target/bench-node/kubemetrics.node"
      else
        NODE_SKIP="the release addon of the Node binding could not be built (see the log above)"
      fi
      rm -rf "$out"
    fi
  fi
  [[ -z $PY_SKIP ]] || log "quantity: Python rows skipped: $PY_SKIP"
  [[ -z $NODE_SKIP ]] || log "quantity: Node rows skipped: $NODE_SKIP"
  # Alternate the two, round after round, and keep each side's best round: other processes on a
  # shared machine only ever make a round slower.
  rm -f "$RESULTS"/quantity_criterion_*.txt "$RESULTS"/quantity_go_*.txt "$RESULTS"/.quantity_py_*.json "$RESULTS"/.quantity_node_*.json
  for round in $(seq "$Q_ROUNDS"); do
    log "quantity: round $round/$Q_ROUNDS: criterion (${CRIT_TIME}s per bench), then Go (-benchtime $GO_TIME -count $GO_COUNT)"
    CH="$RESULTS/.criterion-$round"; rm -rf "$CH"
    (cd "$ROOT/core" && CRITERION_HOME="$CH" "$CRIT_BIN" --bench --warm-up-time 1 --measurement-time "$CRIT_TIME") \
      > "$RESULTS/quantity_criterion_$round.txt" 2>&1 || { cat "$RESULTS/quantity_criterion_$round.txt" >&2; exit 1; }
    (cd "$GOMOD" && ./quantitybench.test -test.run '^$' -test.bench . -test.benchtime "$GO_TIME" -test.count "$GO_COUNT") \
      > "$RESULTS/quantity_go_$round.txt"
    if [[ -n $PY_BENCH ]]; then
      log "quantity: round $round/$Q_ROUNDS: Python binding vs kubernetes.utils.parse_quantity"
      "$PY_BENCH" "$ROOT/bindings-python/benchmarks/bench.py" --quantity-only --repeat "$QB_REPEAT" --seconds "$QB_SECONDS" \
        --json "$RESULTS/.quantity_py_$round.json" >&2
    fi
    if [[ -n $NODE_BUILD ]]; then
      log "quantity: round $round/$Q_ROUNDS: Node binding vs @kubernetes/client-node quantityToScalar"
      KM_NODE_ADDON="$NODE_ADDON" node "$ROOT/bindings-node/benchmarks/bench.mjs" --quantity-only --repeat "$QB_REPEAT" \
        --seconds "$QB_SECONDS" --json "$RESULTS/.quantity_node_$round.json" >&2
    fi
  done
  KM_PY_BUILD="$PY_BUILD" KM_PY_SKIP="$PY_SKIP" KM_NODE_BUILD="$NODE_BUILD" KM_NODE_SKIP="$NODE_SKIP" \
  python3 - "$RESULTS" "$APIMACHINERY_VERSION" "$(go env GOVERSION)" "$(rustc --version)" "$MODE" "$BINDINGS" <<'PY'
import json, os, re, shutil, statistics, sys, time, pathlib
res, apim, gov, rustv, mode, bindings = pathlib.Path(sys.argv[1]), *sys.argv[2:]
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
def binding(lang, tool_keys):
    """Best round per side and operation of the bindings' --quantity-only runs (ns per value)."""
    files = sorted(res.glob(f".quantity_{lang}_*.json"))
    if not files:
        return {"skipped": os.environ.get(f"KM_{lang.upper()}_SKIP") or "not run"}
    runs = [json.loads(f.read_text()) for f in files]
    for f in files:
        f.unlink()
    b = {k: runs[0].get(k) for k in tool_keys}
    b.update(build=os.environ.get(f"KM_{lang.upper()}_BUILD"), values=runs[0]["values"],
             repeat_per_round=runs[0]["repeat"], rows={})
    for key, r0 in runs[0]["rows"].items():
        ours = [r["rows"][key]["kubemetrics_ns_per_value"] for r in runs]
        theirs = [r["rows"][key]["official_ns_per_value"] for r in runs]
        b["rows"][key] = {"kubemetrics": r0["kubemetrics"], "official": r0["official"],
                          "kubemetrics_ns_per_value": min(ours), "official_ns_per_value": min(theirs),
                          "kubemetrics_rounds": ours, "official_rounds": theirs}
    return b

out = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "mode": mode, "apimachinery": apim, "go": gov,
       "rounds": len(next(iter(rust.values()), [])), "loadavg": list(os.getloadavg()),
       "rustc": rustv, "rows": rows,
       "python": binding("py", ("python", "kubernetes", "kubemetrics")),
       "node": binding("node", ("node", "client_node")),
       "command": "benchmarks/run.sh --only quantity" + (" --small" if mode == "small" else "")
                  + ("" if bindings == ("prebuilt" if mode == "small" else "release") else f" --bindings {bindings}")}
(res / "quantity.json").write_text(json.dumps(out, indent=1) + "\n")
for k, r in rows.items():
    print(f"quantity {k}: kubemetrics {r['kubemetrics_ns_per_10']/10:.1f} ns/value, apimachinery {r['apimachinery_ns_per_10']/10:.1f} ns/value")
for lang, official in (("python", "kubernetes"), ("node", "client-node")):
    b = out[lang]
    if "skipped" in b:
        print(f"quantity {lang}: skipped: {b['skipped']}")
    for k, r in b.get("rows", {}).items():
        print(f"quantity {lang} {k}: kubemetrics {r['kubemetrics_ns_per_value']:.0f} ns/value, {official} {r['official_ns_per_value']:.0f} ns/value")
PY
fi

# ---- (b) top pod -A: kubectl vs kubemetrics (benchmarks/top_pods.sh) --------------------------
if want top; then
  log "top: benchmarks/top_pods.sh $TOP_PODS $TOP_RUNS"
  KM_BIN="$KM_BIN" bash "$ROOT/benchmarks/top_pods.sh" "$TOP_PODS" "$TOP_RUNS" > "$RESULTS/top_pods_$TOP_PODS.txt" 2>&1 \
    || { cat "$RESULTS/top_pods_$TOP_PODS.txt" >&2; exit 1; }
  cat "$RESULTS/top_pods_$TOP_PODS.txt" >&2
  python3 - "$RESULTS" "$TOP_PODS" "$TOP_RUNS" "$MODE" "$(kubectl version --client -o json 2>/dev/null | python3 -c 'import json,sys;print(json.load(sys.stdin)["clientVersion"]["gitVersion"])' 2>/dev/null || echo unknown)" <<'PY'
import json, sys, time, pathlib, statistics
res, pods, runs, mode, kver = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
txt = (res / f"top_pods_{pods}.txt").read_text().splitlines()
names = ("kubectl", "kubemetrics", "kubectl-pb", "kubemetrics-pb")
rows = {n: [] for n in names}
identical = None
for l in txt:
    p = l.split()
    if len(p) == 4 and p[0] in rows:
        rows[p[0]].append((float(p[1]), int(p[2]), float(p[3])))
    if l.startswith("outputs kubectl = kubemetrics: identical"):
        identical = l
    if "DIFFERENT" in l:
        identical = False
out = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "mode": mode, "pods": pods, "runs": runs,
       "kubectl_on_path": kver, "identical": identical,
       "command": f"benchmarks/top_pods.sh {pods} {runs}"}
for n in names:
    out[n] = {"wall_s": [r[0] for r in rows[n]], "peak_rss_kib": [r[1] for r in rows[n]], "cpu_s": [r[2] for r in rows[n]]}
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
    --kubemetrics-bin "$KM_BIN" --metrics-server-bin "$CACHE/bin/metrics-server-$METRICS_SERVER_VERSION" || rc=$?
  [[ $rc == 0 ]] || log "servers: at least one size failed (recorded in its JSON)"
fi

if [[ -n $MARKDOWN ]]; then
  python3 "$ROOT/benchmarks/report.py" --results "$RESULTS" --markdown "$MARKDOWN"
  log "wrote the kubemetrics-bench section of $MARKDOWN"
fi
exit "${rc:-0}"
}
