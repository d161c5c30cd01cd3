#!/usr/bin/env bash
# Runs every test kubemetrics has, in every language present, installing what it needs.
# Usage: ./scripts/test.sh            (everything)
#        KM_SKIP_E2E=1 ./scripts/test.sh   (everything but the real control-plane suite)
#        KM_SKIP_BENCH=1 ./scripts/test.sh (without the benchmarks/run.sh --small stage)
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# A clean clone builds once: incremental caches would only take disk (about 1.7 GB).
[ "${CI:-}" = true ] && export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
passed=0; failed=0; failed_names=()

stage() {  # stage NAME COMMAND...
  local name=$1; shift
  echo "::group::$name"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1)); echo "== $name: ok ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1)); failed_names+=("$name"); echo "== $name: FAILED ($((SECONDS - start)) s)"
  fi
  # Disk runs out before anything else on a small CI machine: say how much is left.
  echo "   disk: $(df -h --output=avail . 2>/dev/null | tail -1 | tr -d ' ') free; target/ $(du -sh "${CARGO_TARGET_DIR:-target}" 2>/dev/null | cut -f1)"
  echo "::endgroup::"
}

need_cmd() { command -v "$1" >/dev/null 2>&1 || { echo "missing required tool: $1" >&2; return 1; }; }

# Rust: unit, integration, property and CLI tests of every crate (bindings included).
stage "rust: cargo test --workspace" cargo test --workspace --no-fail-fast

# Python binding and everything that drives real Python clients.
if [ -f bindings-python/pyproject.toml ]; then
  stage "python binding" bash bindings-python/scripts/test.sh
fi
# Node binding.
if [ -f bindings-node/package.json ]; then
  stage "node binding" bash bindings-node/scripts/test.sh
fi
# C binding (header drift, C programs, valgrind).
if [ -f bindings-c/scripts/test.sh ]; then
  stage "c binding" bash bindings-c/scripts/test.sh
fi
# Python test suites of tests/ (kubectl byte equality, real clients, e2e control plane).
if [ -d tests/py ] || [ -d tests/e2e ]; then
  stage "python test suites (tests/)" bash scripts/pytest-suites.sh
fi
# The side-by-side benchmarks of BENCHMARKS.md at CI size, so that benchmarks/run.sh cannot rot.
# Last: it reuses the control plane the e2e suite built (~/.cache/kubemetrics), the Python wheel in
# bindings-python/.venv and the addon in bindings-node/ that the binding stages built (their rows are
# skipped, saying so, when a binding is absent). Scratch results dir; BENCHMARKS.md and
# benchmarks/results are not touched. It fails when the script fails, never because of a figure.
bench_small() {
  local tmp rc=0
  tmp=$(mktemp -d)
  bash benchmarks/run.sh --small --results "$tmp" --markdown "" || rc=$?
  if [ "$rc" -eq 0 ]; then  # the renderer too, into a scratch file
    python3 benchmarks/report.py --results "$tmp" --markdown "$tmp/BENCHMARKS.md" && sed -n '/BEGIN kubemetrics-bench/,$p' "$tmp/BENCHMARKS.md" || rc=$?
  fi
  rm -rf "$tmp"
  return "$rc"
}
if [ -f benchmarks/run.sh ] && [ "${KM_SKIP_BENCH:-0}" != 1 ]; then
  stage "benchmarks (run.sh --small, figures not asserted)" bench_small
fi

echo
echo "suites: $passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
  printf 'failed: %s\n' "${failed_names[@]}"
  exit 1
fi
