# Sourced by scripts/demo and scripts/test: installs what the build needs
# (as root, with apt-get, only what is missing) or prints the one apt-get line
# to run, then configures and builds leakscan in build/.
set -euo pipefail

LEAKSCAN_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LEAKSCAN_BUILD=${LEAKSCAN_BUILD:-$LEAKSCAN_TOP/build}
# Debian package -> how to tell it is there
LEAKSCAN_DEPS=(
  "gcc:command -v cc"
  "g++:command -v c++"
  "meson:command -v meson"
  "ninja-build:command -v ninja"
  "pkg-config:command -v pkg-config"
  "libdw-dev:pkg-config --exists libdw"
  "libelf-dev:pkg-config --exists libelf"
  "python3:command -v python3"
  "libc6-dbg:test -d /usr/lib/debug/.build-id"
  "cmake:command -v cmake"          # tests: leakscan under ctest
  "automake:command -v automake"    # tests: leakscan under automake's harness
  "clang:command -v clang"          # tests: targets built with clang (DWARF 5)
  "strace:command -v strace"        # tests: leakscan killed at a chosen syscall (fault injection)
  "libunwind-dev:pkg-config --exists libunwind-generic libunwind-ptrace"   # --unwinder=libunwind, ptrace
  "redis-server:command -v redis-server"    # tests/real: healthy servers report nothing
  "redis-tools:command -v redis-benchmark"
  "memcached:test -x /usr/bin/memcached"
  "nginx-light:test -x /usr/sbin/nginx"
  "libgtest-dev:pkg-config --exists gtest"   # tests: the GoogleTest listener
  "python3-jsonschema:python3 -c 'import jsonschema'"  # tests: JSON and SARIF schemas
  "npm:command -v npm"              # tests: fetches the official SARIF 2.1.0 schema
  "graphviz:command -v dot"         # tests: --format=dot parses
  "doctest-dev:test -f /usr/include/doctest/doctest.h"  # tests: naming doctest's tests, --per-test
  "catch2:test -f /usr/include/catch2/catch.hpp"    # tests: naming Catch2's tests, --per-test
  "libglib2.0-dev:pkg-config --exists glib-2.0"     # tests: naming GLib's tests, --per-test; GLib's pools
  "libomp-dev:test -n \"$(ls /usr/lib/llvm-*/lib/libomp.so 2>/dev/null)\""   # tests: LLVM's OpenMP runtime
  "python3.11:test -x /usr/bin/python3.11"   # tests: CPython 3.11's Python frames
  "python3-pytest:/usr/bin/python3 -c 'import pytest'"  # tests: naming pytest's and unittest's tests
  "golang-go:command -v go"         # tests: Go programs, stripped and not (.gopclntab)
  "haproxy:test -x /usr/sbin/haproxy"       # tests/real: healthy servers report nothing
  "unbound:test -x /usr/sbin/unbound"
  "rustc:test -x /usr/bin/rustc"    # tests: Rust targets (std's futex primitives, mangled names)
  "libjemalloc-dev:test -f /usr/include/jemalloc/jemalloc.h"  # tests: reachability on jemalloc's heap
  "libgoogle-perftools-dev:test -f /usr/include/gperftools/tcmalloc.h"  # ...on tcmalloc's
  "libmimalloc-dev:test -f /usr/include/mimalloc.h"           # ...and on mimalloc's
  "zlib1g-dev:pkg-config --exists zlib"     # --format=pprof: gzip
  "libssl-dev:pkg-config --exists openssl"  # --serve: TLS (--web.config.file)
  "libcrypt-dev:test -f /usr/include/crypt.h"   # --serve: bcrypt passwords of basic auth
  "prometheus:command -v promtool"          # tests: promtool check metrics/rules, a real Prometheus
  "golang-go:command -v go"                 # tests: go tool pprof reads --format=pprof
  "systemd:command -v systemd-analyze"      # tests: systemd-analyze verify deploy/systemd
  "python3-yaml:python3 -c 'import yaml'"   # tests: deploy/kubernetes, structurally
)

leakscan_install_deps() {
  local missing=() entry pkg probe
  for entry in "${LEAKSCAN_DEPS[@]}"; do
    pkg=${entry%%:*}
    probe=${entry#*:}
    if ! eval "$probe" >/dev/null 2>&1; then
      missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "leakscan: missing build dependencies; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null; then
    echo "leakscan: missing ${missing[*]} and no apt-get here; install them with your package manager" >&2
    exit 1
  fi
  echo "leakscan: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# leakscan_build_in DIR [NINJA-TARGET...] [-- MESON-SETUP-ARGS...]: configures
# DIR once (with the setup arguments) and builds the targets (all by default).
leakscan_build_in() {
  local dir=$1 targets=() setup=()
  shift
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do targets+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  setup=("$@")
  local log="$LEAKSCAN_TOP/.build${dir##*/build}.log"
  echo "leakscan: building in $dir (log: $log)" >&2
  {
    if [ ! -f "$dir/build.ninja" ]; then
      meson setup "$dir" "$LEAKSCAN_TOP" -Dwerror=true "${setup[@]}"
    fi
    ninja -C "$dir" "${targets[@]}"
  } > "$log" 2>&1 || { cat "$log" >&2; echo "leakscan: the build in $dir failed (above)" >&2; exit 1; }
}

leakscan_build() {
  leakscan_build_in "$LEAKSCAN_BUILD" -- --buildtype=debugoptimized
}

leakscan_install_deps
leakscan_build
