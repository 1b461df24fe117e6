#!/usr/bin/env bash
# Runs scripts/memcheck-workload.js under valgrind memcheck and fails on definite or indirect leaks,
# invalid reads/writes, or native sessions left alive. (V8's conservative stack scan reports
# "uninitialised value" errors inside node itself; those are not counted.)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "memcheck: valgrind is not installed (apt-get install valgrind)"; exit 2; }
log=$(mktemp)
valgrind --leak-check=full --show-leak-kinds=definite,indirect --num-callers=30 \
  node --expose-gc scripts/memcheck-workload.js "${1:-6}" 2>"$log"
definite=$(grep -Eo 'definitely lost: [0-9,]+ bytes' "$log" | grep -Eo '[0-9,]+' | tr -d , || echo 0)
indirect=$(grep -Eo 'indirectly lost: [0-9,]+ bytes' "$log" | grep -Eo '[0-9,]+' | tr -d , || echo 0)
invalid=$(grep -c 'Invalid \(read\|write\|free\)' "$log" || true)
echo "memcheck: definitely lost ${definite:-0} bytes, indirectly lost ${indirect:-0} bytes, invalid accesses ${invalid}"
if [ "${definite:-0}" != 0 ] || [ "${indirect:-0}" != 0 ] || [ "$invalid" != 0 ]; then
  echo "memcheck: full valgrind log in $log"
  exit 1
fi
rm -f "$log"
