#!/usr/bin/env bash
# Installs what node-gnutls needs on a Debian (or Ubuntu) machine, with apt-get and only what is
# missing, then the npm dependencies (`npm ci`, which builds the addon and lib/).
#   bash scripts/setup.sh         to build and use the library: GnuTLS with headers
#                                 (libgnutls28-dev), pkg-config, g++, make, python3, CA certificates
#   bash scripts/setup.sh --dev   also the test, fuzz and memcheck toolchain: gnutls-bin and openssl
#                                 (the peers the tests talk to, certtool), curl, git, valgrind, softhsm2
#                                 (PKCS#11 tests), cmake (the cmake-js build), clang and the libFuzzer
#                                 runtime of that clang (libclang-rt-<major>-dev, when apt knows it)
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
case "${1:-}" in
  "") ;;
  --dev) dev=1 ;;
  *) echo "usage: bash scripts/setup.sh [--dev]" >&2; exit 2 ;;
esac

have() { command -v "$1" >/dev/null 2>&1; }
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
updated=0
apt_install() {
  [ $# -gt 0 ] || return 0
  if ! have apt-get; then
    echo "setup: no apt-get here; install the equivalents of: $*" >&2
    exit 1
  fi
  echo "setup: installing $*"
  export DEBIAN_FRONTEND=noninteractive
  if [ $updated = 0 ]; then $sudo apt-get update -qq; updated=1; fi
  $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

need=()
have pkg-config || need+=(pkg-config)
pkg-config --exists gnutls 2>/dev/null || need+=(libgnutls28-dev)
have make || need+=(make)
have g++ || need+=(g++)
have python3 || need+=(python3)
[ -e /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
if [ $dev = 1 ]; then
  { have gnutls-cli && have gnutls-serv && have certtool && have p11tool; } || need+=(gnutls-bin)
  have openssl || need+=(openssl)
  have curl || need+=(curl)
  have git || need+=(git)
  have valgrind || need+=(valgrind)
  have softhsm2-util || need+=(softhsm2)
  have cmake || need+=(cmake)
  have clang++ || need+=(clang)
fi
apt_install "${need[@]}"

# libFuzzer: the runtime package is named for clang's major version (libclang-rt-14-dev goes with
# Debian 12's clang 14); it is needed only when clang cannot link a fuzz target yet.
fuzzer_links() {
  local dir rc
  dir=$(mktemp -d)
  printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' >"$dir/f.cc"
  clang++ -fsanitize=fuzzer "$dir/f.cc" -o "$dir/f" >/dev/null 2>&1 && rc=0 || rc=1
  rm -rf "$dir"
  return $rc
}
if [ $dev = 1 ] && ! fuzzer_links; then
  major=$(clang++ --version | sed -n 's/.*clang version \([0-9][0-9]*\).*/\1/p' | head -n1)
  rt="libclang-rt-${major}-dev"
  if [ -n "$major" ] && have apt-cache && { [ $updated = 1 ] || { $sudo apt-get update -qq && updated=1; }; } &&
     apt-cache show "$rt" >/dev/null 2>&1; then
    apt_install "$rt"
    fuzzer_links || echo "setup: clang++ -fsanitize=fuzzer still cannot link with $rt; npm run fuzz will report it"
  else
    echo "setup: skipping libFuzzer: apt knows no ${rt:-libclang-rt package} for clang ${major:-?}; npm run fuzz (and its short pass in npm test) will report it missing"
  fi
fi

npm ci --no-audit --no-fund
