# Sourced by benchmarks/top_pods.sh and benchmarks/bindings_servers.sh: one generated cluster
# (PODS pods on NODES nodes) served on loopback twice, by `kubemetrics loopback-api` (JSON, as a
# kube-apiserver answers; kubeconfig $TMP/kubeconfig) and by `kubemetrics serve --fixture-pods`
# (protobuf to clients that ask for it; kubeconfig $TMP/serve-kubeconfig, an admin client
# certificate). Needs BIN, PODS, NODES; sets TMP and stops both servers on exit.
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
source "$(dirname "${BASH_SOURCE[0]}")/serve_fixture.sh"
serve_fixture 300
cat > "$TMP/serve-kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: serve, cluster: {server: "https://127.0.0.1:$PORT", insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {client-certificate: "$TMP/admin.crt", client-key: "$TMP/admin.key"}}]
contexts: [{name: serve, context: {cluster: serve, user: admin, namespace: default}}]
current-context: serve
KC

