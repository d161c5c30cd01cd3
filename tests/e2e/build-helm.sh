#!/usr/bin/env bash
# Build (once) the `helm` CLI the e2e suite renders deploy/helm/kubemetrics with:
#   helm  <- helm.sh/helm/v4 (cmd/helm) from the Go module proxy, built in a throwaway module
# into $KM_CACHE_DIR/bin/helm (default $HOME/.cache/kubemetrics/bin), with $KM_CACHE_DIR/bin/helm.version
# as its stamp: a binary whose stamp matches is not rebuilt. Build times go to $KM_CACHE_DIR/build-times.log.
#
# One run at a time per cache: a run holds an exclusive flock on $KM_CACHE_DIR/helm-build.lock while it
# looks at the cache and builds; a second run waits (saying so) and then finds the binary the first
# one built. The lock is separate from build-control-plane.sh's, so both builds may run side by side.
#
# Usage: build-helm.sh
# Environment knobs:
#   KM_CACHE_DIR       cache root (default $HOME/.cache/kubemetrics)
#   KM_HELM_VERSION    helm.sh/helm/v4 version (default below: the approved one)
#   KM_BUILD_PARALLEL  go build -p value and GOMAXPROCS (default 1: keep a core free; on CI, every core)
set -euo pipefail
# One compound command: bash parses all of it before running, so editing the file mid-build is harmless.
{

HELM_VERSION="${KM_HELM_VERSION:-v4.3.2}"
# On CI (CI=true) nothing else runs while the suite builds: every core; elsewhere keep one core free.
PAR="${KM_BUILD_PARALLEL:-$([[ "${CI:-}" == true ]] && nproc || echo 1)}"
SCRIPT_NAME=build-helm
# shellcheck source=build-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/build-lib.sh"
MOD="$CACHE/helm-build"

[[ "$HELM_VERSION" =~ ^v4\.[0-9]+\.[0-9]+$ ]] || die "KM_HELM_VERSION must look like v4.3.2, got $HELM_VERSION"
mkdir -p "$BIN"

stamp_ok() { [[ -x "$BIN/helm" && -f "$BIN/helm.version" && "$(cat "$BIN/helm.version")" == "$HELM_VERSION" ]]; }

# --- one run at a time per cache --------------------------------------------------------------
lock_cache "$CACHE/helm-build.lock" helm

if stamp_ok; then
  log "helm $HELM_VERSION already built: $BIN/helm (skip)"
  exit 0
fi

# --- Go ----------------------------------------------------------------------------------------
command -v go >/dev/null 2>&1 \
  || die "Go is not installed (or not on PATH): it is needed to build helm $HELM_VERSION (helm.sh/helm/v4/cmd/helm) into $BIN. Install Go >= 1.26 and re-run $0."
export GOTOOLCHAIN=local CGO_ENABLED=0
GO_VER="$(go env GOVERSION)"
case "$GO_VER" in
  go1.2[6-9]*|go1.[3-9][0-9]*) ;;
  *) die "Go $GO_VER is too old: helm $HELM_VERSION's go.mod says go 1.26.0 (and GOTOOLCHAIN=local forbids fetching a newer toolchain)" ;;
esac
NICE=(nice -n 19)
command -v ionice >/dev/null 2>&1 && NICE=(ionice -c 3 nice -n 19)

record_time() { # step seconds
  local line
  line="$(date -u +%Y-%m-%dT%H:%M:%SZ) $1 $HELM_VERSION ${2}s go=$GO_VER p=$PAR nproc=$(nproc)"
  echo "$line" >>"$TIMES"
  log "$1 $HELM_VERSION took ${2}s"
}

T_ALL=$SECONDS

# --- the throwaway main module -------------------------------------------------------------------
# Its only requirement is helm, so minimal version selection picks exactly the dependency versions of
# helm's own go.mod (the same graph `make build` in helm's repository compiles).
if ! [[ -f "$MOD/go.mod" && -f "$MOD/.prepared" && "$(cat "$MOD/.prepared")" == "$HELM_VERSION" ]]; then
  log "preparing throwaway module $MOD for helm.sh/helm/v4 $HELM_VERSION"
  t0=$SECONDS
  rm -rf "$MOD"
  mkdir -p "$MOD"
  printf 'module kubemetrics.local/helm-build\n\ngo 1.26.0\n\nrequire helm.sh/helm/v4 %s\n' "$HELM_VERSION" >"$MOD/go.mod"
  (cd "$MOD" && GOFLAGS= go get "helm.sh/helm/v4/cmd/helm@$HELM_VERSION") \
    || die "go get helm.sh/helm/v4/cmd/helm@$HELM_VERSION failed (see above)"
  echo "$HELM_VERSION" >"$MOD/.prepared"
  record_time helm-module-download $((SECONDS - t0))
fi

# --- build -------------------------------------------------------------------------------------
# The version variables helm's Makefile sets for a tagged release (`helm version` then reports the tag).
LD="-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
LD+=" -X helm.sh/helm/v4/internal/version.metadata= -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
log "building helm $HELM_VERSION (nice 19, -p $PAR, GOMAXPROCS=$PAR, go $GO_VER)"
t0=$SECONDS
(cd "$MOD" && GOMAXPROCS="$PAR" "${NICE[@]}" go build -p "$PAR" -trimpath -ldflags "$LD" -o "$BIN/helm.tmp" helm.sh/helm/v4/cmd/helm) \
  || die "go build of helm.sh/helm/v4/cmd/helm failed"
got="$("$BIN/helm.tmp" version --template '{{.Version}}')" || die "helm was built but does not run"
[[ "$got" == "$HELM_VERSION" ]] || die "the built helm says it is '$got', not $HELM_VERSION"
mv "$BIN/helm.tmp" "$BIN/helm"
echo "$HELM_VERSION" >"$BIN/helm.version"
record_time helm $((SECONDS - t0))
log "helm ready: $BIN/helm (this run: $((SECONDS - T_ALL))s)"
exit 0
}
