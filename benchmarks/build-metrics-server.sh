#!/usr/bin/env bash
# Build (once) the real metrics-server from its Go module into $KM_CACHE_DIR/bin/metrics-server
# (default ~/.cache/kubemetrics/bin). Never committed. A binary whose version stamp matches is kept.
#
#   go install sigs.k8s.io/metrics-server/cmd/metrics-server@$KM_METRICS_SERVER_VERSION
#
# Version choice (checked against the module proxy of this machine):
#   v0.9.0  latest release; go.mod says go 1.26.4; verifies through the checksum database  <- default
#   v0.8.1  403 "not available" from the module proxy
#   v0.8.0  its go.mod has no checksum-database entry (sumdb lookup 404), so a verified
#           `go install` is impossible; we do not turn verification off
#   v0.7.2  available and verified (KM_METRICS_SERVER_VERSION=v0.7.2 works as a fallback)
#
# Environment: KM_CACHE_DIR, KM_METRICS_SERVER_VERSION, KM_BUILD_PARALLEL (go build -p, default 1).
set -euo pipefail
{
VERSION="${KM_METRICS_SERVER_VERSION:-v0.9.0}"
CACHE="${KM_CACHE_DIR:-$HOME/.cache/kubemetrics}"
BIN="$CACHE/bin"
PAR="${KM_BUILD_PARALLEL:-1}"
mkdir -p "$BIN"
log() { printf '[build-metrics-server %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [[ -x "$BIN/metrics-server" && -f "$BIN/metrics-server.version" \
      && "$(cat "$BIN/metrics-server.version")" == "$VERSION" ]]; then
  log "cached: $BIN/metrics-server $VERSION"
  exit 0
fi
command -v go >/dev/null 2>&1 || { log "ERROR: Go is needed to build metrics-server $VERSION"; exit 1; }

export GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$BIN"
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-p=$PAR"
export GOMAXPROCS="$PAR"
NICE=(nice -n 19)
command -v ionice >/dev/null 2>&1 && NICE=(ionice -c 3 nice -n 19)

log "go install sigs.k8s.io/metrics-server/cmd/metrics-server@$VERSION ($(go env GOVERSION), -p $PAR, nice 19)"
start=$(date +%s)
rm -f "$BIN/metrics-server.version"
"${NICE[@]}" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/metrics-server/cmd/metrics-server@$VERSION"
secs=$(( $(date +%s) - start ))
echo "$VERSION" >"$BIN/metrics-server.version"
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) metrics-server $VERSION ${secs}s go=$(go env GOVERSION) p=$PAR nproc=$(nproc)" >>"$CACHE/build-times.log"
log "built $BIN/metrics-server $VERSION in ${secs}s"
exit 0
}
