#!/usr/bin/env bash
# Runs the Python-driven suites under tests/ in a venv (created on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${KM_VENV:-$PWD/.venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --disable-pip-version-check -r tests/requirements.txt
cargo build -q -p kubemetrics-cli
dirs=()
[ -d tests/py ] && dirs+=(tests/py)
if [ -d tests/e2e ] && [ "${KM_SKIP_E2E:-0}" != 1 ]; then dirs+=(tests/e2e); fi
[ ${#dirs[@]} -eq 0 ] && { echo "no python suites"; exit 0; }
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider "${dirs[@]}"
