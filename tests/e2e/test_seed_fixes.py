"""What a new user following the docs ran into: logs of an unknown task,
the status of a task from before a restart, replayed events and GPU
messages shaped unlike live ones, an unsubscribe nobody answered, and the
Prometheus figures (finished tasks, requests by route)."""
import json
import re

import pytest
import requests
import websocket

from harness import promtool_problems, submit, wait_task, wait_until

FAST = {"agents": {"heartbeat_timeout": "5s", "lost_after": "30s"}}


def ws(g, path):
    return websocket.create_connection(f"ws://127.0.0.1:{g.http_port}{path}", timeout=10)


def recv(c):
    return json.loads(c.recv())


def test_logs_of_an_unknown_task_are_404(gantryd):
    r = gantryd.get("/api/tasks/t-0000000000000000/logs")
    assert r.status_code == 404 and r.json()["error"]["code"] == "TASK_NOT_FOUND"
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        ws(gantryd, "/ws/tasks/t-0000000000000000/logs")
    assert e.value.status_code == 404


def test_a_task_from_before_a_restart_keeps_its_status_in_logs_and_lists(gantryd_factory,
                                                                         agent_factory):
    g = gantryd_factory(conf={**FAST, "tasks": {"history": "0"}})
    agent_factory(g, "a1")
    tid = submit(g, {"command": ["echo", "before"]})
    wait_task(g, tid)
    g.stop()
    g.start()                                      # recovers no finished task
    g2 = g
    assert g2.get(f"/api/tasks/{tid}").json()["status"] == "completed"
    logs = g2.get(f"/api/tasks/{tid}/logs").json()
    assert logs["status"] == "completed" and logs["logs"][0]["data"] == "before\n"
    newest = g2.get(f"/api/tasks/{tid}/logs", params={"order": "desc", "limit": 1}).json()
    assert newest["logs"] == logs["logs"][-1:]
    c = ws(g2, f"/ws/tasks/{tid}/logs")
    msgs = [recv(c), recv(c)]
    assert msgs[0]["type"] == "log" and msgs[0]["data"] == "before\n"
    assert msgs[1]["type"] == "end" and msgs[1]["status"] == "completed" and msgs[1]["exit_code"] == 0
    g.stop()
    del g.sections["tasks"]["history"]             # the default history: listed again
    g.write_conf()
    g.start()
    listed = g.get("/api/tasks").json()
    assert tid in [t["task_id"] for t in listed["tasks"]] and listed["total"] >= 1


def test_replayed_events_are_shaped_like_live_ones(gantryd_factory, agent_factory):
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "a1")
    live = ws(g, "/ws/events")
    tid = submit(g, {"command": "exit 3"})
    wait_task(g, tid)

    def finished(c):
        while True:
            m = recv(c)
            if m["type"] == "event" and m["event"]["type"] == "task.failed" and \
                    m["event"].get("task_id") == tid:
                return m
    want = finished(live)
    assert want["event"]["exit_code"] == 3 and want["event"]["attempts"] == 1
    assert finished(ws(g, "/ws/events?from=earliest")) == want
    sub = ws(g, "/ws")
    sub.send(json.dumps({"type": "subscribe", "topic": "events", "from": "earliest"}))
    assert recv(sub)["type"] == "subscribed"
    assert finished(sub) == want
    listed = [e for e in g.get("/api/events", params={"limit": 1000}).json()["events"]
              if e["type"] == "task.failed"]
    assert listed[0] == {**want["event"], "id": want["id"]}


def test_replayed_gpu_messages_are_shaped_like_live_ones(gantryd_factory):
    import socket
    g = gantryd_factory(conf=FAST)
    s = socket.create_connection(("127.0.0.1", g.agent_port))
    f = s.makefile("rwb")
    f.write((json.dumps({"type": "hello", "version": 1, "worker_id": "h1", "capacity": {
        "cpu": 8, "memory_mib": 8192, "gpus": [{"index": 0, "uuid": "GPU-a", "model": "X"}]}}) + "\n").encode())
    f.flush()
    f.readline()
    c = ws(g, "/ws")
    c.send(json.dumps({"type": "subscribe", "topic": "gpus", "filters": {"gpu_uuid": "GPU-a"}}))
    assert recv(c)["type"] == "subscribed"
    f.write((json.dumps({"type": "heartbeat", "gpus": [
        {"index": 0, "utilization": 42, "temperature_c": 50, "timestamp": 1752871354.5}]}) + "\n").encode())
    f.flush()
    live = recv(c)
    assert live["id"] == "1752871354500-0" and live["hostname"] == "h1" and live["gpu_id"] == 0
    h = ws(g, "/ws")
    h.send(json.dumps({"type": "subscribe", "topic": "gpus", "filters": {"gpu_uuid": "GPU-a"},
                       "from": "earliest"}))
    assert recv(h)["type"] == "subscribed"
    assert recv(h) == live
    s.close()


def test_unsubscribe_is_answered(gantryd):
    c = ws(gantryd, "/ws")
    c.send(json.dumps({"type": "subscribe", "topic": "events"}))
    sub = recv(c)
    c.send(json.dumps({"type": "unsubscribe", "id": sub["id"]}))
    assert recv(c) == {"type": "unsubscribed", "id": sub["id"]}
    c.send(json.dumps({"type": "unsubscribe", "id": sub["id"]}))
    err = recv(c)
    assert err["type"] == "error" and err["code"] == "UNKNOWN_SUBSCRIPTION"


def test_finished_tasks_and_requests_by_route_in_metrics(gantryd_factory, agent_factory):
    g = gantryd_factory(conf={**FAST, "tasks": {"keep_finished": "1"}})
    agent_factory(g, "a1")
    for cmd in ("true", "true", "exit 1"):
        wait_task(g, submit(g, {"command": cmd}))
    for _ in range(3):
        g.get("/api/v1/gpus")
    g.get("/api/tasks/x/logs")
    text = g.get("/metrics").text
    assert promtool_problems(text) == []

    def value(pattern):
        m = re.search("^" + re.escape(pattern) + r" (\S+)$", text, re.M)
        return float(m.group(1)) if m else None
    assert value('gantry_tasks_finished_total{status="completed"}') == 2
    assert value('gantry_tasks_finished_total{status="failed"}') == 1
    # gantry_tasks is what is in memory now: keep_finished = 1 leaves one
    assert sum(value(f'gantry_tasks{{status="{s}"}}') for s in ("completed", "failed", "cancelled")) == 1
    assert value('gantry_http_request_duration_seconds_count{method="GET",route="/api/v1/gpus"}') == 3
    assert value('gantry_http_request_duration_seconds_bucket{method="GET",route="/api/v1/gpus",le="+Inf"}') == 3
    assert value('gantry_http_request_duration_seconds_count{method="GET",route="/api/tasks/{id}/logs"}') == 1
    assert value('gantry_http_request_duration_seconds_count{method="POST",route="/api/tasks"}') == 3
