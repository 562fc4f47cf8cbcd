#!/usr/bin/env bash
# `make run HA=1`: a highly available Gantry on this machine (docs/ha.md):
# a private Redis master with one replica, three redis-sentinel watching
# them, three gantryd on them through sentinel:// (one leads, two stand by,
# redis.min_replicas_ack = 1), and two agents given all three. Prints which
# gantryd leads, and again whenever that changes: kill -9 the leader (or
# the Redis master) and watch. State under var/ha/; Ctrl-C stops all.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
root=$(pwd)
var=$root/var/ha
. scripts/common.sh

master=$(pick_port "${REDIS_PORT:-6390}")
replica=$(pick_port $((master + 1)))

mkdir -p "$var/master" "$var/replica"
setsid redis-server --port "$master" --bind 127.0.0.1 --dir "$var/master" --appendonly yes --save "" \
  --repl-diskless-sync-delay 0 --logfile "$var/master/redis.log" &
pids+=($!)
setsid redis-server --port "$replica" --bind 127.0.0.1 --dir "$var/replica" --appendonly yes --save "" \
  --replicaof 127.0.0.1 "$master" --logfile "$var/replica/redis.log" &
pids+=($!)
for _ in $(seq 50); do redis-cli -p "$master" ping >/dev/null 2>&1 && break; sleep 0.1; done

sentinels=()
for n in 1 2 3; do
  port=$(pick_port $((26380 + n * 10)))
  mkdir -p "$var/sentinel$n"
  # Sentinel rewrites its file: a fresh one each run, for this run's ports.
  cat > "$var/sentinel$n/sentinel.conf" <<CONF
port $port
bind 127.0.0.1
dir $var/sentinel$n
logfile $var/sentinel$n/sentinel.log
sentinel monitor gantry 127.0.0.1 $master 2
sentinel down-after-milliseconds gantry 2000
sentinel failover-timeout gantry 10000
CONF
  setsid redis-sentinel "$var/sentinel$n/sentinel.conf" &
  pids+=($!)
  sentinels+=("127.0.0.1:$port")
done
url="sentinel://$(IFS=,; echo "${sentinels[*]}")/gantry"

https=() agents=()
for n in 1 2 3; do
  http=$(pick_port $((8080 + n - 1)))
  listen=$(pick_port $((7070 + n - 1)))
  mkdir -p "$var/gantryd$n"
  setsid "$build/gantryd" --config conf/gantry.conf --redis "$url" --http "127.0.0.1:$http" \
    --listen "127.0.0.1:$listen" --set redis.min_replicas_ack=1 \
    2> "$var/gantryd$n/gantryd.log" &
  pids+=($!)
  https+=("$http")
  agents+=("127.0.0.1:$listen")
done
list=$(IFS=,; echo "${agents[*]}")
for n in 1 2; do
  mkdir -p "$var/agent$n"
  setsid "$build/gantry-agent" --master "$list" --id "agent$n" --workdir "$var/agent$n" \
    2> "$var/agent$n/agent.log" &
  pids+=($!)
done

leader() { # the HTTP port of the gantryd that leads, if any
  for p in "${https[@]}"; do
    if curl -sf "http://127.0.0.1:$p/health" 2>/dev/null | grep -q '"role":"leader"'; then
      echo "$p"
      return
    fi
  done
}

cat <<MSG

  Gantry HA is running (Ctrl-C stops everything):
    gantryd     http://127.0.0.1:${https[0]}/  http://127.0.0.1:${https[1]}/  http://127.0.0.1:${https[2]}/
                (a standby answers /health itself and sends the rest to the leader)
    agents      gantry-agent --master $list
    redis       master 127.0.0.1:$master, replica 127.0.0.1:$replica, sentinels $url
    gantryctl   $build/gantryctl --server http://127.0.0.1:${https[0]},http://127.0.0.1:${https[1]},http://127.0.0.1:${https[2]} workers
    logs        $var/

MSG
shown=""
while :; do
  now=$(leader)
  if [ "$now" != "$shown" ]; then
    if [ -n "$now" ]; then
      echo "  $(date +%T) gantryd on http://127.0.0.1:$now leads"
    else
      echo "  $(date +%T) no gantryd leads right now"
    fi
    shown=$now
  fi
  sleep 0.5
done
