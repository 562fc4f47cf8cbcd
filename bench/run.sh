#!/usr/bin/env bash
# `make bench`: the benchmark suite. Every figure is printed next to a
# ceiling or peer measured in the same run; results go to build/bench/.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
mkdir -p build/bench
echo "== idle connection memory (gantryd RSS delta over 10,000 idle HTTP connections)"
/usr/bin/python3 bench/idle_conns.py "$build" 10000 | tee build/bench/idle_conns.json
