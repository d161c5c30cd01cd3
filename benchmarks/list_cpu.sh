#!/usr/bin/env bash
# Server CPU per list: `kubemetrics serve --fixture-pods $PODS` for each binary given, asked for
# every pod by 2 clients, 400 times, in protobuf then JSON; prints the server's CPU per list
# (from /proc, user + system) and the clients' p50.
#
#   benchmarks/list_cpu.sh target/release/kubemetrics /path/to/another/kubemetrics ...
#
# Needs the fleet's load tool (cargo build --release --manifest-path benchmarks/fleet/Cargo.toml)
# and openssl. Everything listens on 127.0.0.1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PODS=${PODS:-10000}; NODES=${NODES:-400}; REQUESTS=${REQUESTS:-400}
FLEET=${FLEET:-$ROOT/benchmarks/fleet/target/release/km-bench-fleet}
[ $# -gt 0 ] || { echo "usage: $0 KUBEMETRICS_BINARY..." >&2; exit 2; }
[ -x "$FLEET" ] || { echo "build the load tool first: cargo build --release --manifest-path benchmarks/fleet/Cargo.toml" >&2; exit 2; }
T=$(mktemp -d)
API=""; SERVE=""
trap 'kill $API $SERVE 2>/dev/null || true; rm -rf "$T"' EXIT
cert() {  # cert NAME SUBJECT EXTENSIONS: an EC key and a certificate signed by the throwaway CA
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$2" -keyout "$T/$1.key" -out "$T/$1.csr" 2>/dev/null
  printf "$3" > "$T/$1.ext"
  openssl x509 -req -days 1 -in "$T/$1.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -extfile "$T/$1.ext" -out "$T/$1.crt" 2>/dev/null
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "/CN=bench-ca" -keyout "$T/ca.key" -out "$T/ca.crt" 2>/dev/null
cert admin "/O=system:masters/CN=bench-admin" 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n'
cert serving "/CN=127.0.0.1" 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n'
# A stand-in API server for the delegated authorization.
"$1" loopback-api --scale-pods 10 --scale-nodes 1 --write-kubeconfig "$T/kubeconfig" > "$T/api.log" 2>&1 &
API=$!
for _ in $(seq 100); do grep -q serving "$T/api.log" && break; sleep 0.2; done
echo "| binary | format | lists | client p50 (ms) | server CPU per list (ms) |"
echo "|---|---|---|---|---|"
for bin in "$@"; do
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$bin" serve --fixture-pods "$PODS" --fixture-nodes "$NODES" --bind-address 127.0.0.1 --secure-port "$PORT" \
    --tls-cert-file "$T/serving.crt" --tls-private-key-file "$T/serving.key" --client-ca-file "$T/ca.crt" \
    --authentication-skip-lookup --kubeconfig "$T/kubeconfig" > "$T/serve.log" 2>&1 &
  SERVE=$!
  for _ in $(seq 150); do curl -skf --cert "$T/admin.crt" --key "$T/admin.key" "https://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
  for accept in application/vnd.kubernetes.protobuf application/json; do
    c0=$(awk '{print $14 + $15}' /proc/$SERVE/stat)
    out=$("$FLEET" load --url "https://127.0.0.1:$PORT/apis/metrics.k8s.io/v1beta1/pods" --ca "$T/ca.crt" \
      --cert "$T/admin.crt" --key "$T/admin.key" --concurrency 2 --max-requests "$REQUESTS" --max-seconds 60 --accept "$accept")
    c1=$(awk '{print $14 + $15}' /proc/$SERVE/stat)
    python3 -c "
import json, os, sys
d = json.loads(sys.argv[1]); ticks = os.sysconf('SC_CLK_TCK')
assert list(d['statuses']) == ['200'], d['statuses']
print(f\"| {sys.argv[2]} | {sys.argv[3].split('/')[-1]} | {d['requests']} | {d['p50_ms']:.1f} | {($c1 - $c0) / ticks / d['requests'] * 1000:.2f} |\")
" "$out" "$bin" "$accept"
  done
  kill $SERVE; wait $SERVE 2>/dev/null || true; SERVE=""
done
