#!/usr/bin/env bash
# Tests of the C binding, end to end:
#   1. builds libkubemetrics and installs it into a scratch prefix (scripts/install.sh),
#   2. checks that include/kubemetrics.h is what the pinned cbindgen generates, and that it
#      compiles as C and C++ with every warning an error,
#   3. builds the CLI, whose `kubemetrics loopback-api` is the real API server the tests talk to,
#   4. compiles the C programs of tests/c against the installed library (shared, and static for
#      the quantity test) and runs each plain and under valgrind memcheck (errors and leaks fail),
#      each against its own loopback API server,
#   5. builds examples/c with its Makefile through pkg-config and runs it against the server.
# Ends with a plain `N passed, N failed` line; exits non-zero when anything failed.
# Env: KM_SKIP_VALGRIND=1 skips the valgrind runs; KM_TEST_ITERATIONS sets rounds per thread.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
WORK=$TARGET/kubemetrics-c-test
PREFIX=$WORK/prefix
BIN=$WORK/bin
rm -rf "$WORK"
mkdir -p "$BIN"

passed=0
failed=0
failed_names=()
step() { # step NAME COMMAND...
  local name=$1
  shift
  echo "--- $name"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    echo "--- ok: $name ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1))
    failed_names+=("$name")
    echo "--- FAILED: $name ($((SECONDS - start)) s)"
  fi
}

# Tools: a C compiler, make, pkg-config, valgrind (Debian packages; installed when missing and root).
missing=()
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if [ "${KM_SKIP_VALGRIND:-0}" != 1 ]; then
  command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing tools: ${missing[*]} (install them, e.g. apt-get install ${missing[*]})" >&2
  fi
fi

step "build and install libkubemetrics" bash bindings-c/scripts/install.sh "$PREFIX"
step "include/kubemetrics.h is up to date (cbindgen)" cargo test -p kubemetrics-c --test header
step "build kubemetrics-cli (loopback API server)" cargo build -p kubemetrics-cli

export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
VERSION=$(pkg-config --modversion kubemetrics 2>/dev/null || echo unknown)
CFLAGS_KM=$(pkg-config --cflags kubemetrics 2>/dev/null)
LIBS_KM=$(pkg-config --libs kubemetrics 2>/dev/null)
STATIC_LIBS=$(pkg-config --static --libs-only-l kubemetrics 2>/dev/null | sed 's/-lkubemetrics//')
WARN=(-std=c11 -Wall -Wextra -Wpedantic -Werror -g -O1)

header_compiles() {
  printf '#include <kubemetrics.h>\nint main(void) { return km_version() == 0; }\n' > "$WORK/header.c"
  cc "${WARN[@]}" $CFLAGS_KM -c "$WORK/header.c" -o "$WORK/header.o" || return 1
  if command -v c++ >/dev/null 2>&1; then
    c++ -std=c++17 -Wall -Wextra -Wpedantic -Werror $CFLAGS_KM -x c++ -c "$WORK/header.c" -o "$WORK/header-cpp.o" || return 1
  fi
}
step "kubemetrics.h compiles as C11 and C++17 (-Wall -Wextra -Wpedantic -Werror)" header_compiles

compile() { # compile NAME [static]
  local name=$1 mode=${2:-shared} out=$BIN/$1
  if [ "$mode" = static ]; then
    out=$BIN/$1-static
    cc "${WARN[@]}" $CFLAGS_KM -DKM_TEST_VERSION="\"$VERSION\"" "bindings-c/tests/c/$name.c" -o "$out" \
      "$PREFIX/lib/libkubemetrics.a" $STATIC_LIBS -lpthread -lm
  else
    cc "${WARN[@]}" $CFLAGS_KM -DKM_TEST_VERSION="\"$VERSION\"" "bindings-c/tests/c/$name.c" -o "$out" \
      $LIBS_KM -Wl,-rpath,"$PREFIX/lib" -lpthread -lm
  fi
}

SERVER_PID=
start_server() { # start_server NAME: a loopback API server; exports KM_TEST_SERVER and KM_TEST_KUBECONFIG
  local log=$WORK/server-$1.log
  KM_TEST_KUBECONFIG=$WORK/kubeconfig-$1
  "$TARGET/debug/kubemetrics" loopback-api --write-kubeconfig "$KM_TEST_KUBECONFIG" > "$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    if grep -q '^serving on ' "$log" 2>/dev/null; then
      KM_TEST_SERVER=$(sed -n 's/^serving on //p' "$log" | head -n 1)
      export KM_TEST_SERVER KM_TEST_KUBECONFIG
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "the loopback API server did not start:" >&2
  cat "$log" >&2
  return 1
}
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=
  fi
}
trap stop_server EXIT

with_server() { # with_server NAME COMMAND...: runs COMMAND against a fresh loopback API server
  local name=$1
  shift
  start_server "$name" || return 1
  "$@"
  local rc=$?
  stop_server
  return $rc
}

# No suppressions: the C tests end with km_shutdown(), which stops the process-wide runtime and
# joins its threads, so nothing is left but "still reachable" process-wide statics (rustls' crypto
# provider, tokio's signal table), which memcheck does not count as errors.
VALGRIND=(valgrind --quiet --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect,possible
  --errors-for-leak-kinds=definite,indirect,possible --num-callers=40)

TESTS=(test_quantity test_client test_threads)
for t in "${TESTS[@]}"; do
  step "compile $t.c" compile "$t"
done
step "compile test_quantity.c against libkubemetrics.a" compile test_quantity static

for t in "${TESTS[@]}"; do
  step "run $t" with_server "$t" "$BIN/$t"
done
step "run test_quantity (static library)" "$BIN/test_quantity-static"
if [ "${KM_SKIP_VALGRIND:-0}" != 1 ]; then
  for t in "${TESTS[@]}"; do
    step "valgrind $t" with_server "valgrind-$t" env KM_TEST_ITERATIONS="${KM_TEST_ITERATIONS:-5}" "${VALGRIND[@]}" "$BIN/$t"
  done
fi

run_example() {
  make -C examples/c BUILD_DIR="$WORK/example" || return 1
  local output
  output=$(LD_LIBRARY_PATH=$PREFIX/lib "$WORK/example/top_pods" "$KM_TEST_KUBECONFIG") || return 1
  printf '%s\n' "$output"
  grep -q 'batch-1' <<<"$output" && grep -q 'total' <<<"$output"
}
step "examples/c: make (pkg-config) and run" with_server example run_example

run_readme_example() { # the C example of bindings-c/README.md compiles and runs
  awk '/^```c$/ { f = 1; next } /^```$/ { f = 0 } f' bindings-c/README.md > "$WORK/readme.c"
  cc "${WARN[@]}" $CFLAGS_KM "$WORK/readme.c" -o "$BIN/readme" $LIBS_KM -Wl,-rpath,"$PREFIX/lib" || return 1
  KUBECONFIG=$KM_TEST_KUBECONFIG "$BIN/readme" | tee "$WORK/readme.out" && grep -q '^node-a 1631m$' "$WORK/readme.out"
}
step "the README's C example compiles and runs" with_server readme run_readme_example

echo
if [ ${#failed_names[@]} -gt 0 ]; then
  printf 'failed: %s\n' "${failed_names[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
