#!/usr/bin/env bash
# Installs what node-gnutls needs on a Debian machine (GnuTLS headers and tools, the peers the
# tests talk to, a C++ toolchain, valgrind for the memcheck test, SoftHSM for the PKCS#11 tests,
# clang with libFuzzer for the native fuzz target), then the npm dependencies, which builds the
# addon and lib/.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have pkg-config || need+=(pkg-config)
pkg-config --exists gnutls 2>/dev/null || need+=(libgnutls28-dev)
have gnutls-cli && have gnutls-serv && have certtool || need+=(gnutls-bin)
have openssl || need+=(openssl)
have curl || need+=(curl)
have make || need+=(make)
have g++ || need+=(g++)
have python3 || need+=(python3)
have valgrind || need+=(valgrind)
[ -e /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
have softhsm2-util || need+=(softhsm2)
have p11tool || need+=(gnutls-bin)
have clang++ || need+=(clang)
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 || need+=(libclang-rt-14-dev)

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

npm ci --no-audit --no-fund
