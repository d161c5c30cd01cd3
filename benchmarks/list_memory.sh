#!/usr/bin/env bash
# Peak memory of `kubemetrics serve` answering concurrent full pod lists (issue 18: "peak RSS during
# 4 concurrent full pod lists <= 1.5x steady"). Serves a generated cluster from a static snapshot
# on 127.0.0.1, resets the peak (VmHWM) once the server is ready (so that building the generated
# cluster at startup does not count), reads VmRSS/VmHWM from /proc, then fetches the full pod list
# CONCURRENT times at once and reads them again: the second VmHWM is the peak during the lists.
# Usage: benchmarks/list_memory.sh [BIN] [PODS] [CONCURRENT] [json|protobuf]
#   defaults: target/release/kubemetrics 300000 4 json
set -euo pipefail
BIN=${1:-target/release/kubemetrics}
PODS=${2:-300000}
CONCURRENT=${3:-4}
FORMAT=${4:-json}
NODES=${NODES:-1000}
TMP=$(mktemp -d)
SERVER="" SERVE=""
trap 'kill $SERVER $SERVE 2>/dev/null || true; rm -rf "$TMP"' EXIT
case $FORMAT in
  json) ACCEPT="application/json" ;;
  protobuf) ACCEPT="application/vnd.kubernetes.protobuf" ;;
  *) echo "format: json or protobuf" >&2; exit 2 ;;
esac

# `serve` needs a kubeconfig (for delegated authentication, unused here): a small loopback API.
$BIN loopback-api --write-kubeconfig "$TMP/kubeconfig" > "$TMP/server.log" &
SERVER=$!
for _ in $(seq 300); do grep -q serving "$TMP/server.log" 2>/dev/null && break; sleep 0.2; done

# An admin client certificate (O=system:masters) from a throwaway CA.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "/CN=bench-ca" \
  -keyout "$TMP/ca.key" -out "$TMP/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/O=system:masters/CN=bench-admin" \
  -keyout "$TMP/admin.key" -out "$TMP/admin.csr" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n' > "$TMP/admin.ext"
openssl x509 -req -days 1 -in "$TMP/admin.csr" -CA "$TMP/ca.crt" -CAkey "$TMP/ca.key" -CAcreateserial -extfile "$TMP/admin.ext" \
  -out "$TMP/admin.crt" 2>/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$BIN serve --fixture-pods "$PODS" --fixture-nodes "$NODES" --bind-address 127.0.0.1 --secure-port "$PORT" \
  --cert-dir "$TMP/serving" --client-ca-file "$TMP/ca.crt" --authentication-skip-lookup \
  --kubeconfig "$TMP/kubeconfig" > "$TMP/serve.log" 2>&1 &
SERVE=$!
for _ in $(seq 600); do
  curl -skf --cert "$TMP/admin.crt" --key "$TMP/admin.key" "https://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 $SERVE 2>/dev/null || { echo "kubemetrics serve exited:" >&2; cat "$TMP/serve.log" >&2; exit 1; }
  sleep 0.2
done
sleep 1
echo 5 > "/proc/$SERVE/clear_refs"  # VmHWM := VmRSS
mem() { awk '/^VmRSS|^VmHWM/ {printf "%s %d MiB  ", $1, $2 / 1024}' "/proc/$SERVE/status"; echo; }
echo "$BIN: $PODS pods, $CONCURRENT concurrent $FORMAT lists"
echo "steady:  $(mem)"
start=$(date +%s.%N)
for i in $(seq "$CONCURRENT"); do
  curl -sk --cert "$TMP/admin.crt" --key "$TMP/admin.key" -H "Accept: $ACCEPT" -o /dev/null \
    -w "list $i: HTTP %{http_code}, %{size_download} bytes\n" "https://127.0.0.1:$PORT/apis/metrics.k8s.io/v1beta1/pods" &
done
wait $(jobs -p | grep -v -e "^$SERVER\$" -e "^$SERVE\$")
echo "lists took $(python3 -c "import time; print(round(time.time() - $start, 2))") s"
echo "after:   $(mem)"
