#!/usr/bin/env bash
# Build (once) the real metrics-server from its Go module. Never committed.
#
#   $KM_CACHE_DIR/bin/metrics-server-$VERSION      one binary per version built (kept side by side)
#   $KM_CACHE_DIR/bin/metrics-server               the default version (v0.8.0), stamped in
#                                                  metrics-server.version; what benchmarks/run.sh runs
#
# How: a throwaway module in $KM_CACHE_DIR/metrics-server-build/$VERSION records the program as a
# tool (`go get -tool sigs.k8s.io/metrics-server/cmd/metrics-server@$VERSION`) and `go build`s it,
# so the versions of its dependencies are the ones metrics-server's own go.mod selects. Every
# module is verified against the checksum database as usual (nothing turns verification off).
#
# Version choice:
#   v0.8.0  latest approved release                                                     <- default
#           (an earlier attempt found no checksum-database entry for its go.mod; the proxy now
#           serves it verified, so the note is kept only as history)
#   v0.9.0  served by the module proxy but not an approved release: build it only to compare
#           (KM_METRICS_SERVER_VERSION=v0.9.0); a binary built before stays usable
#   v0.8.1  not served (403 from the module proxy)
#
# Environment: KM_CACHE_DIR, KM_METRICS_SERVER_VERSION, KM_BUILD_PARALLEL (go build -p, default 1; on CI every core).
set -euo pipefail
{
DEFAULT_VERSION=v0.8.0
VERSION="${KM_METRICS_SERVER_VERSION:-$DEFAULT_VERSION}"
CACHE="${KM_CACHE_DIR:-$HOME/.cache/kubemetrics}"
BIN="$CACHE/bin"
# On CI (CI=true) nothing else runs while the suite builds: every core; elsewhere keep one core free.
PAR="${KM_BUILD_PARALLEL:-$([[ "${CI:-}" == true ]] && nproc || echo 1)}"
OUT="$BIN/metrics-server-$VERSION"
mkdir -p "$BIN"
log() { printf '[build-metrics-server %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# The unversioned name is the default version's; a build of another version leaves it alone.
publish() {
  if [[ $VERSION == "$DEFAULT_VERSION" ]]; then
    cp -f "$OUT" "$BIN/metrics-server.tmp" && mv -f "$BIN/metrics-server.tmp" "$BIN/metrics-server"
    echo "$VERSION" >"$BIN/metrics-server.version"
  fi
}

# A binary built by an earlier version of this script (unversioned name only) is adopted.
if [[ ! -x $OUT && -x "$BIN/metrics-server" && -f "$BIN/metrics-server.version" \
      && "$(cat "$BIN/metrics-server.version")" == "$VERSION" ]]; then
  cp -f "$BIN/metrics-server" "$OUT"
fi
if [[ -x $OUT ]]; then
  publish
  log "cached: $OUT"
  exit 0
fi
command -v go >/dev/null 2>&1 || { log "ERROR: Go is needed to build metrics-server $VERSION"; exit 1; }

export GOTOOLCHAIN=local CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-p=$PAR"
export GOMAXPROCS="$PAR"
NICE=(nice -n 19)
command -v ionice >/dev/null 2>&1 && NICE=(ionice -c 3 nice -n 19)

MOD="$CACHE/metrics-server-build/$VERSION"
rm -rf "$MOD"
mkdir -p "$MOD"
cd "$MOD"
go mod init kubemetrics.invalid/metrics-server-build >/dev/null 2>&1
log "go get -tool sigs.k8s.io/metrics-server/cmd/metrics-server@$VERSION ($(go env GOVERSION))"
start=$(date +%s)
"${NICE[@]}" go get -tool "sigs.k8s.io/metrics-server/cmd/metrics-server@$VERSION"
# The version stamp `metrics-server --version` prints (metrics-server's Makefile sets the same one).
LDFLAGS="-s -w -X k8s.io/client-go/pkg/version.gitVersion=$VERSION"
log "go build ($(go env GOVERSION), -p $PAR, nice 19)"
"${NICE[@]}" go build -trimpath -ldflags "$LDFLAGS" -o "$OUT.tmp" sigs.k8s.io/metrics-server/cmd/metrics-server
mv -f "$OUT.tmp" "$OUT"
secs=$(( $(date +%s) - start ))
publish
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) metrics-server $VERSION ${secs}s go=$(go env GOVERSION) p=$PAR nproc=$(nproc)" >>"$CACHE/build-times.log"
log "built $OUT in ${secs}s"
exit 0
}
