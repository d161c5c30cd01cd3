#!/usr/bin/env bash
# Builds the C library and installs it under PREFIX:
#   PREFIX/include/kubemetrics.h
#   PREFIX/lib/libkubemetrics.so.VERSION, libkubemetrics.so.0 -> it, libkubemetrics.so -> it
#   PREFIX/lib/libkubemetrics.a
#   PREFIX/lib/pkgconfig/kubemetrics.pc
# Usage: bindings-c/scripts/install.sh [--release] PREFIX
# (cargo builds the library as libkubemetrics_c.{so,a}; the installed name is libkubemetrics.)
set -euo pipefail
profile=debug
cargo_flags=()
if [ "${1:-}" = "--release" ]; then
  profile=release
  cargo_flags=(--release)
  shift
fi
if [ $# -ne 1 ]; then
  echo "usage: $0 [--release] PREFIX" >&2
  exit 2
fi
mkdir -p "$1"
prefix=$(cd "$1" && pwd)
cd "$(dirname "$0")/../.."
root=$PWD
target_dir=${CARGO_TARGET_DIR:-$root/target}
case $target_dir in /*) ;; *) target_dir=$root/$target_dir ;; esac

cargo build -p kubemetrics-c "${cargo_flags[@]}"

version=$(awk '/^\[workspace.package\]/ { f = 1; next } /^\[/ { f = 0 } f && /^version *=/ { gsub(/.*= *"|".*/, ""); print; exit }' Cargo.toml)
# What Rust's standard library needs when linking the static library (`rustc --print native-static-libs`).
native_libs="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
install -m 0644 bindings-c/include/kubemetrics.h "$prefix/include/kubemetrics.h"
rm -f "$prefix/lib/libkubemetrics.so" "$prefix/lib/libkubemetrics.so.0" "$prefix/lib/libkubemetrics.so.$version"
install -m 0755 "$target_dir/$profile/libkubemetrics_c.so" "$prefix/lib/libkubemetrics.so.$version"
ln -s "libkubemetrics.so.$version" "$prefix/lib/libkubemetrics.so.0"
ln -s "libkubemetrics.so.$version" "$prefix/lib/libkubemetrics.so"
install -m 0644 "$target_dir/$profile/libkubemetrics_c.a" "$prefix/lib/libkubemetrics.a"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" -e "s|@NATIVE_LIBS@|$native_libs|" \
  bindings-c/kubemetrics.pc.in > "$prefix/lib/pkgconfig/kubemetrics.pc"
echo "installed libkubemetrics $version ($profile) under $prefix"
