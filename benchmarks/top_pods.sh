#!/usr/bin/env bash
# kubemetrics top pod -A vs kubectl top pod -A over one generated cluster, served on loopback twice:
#   1. by `kubemetrics loopback-api` (a stand-in kube-apiserver that answers JSON), and
#   2. by `kubemetrics serve --fixture-pods` (the metrics server itself, which answers protobuf to
#      clients that ask for it, as kubectl and kubemetrics both do; JSON otherwise).
# For each: wall time, CPU time (user+system) and peak RSS of each client, in one run, and a check
# that both print the same bytes.
# Usage: benchmarks/top_pods.sh [PODS] [RUNS]   (default 100000 pods, 3 runs each)
# Output lines: "NAME wall_s peak_kib cpu_s" per run; NAME is kubectl/kubemetrics (JSON from the
# loopback API) or kubectl-pb/kubemetrics-pb (protobuf from kubemetrics serve).
set -euo pipefail
cd "$(dirname "$0")/.."
PODS=${1:-100000}
RUNS=${2:-3}
NODES=1000
# KM_BIN: a kubemetrics binary to use (benchmarks/run.sh --small passes its dev build).
if [[ -n ${KM_BIN:-} ]]; then
  BIN=$KM_BIN
else
  cargo build -q --release -p kubemetrics-cli
  BIN=target/release/kubemetrics
fi
TMP=$(mktemp -d)
SERVER=; SERVE=
trap 'kill $SERVER $SERVE 2>/dev/null || true; rm -rf "$TMP"' EXIT
wait_for() {  # wait_for FILE PATTERN: up to 60 s
  for _ in $(seq 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.2; done
  echo "timed out waiting for '$2' in $1:" >&2; cat "$1" >&2; return 1
}
$BIN loopback-api --scale-pods "$PODS" --scale-nodes "$NODES" --write-kubeconfig "$TMP/kubeconfig" > "$TMP/server.log" &
SERVER=$!
wait_for "$TMP/server.log" serving

# kubemetrics serve with the same generated cluster; kubectl and kubemetrics reach it directly with
# an admin client certificate (O=system:masters) from a throwaway CA.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "/CN=bench-ca" \
  -keyout "$TMP/ca.key" -out "$TMP/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/O=system:masters/CN=bench-admin" \
  -keyout "$TMP/admin.key" -out "$TMP/admin.csr" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n' > "$TMP/admin.ext"  # v3: webpki refuses v1
openssl x509 -req -days 1 -in "$TMP/admin.csr" -CA "$TMP/ca.crt" -CAkey "$TMP/ca.key" -CAcreateserial -extfile "$TMP/admin.ext" \
  -out "$TMP/admin.crt" 2>/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$BIN serve --fixture-pods "$PODS" --fixture-nodes "$NODES" --bind-address 127.0.0.1 --secure-port "$PORT" \
  --cert-dir "$TMP/serving" --client-ca-file "$TMP/ca.crt" --authentication-skip-lookup \
  --kubeconfig "$TMP/kubeconfig" > "$TMP/serve.log" 2>&1 &
SERVE=$!
cat > "$TMP/serve-kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: serve, cluster: {server: "https://127.0.0.1:$PORT", insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {client-certificate: "$TMP/admin.crt", client-key: "$TMP/admin.key"}}]
contexts: [{name: serve, context: {cluster: serve, user: admin, namespace: default}}]
current-context: serve
KC
for _ in $(seq 300); do
  curl -skf --cert "$TMP/admin.crt" --key "$TMP/admin.key" "https://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 $SERVE 2>/dev/null || { echo "kubemetrics serve exited:" >&2; cat "$TMP/serve.log" >&2; exit 1; }
  sleep 0.2
done

measure() {  # measure NAME CMD... -> prints "NAME wall_s peak_kib cpu_s" per run
  local name=$1; shift
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M %U %S" -o "$TMP/time" "$@" > "$TMP/$name.out" 2>"$TMP/$name.err" \
      || { echo "$name failed:" >&2; cat "$TMP/$name.err" >&2; exit 1; }
    read -r wall rss user sys < "$TMP/time"
    echo "$name $wall $rss $(python3 -c "print(round($user + $sys, 2))")"
  done
}
same() {  # same A B: both clients printed the same bytes
  if cmp -s "$TMP/$1.out" "$TMP/$2.out"; then echo "outputs $1 = $2: identical ($(wc -l < "$TMP/$1.out") lines)"
  else echo "outputs $1 / $2: DIFFERENT"; diff <(head -50 "$TMP/$1.out") <(head -50 "$TMP/$2.out") | head; exit 1; fi
}
echo "pods=$PODS runs=$RUNS machine: $(nproc) cores, $(uname -m)"
{
  measure kubectl kubectl --kubeconfig "$TMP/kubeconfig" --cache-dir "$TMP/cache" top pod -A
  measure kubemetrics $BIN top pod -A --kubeconfig "$TMP/kubeconfig"
  measure kubectl-pb kubectl --kubeconfig "$TMP/serve-kubeconfig" --cache-dir "$TMP/cache-pb" top pod -A
  measure kubemetrics-pb $BIN top pod -A --kubeconfig "$TMP/serve-kubeconfig"
} | tee "$TMP/times.txt"
same kubectl kubemetrics
same kubectl-pb kubemetrics-pb
same kubectl kubectl-pb
python3 - "$TMP/times.txt" <<'PY'
import sys, statistics
rows = {}
for line in open(sys.argv[1]):
    name, wall, rss, cpu = line.split()
    rows.setdefault(name, []).append((float(wall), int(rss), float(cpu)))
med = lambda name, i: statistics.median(r[i] for r in rows[name])
print("| server | client | median wall (s) | median CPU (s) | peak RSS (MiB) |\n|---|---|---|---|---|")
for server, suffix in (("loopback-api (JSON)", ""), ("kubemetrics serve (protobuf)", "-pb")):
    for client in ("kubectl", "kubemetrics"):
        n = client + suffix
        print(f"| {server} | {client} top pod -A | {med(n, 0):.2f} | {med(n, 2):.2f} | {max(r[1] for r in rows[n]) / 1024:.0f} |")
    k, m = "kubectl" + suffix, "kubemetrics" + suffix
    print(f"ratio on {server} (kubectl / kubemetrics): wall {med(k, 0) / med(m, 0):.1f}x, CPU {med(k, 2) / med(m, 2):.1f}x, "
          f"memory {max(r[1] for r in rows[k]) / max(r[1] for r in rows[m]):.1f}x")
PY
