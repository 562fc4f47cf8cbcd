"""WebSocket streams: telemetry snapshots and updates, task logs live to
their end, the /ws subscribe protocol with filters and history, pings,
limits, and a client too slow to read."""
import json
import os
import re
import socket
import subprocess
import time

import pytest
import websocket

from harness import BUILD, submit, wait_task, wait_until

FAST = {"agents": {"heartbeat_timeout": "5s", "lost_after": "30s"}}


def ws(g, path, **kw):
    return websocket.create_connection(f"ws://127.0.0.1:{g.http_port}{path}", timeout=5, **kw)


def recv_json(c):
    return json.loads(c.recv())


def until(c, pred, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = recv_json(c)
        if pred(m):
            return m
    raise AssertionError("message never came")


def test_telemetry_snapshot_then_an_update_per_heartbeat(gantryd_factory, agent_factory):
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "a1", interval="300ms")
    agent_factory(g, "a2", interval="300ms")
    c = ws(g, "/ws")
    c.send(json.dumps({"type": "subscribe", "topic": "telemetry"}))
    assert recv_json(c)["type"] == "subscribed"
    snap = recv_json(c)
    assert snap["type"] == "snapshot" and set(snap["workers"]) == {"a1", "a2"}
    assert "cpu_usage" in snap["workers"]["a1"]
    times = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < 3:
        m = recv_json(c)
        if m["type"] == "telemetry" and m["worker_id"] == "a1":
            times.append(time.monotonic())
            assert m["data"]["worker_id"] == "a1" and "memory_usage" in m["data"]
            assert isinstance(m["data"]["last_update"], str)      # Gantry's topic: RFC 3339
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) >= 7, times
    assert max(gaps) < 0.6, gaps          # one per heartbeat, none held back
    c.close()
    one = ws(g, "/ws/telemetry/a2")             # the master/worker system's: the object alone
    assert recv_json(one)["worker_id"] == "a2"
    for _ in range(5):
        assert recv_json(one)["worker_id"] == "a2"
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        ws(g, "/ws/telemetry/nobody")
    assert e.value.status_code == 404


def test_task_logs_stream_live_and_end(gantryd_factory, agent_factory):
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "a1")
    tid = submit(g, {"command": "for i in 1 2 3 4; do echo line-$i; sleep 0.4; done; exit 2"})
    wait_task(g, tid, "running", 10)
    c = ws(g, f"/ws/tasks/{tid}/logs")
    got = []
    while True:
        m = recv_json(c)
        got.append((time.monotonic(), m))
        if m["type"] == "end":
            break
    lines = [m["data"] for _, m in got if m["type"] == "log"]
    assert "".join(lines) == "line-1\nline-2\nline-3\nline-4\n"
    live = [t for t, m in got if m["type"] == "log"]
    assert live[-1] - live[0] > 0.6           # they arrived as printed, not at the end
    end = got[-1][1]
    assert end["status"] == "failed" and end["exit_code"] == 2
    op, data = c.recv_data(control_frame=True)
    assert op == websocket.ABNF.OPCODE_CLOSE and int.from_bytes(data[:2], "big") == 1000
    # a finished task: its whole log, then the end, at once
    c2 = ws(g, f"/ws/tasks/{tid}/logs")
    msgs = []
    while not msgs or msgs[-1]["type"] != "end":
        msgs.append(recv_json(c2))
    assert [m["data"] for m in msgs if m["type"] == "log"] == [l for l in lines]


def test_subscribe_filters_history_and_errors(gantryd_factory, agent_factory):
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "a1")
    first = submit(g, {"command": ["true"]})
    wait_task(g, first)
    c = ws(g, "/ws")
    c.send(json.dumps({"type": "subscribe", "topic": "nonsense"}))
    assert recv_json(c)["code"] == "BAD_SUBSCRIPTION"
    c.send("not json")
    assert recv_json(c)["code"] == "BAD_MESSAGE"
    c.send(json.dumps({"type": "subscribe", "topic": "logs"}))
    assert recv_json(c)["code"] == "BAD_SUBSCRIPTION"
    c.send(json.dumps({"type": "subscribe", "topic": "events", "from": "earliest"}))
    sub = recv_json(c)
    assert sub["type"] == "subscribed" and sub["topic"] == "events"
    hist = []
    while len(hist) < 6:
        hist.append(recv_json(c))
    types = [h["event"]["type"] for h in hist]
    assert types[:2] == ["worker.joined", "worker.active"]
    assert "task.completed" in types
    ids = [h["id"] for h in hist]
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))
    second = submit(g, {"command": ["true"]})
    m = until(c, lambda m: m.get("event", {}).get("task_id") == second and
              m["event"]["type"] == "task.completed")
    assert m["event"]["exit_code"] == 0
    c.send(json.dumps({"type": "unsubscribe", "id": sub["id"]}))
    until(c, lambda m: m["type"] == "unsubscribed" and m["id"] == sub["id"])
    c.send(json.dumps({"type": "subscribe", "topic": "events", "from": ids[2]}))
    assert recv_json(c)["type"] == "subscribed"
    assert recv_json(c)["id"] == ids[3]


def test_gpu_topic_with_metric_filter(gantryd_factory):
    g = gantryd_factory(conf=FAST)
    s = socket.create_connection(("127.0.0.1", g.agent_port))
    f = s.makefile("rwb")
    f.write((json.dumps({"type": "hello", "version": 1, "worker_id": "h1", "capacity": {
        "cpu": 8, "memory_mib": 8192, "gpus": [{"index": 0, "uuid": "GPU-a", "model": "X"},
                                               {"index": 1, "uuid": "GPU-b", "model": "X"}]}}) + "\n").encode())
    f.flush()
    f.readline()
    c = ws(g, "/ws")
    c.send(json.dumps({"type": "subscribe", "topic": "gpus",
                       "filters": {"gpu_uuid": "GPU-b", "metrics": ["gpu_utilization", "temperature"]}}))
    assert recv_json(c)["type"] == "subscribed"
    f.write((json.dumps({"type": "heartbeat", "gpus": [
        {"index": 0, "utilization": 1, "temperature_c": 30},
        {"index": 1, "utilization": 90, "temperature_c": 70, "power_w": 300}]}) + "\n").encode())
    f.flush()
    m = recv_json(c)
    assert m["type"] == "gpu" and m["uuid"] == "GPU-b" and m["hostname"] == "h1"
    assert m["metrics"] == {"gpu_utilization": 90, "temperature": 70}
    c.send(json.dumps({"type": "subscribe", "topic": "gpus", "filters": {"metrics": ["watts"]}}))
    assert recv_json(c)["code"] == "BAD_SUBSCRIPTION"


def test_pings_keep_idle_clients_and_big_messages_close(gantryd_factory):
    g = gantryd_factory(conf={"http": {"ws_ping_interval": "300ms", "ws_max_message": "256"}})
    c = ws(g, "/ws")
    c.settimeout(3)
    op, _ = c.recv_data(control_frame=True)
    assert op == websocket.ABNF.OPCODE_PING
    c.pong(b"")
    # answering pings keeps it open: a second one comes, not a close
    op, _ = c.recv_data(control_frame=True)
    assert op == websocket.ABNF.OPCODE_PING
    c.pong(b"")
    c.send(json.dumps({"type": "subscribe", "topic": "events"}))
    until(c, lambda m: m["type"] == "subscribed")
    c.send("x" * 1000)
    while True:
        op, data = c.recv_data(control_frame=True)
        if op == websocket.ABNF.OPCODE_CLOSE:
            assert int.from_bytes(data[:2], "big") == 1009
            break


def test_client_that_never_reads_is_told_it_lagged_then_closed(gantryd_factory):
    g = gantryd_factory(conf={"http": {"ws_queue": "4KiB", "ws_ping_interval": "1h"},
                              "agents": {"heartbeat_timeout": "10s"}, "log": {"level": "warn"}})
    load = subprocess.Popen([os.path.join(BUILD, "hbload"), "--master", g.agent_addr, "--agents",
                             "50", "--interval", "50ms", "--duration", "8s", "--gpus", "8",
                             "--no-ack"], stdout=subprocess.DEVNULL)
    wait_until(lambda: g.get("/health").json()["active_workers"] == 50, 10)
    slow = websocket.WebSocket(sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    slow.connect(f"ws://127.0.0.1:{g.http_port}/ws", timeout=10)
    slow.send(json.dumps({"type": "subscribe", "topic": "telemetry"}))
    held = []

    def metric(name):
        m = re.search(rf"^{name} (\d+)", g.get("/metrics").text, re.M)
        return int(m.group(1))
    for _ in range(8):
        time.sleep(0.5)
        held.append(metric("gantry_websocket_max_client_queued_bytes"))
    msgs, close_code = [], None
    while True:
        try:
            op, data = slow.recv_data(control_frame=True)
        except (websocket.WebSocketConnectionClosedException, ConnectionResetError):
            break
        if op == websocket.ABNF.OPCODE_CLOSE:
            close_code = int.from_bytes(data[:2], "big")
            break
        if op == websocket.ABNF.OPCODE_TEXT:
            msgs.append(json.loads(data))
    load.wait(30)
    lagged = [m for m in msgs if m["type"] == "lagged"]
    assert lagged and lagged[-1]["dropped"] > 0, [m["type"] for m in msgs][-5:]
    assert close_code == 1008
    # what waited for it stayed near ws_queue (ours plus the kernel's), not the flood
    assert max(held) < 64 * 1024, held
    assert metric("gantry_websocket_lagged_closes_total") >= 1
    assert metric("gantry_websocket_dropped_total") > 0
    assert g.get("/health").status_code == 200
