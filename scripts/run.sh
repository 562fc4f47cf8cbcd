#!/usr/bin/env bash
# `make run`: a private redis-server (state under var/), gantryd, and one
# local agent; prints the URLs; Ctrl-C stops all of them.
# REPLAY=1 also replays the DCGM sample file in a loop (247 GPUs), keeping
# the file's own times.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
root=$(pwd)
mkdir -p var/redis var/agent

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() { # preferred port, else the first free one above it
  local p=$1
  while ! port_free "$p"; do p=$((p + 1)); done
  echo "$p"
}

redis_port=$(pick_port "${REDIS_PORT:-6379}")
http_port=$(pick_port "${HTTP_PORT:-8080}")
agent_port=$(pick_port "${AGENT_PORT:-7070}")

# Each program runs in a session of its own (setsid), so the terminal's
# Ctrl-C reaches this script alone, which then stops them in order: the
# replay, the agents (waited for: they end their tasks and report it),
# gantryd (it flushes to Redis), and Redis last.
replay_pid="" agent_pid="" gantryd_pid="" redis_pid=""
stop() { # pid...: SIGTERM to each, then wait for each
  for p in "$@"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || :; done
  for p in "$@"; do [ -n "$p" ] && wait "$p" 2>/dev/null || :; done
}
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "stopping: replay, agent, gantryd, redis..."
  stop "$replay_pid"
  stop "$agent_pid"
  stop "$gantryd_pid"
  stop "$redis_pid"
  echo "stopped."
}
trap cleanup INT TERM EXIT

setsid redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$root/var/redis" \
  --appendonly yes --save "" --daemonize no --logfile "$root/var/redis/redis.log" &
redis_pid=$!
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

setsid "$build/gantryd" --config conf/gantry.conf --redis "redis://127.0.0.1:$redis_port" \
  --http "127.0.0.1:$http_port" --listen "127.0.0.1:$agent_port" &
gantryd_pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$http_port/health" >/dev/null && break; sleep 0.1; done

if [ -x "$build/gantry-agent" ]; then
  setsid "$build/gantry-agent" --master "127.0.0.1:$agent_port" --workdir "$root/var/agent" &
  agent_pid=$!
fi
# The replay keeps the file's own times (2025-07-18T20:42:34Z..37Z on the
# first pass), so the GPU examples of docs/api.md find their samples.
if [ "${REPLAY:-}" = 1 ] && [ -x "$build/gantry-replay" ]; then
  setsid "$build/gantry-replay" "${GANTRY_DATA:-../shared/data}/dcgm_metrics_20250718_134233.csv" \
    --master "127.0.0.1:$agent_port" --loop --keep-timestamps &
  replay_pid=$!
fi

cat <<MSG

  Gantry is running (Ctrl-C stops everything):
    web page    http://127.0.0.1:$http_port/
    health      curl -s http://127.0.0.1:$http_port/health
    workers     curl -s http://127.0.0.1:$http_port/api/workers
    agents      127.0.0.1:$agent_port
    redis       redis-cli -p $redis_port   (state in var/redis)

MSG
pids=($redis_pid $gantryd_pid $agent_pid $replay_pid)
wait -n "${pids[@]}" || :
