"""Gantry as the master/worker system's clients use it: a health check that
reads the string "healthy" and an integer time, dashboards that read Unix
seconds in /workers and /telemetry and merge the maps of /ws/telemetry into
one dict; and the GPU pipeline's subscription on /ws, answered with
telemetry_update messages carrying only the requested metrics."""
import json
import os
import re
import socket
import subprocess
import time

import requests
import websocket

from harness import BUILD, wait_until

FAST = {"agents": {"heartbeat_timeout": "5s", "lost_after": "30s"}}


def ws(g, path):
    return websocket.create_connection(f"ws://127.0.0.1:{g.http_port}{path}", timeout=10)


def test_health_check_as_the_seed_documents_it(redis_server, gantryd_factory):
    g = gantryd_factory(conf={"redis": {"connect_timeout": "300ms", "reply_timeout": "500ms"}})
    h = requests.get(g.url + "/health", timeout=5).json()
    assert h["status"] == "healthy"
    assert isinstance(h["time"], int) and abs(h["time"] - time.time()) < 5
    assert {"uptime_s", "redis", "workers", "active_workers", "active_clients"} <= set(h)
    redis_server.stop()
    wait_until(lambda: requests.get(g.url + "/health", timeout=5).json()["status"] == "degraded", 10,
               what="degraded while redis is away")
    assert requests.get(g.url + "/health", timeout=5).json()["redis"] == "down"


def test_workers_and_telemetry_times_are_unix_seconds(gantryd_factory, agent_factory):
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "a1", interval="200ms")
    before = int(time.time())
    workers = requests.get(g.url + "/workers", timeout=5).json()
    tel = requests.get(g.url + "/telemetry", timeout=5).json()
    one = requests.get(g.url + "/telemetry/a1", timeout=5).json()
    for lu in (workers["a1"]["last_update"], tel["a1"]["last_update"], one["last_update"]):
        assert isinstance(lu, int) and before - 5 <= lu <= time.time() + 1, lu
    # Gantry's own routes keep RFC 3339
    assert isinstance(requests.get(g.url + "/api/workers/a1").json()["last_heartbeat"], str)


def merge_until_equal(g, c, state):
    """Merges the maps c sends into state until, the cluster being quiet,
    state is GET /telemetry."""
    c.settimeout(0.3)

    def settled():
        try:
            end = time.monotonic() + 2
            while time.monotonic() < end:
                state.update(json.loads(c.recv()))
        except websocket.WebSocketTimeoutException:
            pass
        return state == requests.get(g.url + "/telemetry", timeout=5).json()
    wait_until(settled, 20, interval=0, what="the merged map to equal GET /telemetry")


def test_ws_telemetry_maps_merge_into_get_telemetry(gantryd_factory, agent_factory):
    """A dashboard's loop: merge every message into a dict; once the
    cluster is quiet, the dict is GET /telemetry."""
    g = gantryd_factory(conf=FAST)
    agents = [agent_factory(g, f"a{i}", interval="100ms") for i in range(3)]
    c = ws(g, "/ws/telemetry")
    first = json.loads(c.recv())
    assert set(first) == {"a0", "a1", "a2"} and first["a1"]["worker_id"] == "a1"
    state = dict(first)
    agents.append(agent_factory(g, "late", interval="100ms"))
    deltas = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        m = json.loads(c.recv())
        assert "type" not in m            # maps only, never an envelope
        deltas.append(m)
        state.update(m)
    assert "late" in state and any(set(d) < set(state) for d in deltas)
    for a in agents:                      # quiet: the agents go, the workers go offline
        a.stop()
    merge_until_equal(g, c, state)
    assert not any(w["is_active"] for w in state.values())

def test_ws_telemetry_of_one_worker_sends_its_object(gantryd_factory, agent_factory):
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "a1", interval="100ms")
    agent_factory(g, "a2", interval="100ms")
    one = ws(g, "/ws/telemetry/a1")
    for _ in range(5):
        obj = json.loads(one.recv())
        assert obj["worker_id"] == "a1" and isinstance(obj["last_update"], int)


def test_ws_telemetry_coalesces_heartbeats_per_loop_turn(gantryd_factory):
    """300 agents beating every 50 ms: the map client gets one message per
    loop turn holding the workers that changed: far fewer messages than
    heartbeats, and every heartbeat's worker in one of them."""
    g = gantryd_factory(conf={"agents": {"heartbeat_timeout": "10s"}, "log": {"level": "warn"}})
    load = subprocess.Popen([os.path.join(BUILD, "hbload"), "--master", g.agent_addr, "--agents",
                             "300", "--interval", "50ms", "--duration", "6s", "--no-ack"],
                            stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: requests.get(g.url + "/health").json()["active_workers"] == 300, 15)
        c = ws(g, "/ws/telemetry")
        first = json.loads(c.recv())
        assert len(first) == 300
        beats0 = heartbeats(g)
        msgs, t0 = [], time.monotonic()
        while time.monotonic() - t0 < 2:
            msgs.append(json.loads(c.recv()))
        beats = heartbeats(g) - beats0
    finally:
        load.wait(30)
    changed = sum(len(m) for m in msgs)
    assert beats > 3000, beats
    assert len(msgs) < beats / 5, (len(msgs), beats)       # many heartbeats a message
    assert changed >= beats * 0.5, (changed, beats)        # ... and each of them is in one


def heartbeats(g):
    text = requests.get(g.url + "/metrics", timeout=5).text
    return int(next(l.split()[1] for l in text.splitlines() if l.startswith("gantry_heartbeats_total ")))


def agent_socket(g, worker_id, gpus):
    s = socket.create_connection(("127.0.0.1", g.agent_port))
    f = s.makefile("rwb")
    f.write((json.dumps({"type": "hello", "version": 1, "worker_id": worker_id, "capacity": {
        "cpu": 8, "memory_mib": 8192, "gpus": gpus}}) + "\n").encode())
    f.flush()
    assert json.loads(f.readline())["type"] == "welcome"
    return s, f


def beat(f, gpus):
    f.write((json.dumps({"type": "heartbeat", "gpus": gpus}) + "\n").encode())
    f.flush()


def test_pipeline_subscription_gets_only_the_requested_metrics_of_its_gpu(gantryd_factory):
    g = gantryd_factory(conf=FAST)
    s, f = agent_socket(g, "h1", [{"index": 0, "uuid": "GPU-a", "model": "X"},
                                  {"index": 1, "uuid": "GPU-b", "model": "X"}])
    c = ws(g, "/ws")
    c.send(json.dumps({"type": "subscribe", "topic": "telemetry",
                       "filters": {"gpu_uuid": "GPU-b", "metrics": ["gpu_utilization", "temperature"]}}))
    assert json.loads(c.recv())["type"] == "subscribed"
    dcgm = ws(g, "/ws")
    dcgm.send(json.dumps({"type": "subscribe", "topic": "telemetry",
                          "filters": {"gpu_uuid": "GPU-b", "metrics": ["DCGM_FI_DEV_POWER_USAGE"]}}))
    assert json.loads(dcgm.recv())["type"] == "subscribed"
    for i in range(3):
        beat(f, [{"index": 0, "utilization": 1, "temperature_c": 30, "power_w": 100},
                 {"index": 1, "utilization": 90 + i, "temperature_c": 70, "power_w": 300,
                  "sm_clock_mhz": 1980}])
        m = json.loads(c.recv())
        assert m["type"] == "telemetry_update" and m["gpu_uuid"] == "GPU-b"
        assert m["data"] == {"gpu_utilization": 90 + i, "temperature": 70}
        assert isinstance(m["timestamp"], str) and m["timestamp"].endswith("Z")
        assert json.loads(dcgm.recv())["data"] == {"DCGM_FI_DEV_POWER_USAGE": 300}
    beat(f, [{"index": 1, "sm_clock_mhz": 1980}])          # none of the wanted metrics: nothing
    beat(f, [{"index": 1, "temperature_c": 71}])
    assert json.loads(c.recv())["data"] == {"temperature": 71}
    # Gantry's own telemetry topic is unchanged beside it
    c.send(json.dumps({"type": "subscribe", "topic": "telemetry", "filters": {"worker_id": "h1"}}))
    assert json.loads(c.recv())["type"] == "subscribed"
    assert json.loads(c.recv())["type"] == "snapshot"
    s.close()


def test_a_map_client_that_falls_behind_gets_maps_only_then_the_whole_map(gantryd_factory):
    """A dashboard that stops reading for a while: what it missed is dropped
    (never a {"type":"lagged"} notice, which would land in its map), and
    once it reads again a whole map puts it right."""
    g = gantryd_factory(conf={"http": {"ws_queue": "8KiB", "ws_ping_interval": "1h"},
                              "agents": {"heartbeat_timeout": "10s"}, "log": {"level": "warn"}})
    load = subprocess.Popen([os.path.join(BUILD, "hbload"), "--master", g.agent_addr, "--agents",
                             "40", "--interval", "50ms", "--duration", "5s", "--gpus", "4", "--no-ack"],
                            stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: requests.get(g.url + "/health").json()["active_workers"] == 40, 10)
        slow = websocket.WebSocket(sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
        slow.connect(f"ws://127.0.0.1:{g.http_port}/ws/telemetry", timeout=10)
        state = json.loads(slow.recv())
        time.sleep(1.2)                   # not reading, while 40 workers beat
        dropped = int(re.search(r"^gantry_websocket_dropped_total (\d+)",
                                requests.get(g.url + "/metrics").text, re.M).group(1))
        assert dropped > 0
        while load.poll() is None:        # reading again until the load ends
            m = json.loads(slow.recv())
            assert "type" not in m        # maps only, never a notice
            state.update(m)
    finally:
        load.wait(30)
    merge_until_equal(g, slow, state)
