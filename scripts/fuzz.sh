#!/usr/bin/env bash
# `make fuzz`: builds every libFuzzer target in tests/fuzz with clang and
# runs each for $1 seconds (default 20) on a corpus kept in build/fuzz.
set -euo pipefail
secs=${1:-20}
cd "$(dirname "$0")/.."
san="-fsanitize=fuzzer-no-link,address,undefined"
make --no-print-directory BUILD=build/fuzz CC=clang CFLAGS="-O1 -g $san" \
  build/fuzz/libcore.a $(for m in graphql proto replay http cli; do
    [ -n "$(ls src/$m/*.c 2>/dev/null | grep -v main.c)" ] && echo "build/fuzz/lib$m.a"; done)
libs=$(ls build/fuzz/lib*.a)
cflags="-std=c11 -D_GNU_SOURCE -DGANTRY_VERSION=\"fuzz\" -Isrc $(pkg-config --cflags jansson hiredis)"
status=0
for src in tests/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  bin=build/fuzz/$name
  corpus=build/fuzz/corpus/$name
  mkdir -p "$corpus"
  [ -d "tests/fuzz/seeds/$name" ] && cp -n tests/fuzz/seeds/$name/* "$corpus"/ 2>/dev/null
  clang $cflags -O1 -g -fsanitize=fuzzer,address,undefined "$src" \
    -Wl,--start-group $libs -Wl,--end-group \
    -lev -lwslay -lhttp_parser $(pkg-config --libs jansson inih hiredis libcrypto) -lm -o "$bin"
  echo "== $name (${secs}s)"
  if ! "$bin" -max_total_time="$secs" -print_final_stats=1 "$corpus" 2>build/fuzz/$name.log; then
    echo "$name: FAILED, see build/fuzz/$name.log"; tail -30 build/fuzz/$name.log; status=1
  else
    grep -E 'stat::(number_of_executed_units|new_units_added)' build/fuzz/$name.log | sed 's/^/  /'
  fi
done
exit $status
