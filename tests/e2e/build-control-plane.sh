#!/usr/bin/env bash
# Build (once) the real control-plane binaries the e2e harness runs on loopback:
#   kube-apiserver, kube-controller-manager  <- k8s.io/kubernetes Go module (Go module proxy)
#   etcd                                      <- Debian trixie etcd-server .deb (fallback: Go build of
#                                                go.etcd.io/etcd/server/v3)
# into $KM_CACHE_DIR/bin (default $HOME/.cache/kubemetrics/bin). A binary whose version stamp matches
# is skipped. Build times are appended to $KM_CACHE_DIR/build-times.log.
#
# One run at a time per cache: a run takes an exclusive flock on $KM_CACHE_DIR/build.lock before it
# looks at the cache, and a second run (say two test sessions started together) logs that it waits and
# then finds the binaries the first one built. Needs flock(1) (util-linux).
#
# Usage: build-control-plane.sh [etcd] [kube-apiserver] [kube-controller-manager]   (default: all three)
#
# Environment knobs:
#   KM_CACHE_DIR      cache root (default $HOME/.cache/kubemetrics)
#   KM_K8S_VERSION    kubernetes release (default below)
#   KM_ETCD_SOURCE    debian | go   (default: debian, falls back to go on failure)
#   KM_BUILD_PARALLEL go build -p value (default 1, keeping one core of this 2-core machine free; on CI, every core)
set -euo pipefail
# The whole script is one compound command: bash parses it completely before running any of it, so
# editing this file while a (long) build runs cannot corrupt the running build.
{

K8S_VERSION="${KM_K8S_VERSION:-v1.33.13}"
ETCD_DEB_VERSION="3.5.16-4"          # Debian trixie etcd-server
ETCD_GO_VERSION="v3.5.21"            # fallback: go.etcd.io/etcd/server/v3 (go 1.23 in its go.mod; v3.5.35 needs go 1.26, v3.5.25 is not served here)
ETCD_SOURCE="${KM_ETCD_SOURCE:-debian}"
# On CI (CI=true) nothing else runs while the suite builds: every core; elsewhere keep one core free.
PAR="${KM_BUILD_PARALLEL:-$([[ "${CI:-}" == true ]] && nproc || echo 1)}"

SCRIPT_NAME=build-control-plane
# shellcheck source=build-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/build-lib.sh"

# --- prerequisites ---------------------------------------------------------------------------
[[ "$K8S_VERSION" =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || die "KM_K8S_VERSION must look like v1.33.13, got $K8S_VERSION"
K8S_MINOR="${BASH_REMATCH[1]}"
STAGING_VERSION="v0.${K8S_MINOR}.${BASH_REMATCH[2]}"
mkdir -p "$BIN"

stamp_ok() { # name version
  [[ -x "$BIN/$1" && -f "$BIN/$1.version" && "$(cat "$BIN/$1.version")" == "$2" ]]
}

WANT=("$@")
[[ ${#WANT[@]} -gt 0 ]] || WANT=(etcd kube-apiserver kube-controller-manager)
wanted() { local w; for w in "${WANT[@]}"; do [[ "$w" == "$1" ]] && return 0; done; return 1; }
for w in "${WANT[@]}"; do
  case "$w" in etcd|kube-apiserver|kube-controller-manager) ;; *) die "unknown binary '$w' (etcd, kube-apiserver, kube-controller-manager)" ;; esac
done

# --- one run at a time per cache ----------------------------------------------------------------
# Two runs on the same cache delete each other's build module (rm -rf "$K8S_MOD") and write the same
# $BIN/<name>.tmp, so the second `mv` finds nothing to move. The lock is taken before any stamp is read:
# a run that had to wait then sees what the other built and skips it. The lock file descriptor is
# inherited by the build's children, so the lock lasts as long as anything is still writing the cache.
lock_cache "$CACHE/build.lock" "the control plane"

# Go is needed unless the wanted kubernetes binaries are already cached (etcd comes from Debian by default).
GO_VER="none"
if { wanted kube-apiserver && ! stamp_ok kube-apiserver "$K8S_VERSION"; } \
   || { wanted kube-controller-manager && ! stamp_ok kube-controller-manager "$K8S_VERSION"; } \
   || { wanted etcd && [[ "$ETCD_SOURCE" == go && ! -x "$BIN/etcd" ]]; }; then
  command -v go >/dev/null 2>&1 || die "Go is not installed (or not on PATH): it is needed to build kube-apiserver and kube-controller-manager ${K8S_VERSION} from the k8s.io/kubernetes module into $BIN. Install Go >= 1.24 and re-run $0."
  GO_VER="$(go env GOVERSION)"
  case "$GO_VER" in
    go1.2[4-9]*|go1.[3-9][0-9]*) ;;
    *) die "Go $GO_VER is too old: kubernetes ${K8S_VERSION} needs Go >= 1.24" ;;
  esac
fi

# Go builds: lowest priority, one package at a time, one thread per compiler.
export GOTOOLCHAIN=local CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-p=$PAR"
export GOMAXPROCS="$PAR"
NICE=(nice -n 19)
command -v ionice >/dev/null 2>&1 && NICE=(ionice -c 3 nice -n 19)

record_time() { # name version seconds
  local line
  line="$(date -u +%Y-%m-%dT%H:%M:%SZ) $1 $2 ${3}s go=$GO_VER p=$PAR nproc=$(nproc)"
  echo "$line" >>"$TIMES"
  log "built $1 $2 in ${3}s"
}

# --- kube-apiserver / kube-controller-manager ------------------------------------------------
K8S_MOD="$CACHE/k8s-build"

prepare_k8s_module() {
  if [[ -f "$K8S_MOD/go.mod" && -f "$K8S_MOD/.prepared" && "$(cat "$K8S_MOD/.prepared")" == "$K8S_VERSION" ]]; then
    return
  fi
  log "preparing throwaway module $K8S_MOD for k8s.io/kubernetes $K8S_VERSION"
  local t0=$SECONDS
  rm -rf "$K8S_MOD"
  mkdir -p "$K8S_MOD"
  local gomod
  gomod="$(cd "$K8S_MOD" && GOFLAGS= go mod download -json "k8s.io/kubernetes@$K8S_VERSION" \
    | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -f "$gomod" ]] || die "could not locate go.mod of k8s.io/kubernetes@$K8S_VERSION (go mod download failed?)"
  # Every staging module is required at v0.0.0 (and replaced by ./staging/... upstream).
  local staging
  # (exactly v0.0.0: k8s.io/kube-openapi, k8s.io/utils, ... are pseudo-versions v0.0.0-2025... and stay as they are)
  staging="$(awk '{ if ($1 == "require") { m = $2; v = $3 } else { m = $1; v = $2 } }
                  m ~ /^k8s\.io\// && v == "v0.0.0" { print m }' "$gomod" | sort -u)"
  [[ -n "$staging" ]] || die "found no k8s.io/* v0.0.0 requirements in $gomod"
  local goline
  goline="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod" | head -1)"
  {
    echo "module kubemetrics.local/k8s-build"
    echo
    echo "go ${goline:-1.24.0}"
    echo
    echo "godebug default=go1.24"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    for m in $staging; do echo "replace $m => $m $STAGING_VERSION"; done
  } >"$K8S_MOD/go.mod"
  log "$(echo "$staging" | wc -l) staging modules replaced at $STAGING_VERSION"
  (cd "$K8S_MOD" && GOFLAGS= go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION") \
    || die "go get of the kubernetes commands failed (see above; 'unknown revision v0.0.0' means a missing replace)"
  echo "$K8S_VERSION" >"$K8S_MOD/.prepared"
  record_time k8s-module-download "$K8S_VERSION" $((SECONDS - t0))
}

build_k8s() { # cmd
  local cmd="$1"
  if stamp_ok "$cmd" "$K8S_VERSION"; then
    log "$cmd $K8S_VERSION already built: $BIN/$cmd (skip)"
    return
  fi
  prepare_k8s_module
  local ld="-s -w"
  local pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$K8S_MINOR"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  log "building $cmd $K8S_VERSION (nice 19, -p $PAR, GOMAXPROCS=$PAR); this takes a while on a cold cache"
  local t0=$SECONDS
  (cd "$K8S_MOD" && "${NICE[@]}" go build -trimpath -ldflags "$ld" -o "$BIN/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd") \
    || die "go build of $cmd failed"
  mv "$BIN/$cmd.tmp" "$BIN/$cmd"
  echo "$K8S_VERSION" >"$BIN/$cmd.version"
  record_time "$cmd" "$K8S_VERSION" $((SECONDS - t0))
  "$BIN/$cmd" --version >&2 || die "$cmd was built but does not run"
}

# --- etcd ------------------------------------------------------------------------------------
etcd_from_debian() {
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || { log "apt-get/dpkg-deb missing"; return 1; }
  local apt="$CACHE/apt-trixie"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/deb"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
    >"$apt/sources.list"
  local opts=(-q -o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root
    -o Debug::NoLocking=1 -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
    -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false
    -o Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false)
  log "fetching Debian trixie package index (private apt lists under $apt; system apt untouched)"
  apt-get "${opts[@]}" update >&2 || return 1
  # Download only; never apt-get install (its postinst would start a system etcd).
  (cd "$apt/deb" && rm -f etcd-server_*.deb && apt-get "${opts[@]}" download "etcd-server=$ETCD_DEB_VERSION") >&2 || return 1
  local deb
  deb="$(ls "$apt/deb"/etcd-server_*.deb | head -1)"
  rm -rf "$apt/root" && dpkg-deb -x "$deb" "$apt/root"
  [[ -x "$apt/root/usr/bin/etcd" ]] || { log "no usr/bin/etcd in $deb"; return 1; }
  "$apt/root/usr/bin/etcd" --version >&2 || { log "Debian's etcd does not run here"; return 1; }
  cp "$apt/root/usr/bin/etcd" "$BIN/etcd"
  rm -rf "$apt/lists" "$apt/cache" "$apt/root"   # keep only the .deb (~11 MB)
}

etcd_from_go() {
  local mod="$CACHE/etcd-build"
  rm -rf "$mod" && mkdir -p "$mod"
  cat >"$mod/go.mod" <<EOF
module kubemetrics.local/etcd-build

go 1.23

require go.etcd.io/etcd/server/v3 $ETCD_GO_VERSION
EOF
  (cd "$mod" && GOFLAGS= go get "go.etcd.io/etcd/server/v3@$ETCD_GO_VERSION") || return 1
  (cd "$mod" && "${NICE[@]}" go build -trimpath -ldflags "-s -w" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3) || return 1
  mv "$BIN/etcd.tmp" "$BIN/etcd"
}

build_etcd() {
  local want
  if [[ "$ETCD_SOURCE" == go ]]; then want="go:$ETCD_GO_VERSION"; else want="debian:$ETCD_DEB_VERSION"; fi
  if [[ -x "$BIN/etcd" && -f "$BIN/etcd.version" ]]; then
    local have; have="$(cat "$BIN/etcd.version")"
    if [[ "$have" == "$want" || ( "$ETCD_SOURCE" != go && "$have" == "go:$ETCD_GO_VERSION" ) ]]; then
      log "etcd $have already present: $BIN/etcd (skip)"
      return
    fi
  fi
  local t0=$SECONDS
  if [[ "$ETCD_SOURCE" != go ]]; then
    log "getting etcd $ETCD_DEB_VERSION from Debian trixie (dpkg-deb -x, not installed)"
    if etcd_from_debian; then
      echo "debian:$ETCD_DEB_VERSION" >"$BIN/etcd.version"
      record_time etcd "debian:$ETCD_DEB_VERSION" $((SECONDS - t0))
      return
    fi
    log "Debian etcd failed; falling back to a Go build of go.etcd.io/etcd/server/v3@$ETCD_GO_VERSION"
    t0=$SECONDS
  fi
  log "building etcd $ETCD_GO_VERSION from the Go module proxy"
  etcd_from_go || die "could not obtain etcd (Debian download and Go build both failed)"
  echo "go:$ETCD_GO_VERSION" >"$BIN/etcd.version"
  record_time etcd "go:$ETCD_GO_VERSION" $((SECONDS - t0))
}

# --- main ------------------------------------------------------------------------------------
T_ALL=$SECONDS
log "cache: $CACHE  go: $GO_VER  kubernetes: $K8S_VERSION  etcd: $ETCD_SOURCE"
wanted etcd && build_etcd
wanted kube-apiserver && build_k8s kube-apiserver
wanted kube-controller-manager && build_k8s kube-controller-manager
log "binaries ready in $BIN (this run: $((SECONDS - T_ALL))s)"
ls -l "$BIN" >&2
exit 0
}
