#!/usr/bin/env bash
# Runs the unit tests (cmocka) and the end-to-end tests (pytest) against the
# build in $1, prints both summaries, and fails if either failed.
set -uo pipefail
build=${1:-build/asan}
cd "$(dirname "$0")/.."
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "== unit tests ($build/tests)"
unit_pass=0 unit_fail=0 unit_skip=0 unit_bad=()
for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  out=$("$t" 2>&1)
  rc=$?
  passed=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  failed=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  skipped=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  unit_skip=$((unit_skip + skipped))
  unit_pass=$((unit_pass + passed))
  unit_fail=$((unit_fail + failed))
  if [ $rc -ne 0 ]; then
    [ "$failed" -eq 0 ] && unit_fail=$((unit_fail + 1))
    unit_bad+=("$(basename "$t")")
    printf '%s\n' "$out" | tail -40
  fi
  printf '  %-28s %3d passed %3d failed\n' "$(basename "$t")" "$passed" "$failed"
done
echo "unit: $unit_pass passed, $unit_fail failed, $unit_skip skipped"

echo "== end-to-end tests (tests/e2e)"
GANTRY_BUILD="$build" /usr/bin/python3 -m pytest -p no:cacheprovider -q \
  -o console_output_style=classic tests/e2e "${PYTEST_ARGS[@]:-}"
e2e_rc=$?

echo "== summary"
echo "unit: $unit_pass passed, $unit_fail failed, $unit_skip skipped${unit_bad:+ (${unit_bad[*]})}"
echo "e2e: pytest exit status $e2e_rc"
[ $unit_fail -eq 0 ] && [ $e2e_rc -eq 0 ]
