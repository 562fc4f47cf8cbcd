#!/usr/bin/env bash
# Installs the Debian packages Gantry needs to build, run, test and benchmark.
# Idempotent: silent when everything is present; uses sudo when not root.
set -euo pipefail

packages=(
  build-essential pkg-config
  libev-dev libhiredis-dev libjansson-dev libhttp-parser-dev libwslay-dev
  libinih-dev libssl-dev libsystemd-dev libcmocka-dev libcurl4-openssl-dev
  redis-server redis-tools
  python3 python3-pytest python3-requests python3-websocket python3-redis
  python3-graphql-core python3-selenium python3-yaml chromium chromium-driver
  libedit-dev libjs-chart.js libjs-dygraphs
  redis-sentinel openssl tmux
  prometheus
  procps curl netcat-openbsd
)
# npm fetches the pinned Swagger UI at build time (the Makefile) and the
# OpenAPI linter in the tests; a Node.js that ships its own npm will do.
command -v npm >/dev/null 2>&1 || packages+=(npm)
case "${1:-}" in
  --bench) packages+=(wrk nginx-light valgrind) ;;
  --fuzz) packages+=(clang libclang-rt-14-dev) ;;
esac

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts services on install; Gantry starts its own private servers.
for svc in redis-server redis-sentinel prometheus nginx; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    $sudo systemctl stop "$svc" >/dev/null 2>&1 || echo "deps: could not stop $svc" >&2
  fi
done
