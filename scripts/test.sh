#!/usr/bin/env bash
# Runs every test kubemetrics has, in every language present, installing what it needs.
# Usage: ./scripts/test.sh            (everything)
#        KM_SKIP_E2E=1 ./scripts/test.sh   (everything but the real control-plane suite)
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
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

echo
echo "suites: $passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
  printf 'failed: %s\n' "${failed_names[@]}"
  exit 1
fi
