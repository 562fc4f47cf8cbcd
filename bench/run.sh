#!/usr/bin/env bash
# `make bench`: the benchmark suite of SPEC 8 (bench/suite.py). Every
# figure is printed next to a ceiling or peer measured in the same run;
# results go to build/bench/results.json. QUICK=1 runs the short version
# (under 3 minutes); ONLY=B1,B4 runs a subset.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
mkdir -p build/bench
args=()
[ "${QUICK:-0}" = 1 ] && args+=(--quick)
[ -n "${ONLY:-}" ] && args+=(--only "$ONLY")
exec /usr/bin/python3 bench/suite.py "$build" "${args[@]}"
