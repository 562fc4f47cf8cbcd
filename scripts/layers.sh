#!/usr/bin/env bash
# Checks that the arrows between modules point one way (STYLE.md): core
# includes nothing of ours outside core; reactor, proto, store and http
# depend on core (and reactor), never on each other's callers.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
check() { # module, allowed modules...
  local mod=$1; shift
  local allowed="$*"
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(printf '%s' "$line" | sed -n 's/.*#include "\([a-z]*\)\/.*/\1/p')
    [ -z "$inc" ] && continue
    case " $mod $allowed " in
      *" $inc "*) ;;
      *) echo "layers: $file includes $inc/ (src/$mod may use: $mod $allowed)"; fail=1 ;;
    esac
  done < <(grep -rn '#include "[a-z]*/' "src/$mod" 2>/dev/null)
}
check core
check graphql core
check reactor core
check proto core reactor
check store core reactor
check http core reactor store proto graphql
check agent core proto reactor
check cli core
check replay core proto reactor
# store/ is the only door to Redis: nobody else sees hiredis, RESP or the
# store's internals.
while IFS= read -r line; do
  echo "layers: ${line%%:*} reaches into Redis (${line#*:}); ask store/ (store.h, reads.h)"
  fail=1
done < <(grep -rnE '#include [<"](hiredis/|store/store_int\.h|store/resp\.h|store/keys\.h)' src \
           --include='*.[ch]' | grep -v '^src/store/')
exit $fail
