#!/usr/bin/env bash
# Tests of the Python binding, on a fresh machine too:
#   venv ($KM_VENV or bindings-python/.venv) with maturin, pytest, pytest-asyncio, mypy, kubernetes;
#   builds the wheel (abi3, dev profile) and installs it; builds the kubemetrics CLI (the loopback
#   API server the tests talk to, and `serve --custom-metrics-push`; the tests make its certificates
#   with openssl); runs pytest, which also runs mypy.stubtest and mypy --strict.
# Extra arguments go to pytest (e.g. -k top_pods).
set -euo pipefail
cd "$(dirname "$0")/.."
BINDING=$PWD
ROOT=$(cd .. && pwd)
VENV=${KM_VENV:-$BINDING/.venv}
PYTHON=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
  echo "creating venv $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PY=$VENV/bin/python
"$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$PY" -m pip install --quiet --disable-pip-version-check \
  'maturin>=1.9.4,<2' 'pytest>=8' 'pytest-asyncio>=0.23' 'mypy>=1.10' 'kubernetes>=25'

# A stale in-tree extension from `maturin develop` must not end up in the wheel.
rm -f "$BINDING"/python/kubemetrics/_native*.so
# The wheel: built like a release wheel (abi3), in the dev profile to keep CI fast.
WHEELS=$(mktemp -d)
trap 'rm -rf "$WHEELS"' EXIT
"$VENV/bin/maturin" build --profile dev --out "$WHEELS" --manifest-path "$BINDING/Cargo.toml" --interpreter "$PY"
"$PY" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$WHEELS"/kubemetrics-*.whl
# The loopback API server.
(cd "$ROOT" && cargo build -p kubemetrics-cli)

cd "$BINDING/tests"
exec "$PY" -m pytest -p no:cacheprovider -ra "$@"
