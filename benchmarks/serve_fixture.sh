# Sourced by the benchmarks that reach `kubemetrics serve` directly. `serve_fixture TRIES` writes a
# throwaway CA ($TMP/ca.crt) and an admin client certificate signed by it (O=system:masters:
# $TMP/admin.crt, $TMP/admin.key), starts `kubemetrics serve --fixture-pods $PODS --fixture-nodes
# $NODES` on a free loopback port (PORT; its pid in SERVE) with $TMP/kubeconfig for delegated
# authentication, and waits up to TRIES / 5 seconds for it to be ready. Needs BIN, TMP, PODS, NODES.
admin_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "/CN=bench-ca" \
    -keyout "$TMP/ca.key" -out "$TMP/ca.crt" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/O=system:masters/CN=bench-admin" \
    -keyout "$TMP/admin.key" -out "$TMP/admin.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n' > "$TMP/admin.ext"  # v3: webpki refuses v1
  openssl x509 -req -days 1 -in "$TMP/admin.csr" -CA "$TMP/ca.crt" -CAkey "$TMP/ca.key" -CAcreateserial -extfile "$TMP/admin.ext" \
    -out "$TMP/admin.crt" 2>/dev/null
}

serve_fixture() {
  admin_cert
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  $BIN serve --fixture-pods "$PODS" --fixture-nodes "$NODES" --bind-address 127.0.0.1 --secure-port "$PORT" \
    --cert-dir "$TMP/serving" --client-ca-file "$TMP/ca.crt" --authentication-skip-lookup \
    --kubeconfig "$TMP/kubeconfig" > "$TMP/serve.log" 2>&1 &
  SERVE=$!
  for _ in $(seq "$1"); do
    curl -skf --cert "$TMP/admin.crt" --key "$TMP/admin.key" "https://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return 0
    kill -0 $SERVE 2>/dev/null || { echo "kubemetrics serve exited:" >&2; cat "$TMP/serve.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "kubemetrics serve was not ready in time:" >&2; cat "$TMP/serve.log" >&2; exit 1
}
