# Sourced (not run) by build-control-plane.sh and build-helm.sh after they set SCRIPT_NAME: the cache
# paths, log/die lines named after the script, and the one-run-at-a-time lock on a cache.
CACHE="${KM_CACHE_DIR:-$HOME/.cache/kubemetrics}"
BIN="$CACHE/bin"
TIMES="$CACHE/build-times.log"

log() { printf '[%s %s] %s\n' "$SCRIPT_NAME" "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$SCRIPT_NAME" "$*" >&2; exit 1; }

# lock_cache FILE WHAT: holds an exclusive flock on FILE (fd 9, inherited by the build's children, so
# the lock lasts as long as anything still writes the cache) for the rest of the run; a second run
# says that it waits, then waits. WHAT names what is built, for the message when flock is missing.
lock_cache() {
  local lock=$1 what=$2 t0
  command -v flock >/dev/null 2>&1 \
    || die "flock (util-linux) is not installed: it keeps two runs from building $what into $CACHE at once"
  exec 9>>"$lock"
  if ! flock --nonblock 9; then
    log "another $SCRIPT_NAME run is using $CACHE ($(cat "$lock" 2>/dev/null || true)); waiting for it to finish"
    t0=$SECONDS
    flock 9 || die "could not lock $lock"
    log "$CACHE is ours after waiting $((SECONDS - t0))s"
  fi
  printf 'held by pid %s since %s\n' "$$" "$(date +%H:%M:%S)" >"$lock"
}
