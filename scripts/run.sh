#!/usr/bin/env bash
# `make run`: a private redis-server (state under var/), gantryd, and one
# local agent; prints the URLs; Ctrl-C stops all of them.
# REPLAY=1 also replays the DCGM sample file in a loop (247 GPUs), keeping
# the file's own times. HA=1 runs a highly available group instead
# (scripts/run-ha.sh). TLS=1 runs everything over TLS: a throwaway CA and
# certificates are made under var/tls (scripts/tls-certs.sh), the API
# speaks HTTPS, the agent port mutual TLS, and the agent and the replay
# present certificates.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
[ "${HA:-}" = 1 ] && exec scripts/run-ha.sh "$build"
root=$(pwd)
mkdir -p var/redis var/agent
. scripts/common.sh

tls=${TLS:-}
agent_id=$(hostname 2>/dev/null || echo agent)
agent_id=${agent_id:0:64}
scheme=http
gflags=() aflags=() rflags=() curl_ca=()
if [ "$tls" = 1 ]; then
  t=var/tls
  scripts/tls-certs.sh "$t" "$agent_id" gantry-replay
  scheme=https
  curl_ca=(--cacert "$t/ca.pem")
  for side in http agents; do
    gflags+=(--set "$side.tls_cert=$t/server.pem" --set "$side.tls_key=$t/server.key")
  done
  gflags+=(--set "agents.tls_ca=$t/ca.pem")
  aflags=(--tls-ca "$t/ca.pem" --tls-cert "$t/agent-$agent_id.pem" --tls-key "$t/agent-$agent_id.key")
  rflags=(--tls-ca "$t/ca.pem" --tls-cert "$t/agent-gantry-replay.pem" --tls-key "$t/agent-gantry-replay.key")
fi

redis_port=$(pick_port "${REDIS_PORT:-6379}")
http_port=$(pick_port "${HTTP_PORT:-8080}")
agent_port=$(pick_port "${AGENT_PORT:-7070}")

# Each program runs in a session of its own (setsid), so the terminal's
# Ctrl-C reaches this script alone, which then stops them in the reverse
# order of their start (scripts/common.sh): the replay, the agent (waited
# for: it ends its tasks and reports it), gantryd (it flushes to Redis),
# and Redis last.

setsid redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$root/var/redis" \
  --appendonly yes --save "" --daemonize no --logfile "$root/var/redis/redis.log" &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

setsid "$build/gantryd" --config conf/gantry.conf --redis "redis://127.0.0.1:$redis_port" \
  --http "127.0.0.1:$http_port" --listen "127.0.0.1:$agent_port" ${gflags[@]+"${gflags[@]}"} &
pids+=($!)
base="$scheme://127.0.0.1:$http_port"
for _ in $(seq 50); do
  curl -sf ${curl_ca[@]+"${curl_ca[@]}"} "$base/health" >/dev/null && break
  sleep 0.1
done

if [ -x "$build/gantry-agent" ]; then
  setsid "$build/gantry-agent" --master "127.0.0.1:$agent_port" --id "$agent_id" \
    --workdir "$root/var/agent" ${aflags[@]+"${aflags[@]}"} &
  pids+=($!)
fi
# The replay keeps the file's own times (2025-07-18T20:42:34Z..37Z on the
# first pass), so the GPU examples of docs/api.md find their samples.
if [ "${REPLAY:-}" = 1 ] && [ -x "$build/gantry-replay" ]; then
  setsid "$build/gantry-replay" "${GANTRY_DATA:-../shared/data}/dcgm_metrics_20250718_134233.csv" \
    --master "127.0.0.1:$agent_port" --loop --keep-timestamps ${rflags[@]+"${rflags[@]}"} &
  pids+=($!)
fi
ctl="build/gantryctl --server $base${tls:+ --cacert var/tls/ca.pem}"

cat <<MSG

  Gantry is running${tls:+ over TLS (certificates in var/tls, CA var/tls/ca.pem)} (Ctrl-C stops everything):
    web page    $base/
    health      curl -s ${curl_ca[*]:+${curl_ca[*]} }$base/health
    workers     $ctl workers
    agents      127.0.0.1:$agent_port${tls:+ (mutual TLS)}
    redis       redis-cli -p $redis_port   (state in var/redis)

MSG
wait -n "${pids[@]}" || :
