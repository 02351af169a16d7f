#!/usr/bin/env bash
# The test command (README, .ci/run): installs what it needs, builds dist/fgs,
# type-checks everything (tsc, tsconfig.json), runs the host test suite on the
# real kernel, then the kernel matrix in QEMU.
#   FGS_SKIP_VM=1   skip the QEMU kernel matrix
#   extra arguments are passed to `bun test` (e.g. a file filter)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then echo "tests need root (BPF, namespaces, cgroups)" >&2; exit 1; fi

bash scripts/deps.sh
bash scripts/build.sh
# A type error fails the test command before any test runs.
./node_modules/.bin/tsc --noEmit -p .

status=0
passed=0
failed=0
# Runs `bun test` with the given arguments and adds up its counts.
bun_test() {
  local log rc=0
  log=$(mktemp)
  ./node_modules/.bin/bun test --timeout 120000 "$@" 2>&1 | tee "$log" || rc=$?
  passed=$((passed + $(grep -Eo '^ *[0-9]+ pass$' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)))
  failed=$((failed + $(grep -Eo '^ *[0-9]+ fail$' "$log" | tail -1 | grep -Eo '[0-9]+' || echo 0)))
  rm -f "$log"
  return $rc
}

if [ $# -gt 0 ]; then
  bun_test "$@" || status=$?
# tests/unit needs neither root nor a kernel and takes seconds: a failure
# there stops the run before the kernel tests (tests/*.test.ts) start.
elif bun_test ./tests/unit; then
  bun_test ./tests/*.test.ts || status=$?
else
  status=1
fi

if [ -z "${FGS_SKIP_VM:-}" ] && [ $# -eq 0 ] && [ -x scripts/vmtest ]; then
  vmlog=$(mktemp)
  bash scripts/vmtest 2>&1 | tee "$vmlog" || status=1
  vm_passed=$(grep -Eo '^[0-9]+ passed, [0-9]+ failed' "$vmlog" | awk '{p+=$1; f+=$3} END {print p+0}')
  vm_failed=$(grep -Eo '^[0-9]+ passed, [0-9]+ failed' "$vmlog" | awk '{p+=$1; f+=$3} END {print f+0}')
  passed=$((passed + vm_passed))
  failed=$((failed + vm_failed))
fi

if [ "$status" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
exit $status
