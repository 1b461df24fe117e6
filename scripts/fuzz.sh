#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang++, ASan + UBSan + LeakSanitizer, GnuTLS flags from
# pkg-config) into build/fuzz/ and runs each for the given number of seconds (default 60).
#   bash scripts/fuzz.sh [seconds] [target...]     targets: record_queue_fuzz session_fuzz
# New inputs go to build/fuzz/corpus/<target>/ and the log to build/fuzz/<target>.log
# (FUZZ_WORK_DIR=dir: dir/<target>/ and dir/<target>.log instead; the seeds in fuzz/corpus/<target>/
# are only read).
# Prints executions and coverage per target and a FUZZ_JSON line; exits 1 when a target crashed
# (crash, sanitizer report, leak or timeout; the input is saved under build/fuzz/artifacts/),
# 2 when the build failed, 3 when clang++ / libFuzzer is not installed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(record_queue_fuzz session_fuzz)
OUT=build/fuzz
CXX=${CXX_FUZZ:-clang++}

if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "fuzz: $CXX not found (bash scripts/setup.sh --dev installs clang and its libFuzzer runtime)"
  exit 3
fi
mkdir -p "$OUT/artifacts"

# ---- build (only what is out of date; serialised for concurrent runs) ------------------------
FLAGS=(-std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
  -Isrc-native "-DNGTLS_FIXTURES=\"$ROOT/test/fixtures\"")
build() {
  local target=$1 bin="$OUT/$1" srcs=("fuzz/$1.cc" src-native/record-queue.cc src-native/record-queue.h)
  local libs=()
  [ "$target" = session_fuzz ] && read -r -a libs <<<"$(pkg-config --cflags --libs gnutls)"
  local stale=0 s
  [ -x "$bin" ] || stale=1
  for s in "${srcs[@]}" scripts/fuzz.sh; do [ "$s" -nt "$bin" ] && stale=1; done
  [ $stale = 0 ] && return 0
  echo "fuzz: building $bin"
  "$CXX" "${FLAGS[@]}" "fuzz/$target.cc" src-native/record-queue.cc "${libs[@]}" -o "$bin.tmp" && mv -f "$bin.tmp" "$bin"
}
exec 9>"$OUT/.build.lock"
flock 9
for t in "${TARGETS[@]}"; do
  if ! build "$t"; then
    echo "fuzz: build of $t failed"
    exit 2
  fi
done
flock -u 9

# ---- run ----------------------------------------------------------------------------------
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export NGTLS_FUZZ_FIXTURES="$ROOT/test/fixtures"
crashed=0
json=""
for t in "${TARGETS[@]}"; do
  work="${FUZZ_WORK_DIR:-$OUT/corpus}/$t"
  mkdir -p "$work"
  log="${FUZZ_WORK_DIR:-$OUT}/$t.log"
  start=$(date +%s)
  # The first corpus directory collects new inputs; fuzz/corpus/<target> holds the seeds.
  "$OUT/$t" "$work" "fuzz/corpus/$t" -max_total_time="$SECONDS_EACH" -max_len=4096 -timeout=30 \
    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t-" >"$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  # (-a: libFuzzer logs contain raw input bytes)
  execs=$(grep -aEo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)
  last=$(grep -aE '^#[0-9]+[[:space:]]' "$log" | tail -1)
  [ -n "$execs" ] || execs=$(echo "$last" | grep -Eo '^#[0-9]+' | tr -d '#')
  cov=$(echo "$last" | grep -Eo 'cov: [0-9]+' | grep -Eo '[0-9]+')
  ft=$(echo "$last" | grep -Eo 'ft: [0-9]+' | grep -Eo '[0-9]+')
  corp=$(echo "$last" | grep -Eo 'corp: [0-9]+' | grep -Eo '[0-9]+')
  crash=0
  if [ $rc -ne 0 ]; then
    crashed=1
    if grep -aqE 'Test unit written to|ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|runtime error:' "$log"; then
      crash=1
      echo "fuzz: $t CRASHED (exit $rc); last lines of $log:"
    else
      echo "fuzz: $t did not run (exit $rc); last lines of $log:"
    fi
    tail -n 40 "$log" | cat -v
  fi
  echo "fuzz: $t: ${execs:-0} execs in ${secs} s, cov ${cov:-0}, ft ${ft:-0}, corpus ${corp:-0}, crashes $crash"
  json="$json${json:+,}\"$t\":{\"execs\":${execs:-0},\"seconds\":$secs,\"cov\":${cov:-0},\"ft\":${ft:-0},\"corpus\":${corp:-0},\"crashes\":$crash}"
done
echo "FUZZ_JSON {$json}"
exit $crashed
