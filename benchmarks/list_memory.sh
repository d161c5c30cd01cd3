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

# The metrics server with the generated pods, reached with an admin client certificate.
source "$(dirname "${BASH_SOURCE[0]}")/serve_fixture.sh"
serve_fixture 600
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
