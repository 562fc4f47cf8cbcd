"""Redis Streams: what gantryd writes, what survives crashes of gantryd and
Redis, and the history routes. Real redis-server, gantryd and agents."""
import concurrent.futures
import signal
import threading
import time

import requests

from harness import submit, task, wait_task, wait_until

FAST = {"agents": {"heartbeat_timeout": "2s", "lost_after": "10s"}}


def xrange(redis, key, start="-", end="+", count=None):
    c = redis.client()
    return c.xrange(key, start, end, count=count)


def test_telemetry_tasks_and_events_in_redis(redis_server, gantryd_factory, agent_factory):
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "w1", interval="200ms")
    r = redis_server.client()
    wait_until(lambda: r.xlen("gantry:telemetry:w1") >= 2, 5, what="two heartbeats stored")
    (eid, fields), = r.xrevrange("gantry:telemetry:w1", count=1)
    for f in ("cpu_usage", "memory_usage", "storage_usage", "gpu_usage", "seq"):
        assert f in fields
    float(fields["memory_usage"])
    assert abs(int(eid.split("-")[0]) / 1000 - time.time()) < 5
    tid = submit(g, {"command": "echo persisted", "tag": "t1"})
    wait_task(g, tid)
    h = wait_until(lambda: (h := r.hgetall(f"gantry:task:{tid}")) and h["status"] == "completed" and h,
                   5, what="the task hash")
    assert h["task_id"] == tid and h["tag"] == "t1" and h["worker_id"] == "w1"
    assert h["command"] == '"echo persisted"' and h["exit_code"] == "0"  # JSON, always
    events = [f for _, f in r.xrange("gantry:events")]
    mine = [e["type"] for e in events if e.get("task_id") == tid]
    assert mine == ["task.queued", "task.assigned", "task.running", "task.completed"]
    w1 = [e["type"] for e in events if e.get("worker_id") == "w1" and "task_id" not in e]
    assert w1[:2] == ["worker.joined", "worker.active"]
    logs = r.xrange(f"gantry:task:{tid}:logs")
    assert [f["data"] for _, f in logs] == ["persisted\n"]
    assert r.hget("gantry:workers", "w1")
    wait_until(lambda: r.hget("gantry:worker:w1", "state") == "active", 3)
    groups = r.xinfo_groups("gantry:tasks")
    assert groups[0]["name"] == "gantry" and groups[0]["pending"] == 0
    # the history routes read it back
    m = g.get("/api/workers/w1/metrics?limit=2").json()
    assert m["count"] == 2 and m["metrics"][0]["seq"] == 1
    ev = g.get("/api/events?limit=2").json()
    assert [e["type"] for e in ev["events"]] == ["worker.joined", "worker.active"]
    ev2 = g.get(f"/api/events?since={ev['next']}&limit=1000").json()
    assert ev2["events"][0]["id"] > ev["next"] or len(ev2["events"][0]["id"]) > 0
    assert ev["events"][-1]["id"] not in [e["id"] for e in ev2["events"]]
    logs = g.get(f"/api/tasks/{tid}/logs").json()
    assert [l["data"] for l in logs["logs"]] == ["persisted\n"]


def test_metrics_time_window(redis_server, gantryd_factory, agent_factory):
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "w1", interval="100ms")
    time.sleep(1.2)
    all_m = g.get("/api/workers/w1/metrics").json()["metrics"]
    assert len(all_m) >= 8
    start, end = all_m[2]["timestamp"], all_m[5]["timestamp"]
    win = g.get(f"/api/workers/w1/metrics?start_time={start}&end_time={end}").json()["metrics"]
    assert [m["id"] for m in win] == [m["id"] for m in all_m[2:6]]
    bad = g.get("/api/workers/w1/metrics?start_time=yesterday")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "INVALID_TIME_RANGE"
    bad = g.get(f"/api/workers/w1/metrics?start_time={end}&end_time={start}")
    assert bad.status_code == 400
    assert g.get("/api/workers/nobody/metrics").status_code == 404


def test_retention_by_age_trims_old_entries(redis_server, gantryd_factory, agent_factory):
    g = gantryd_factory(conf={**FAST, "redis": {"telemetry_retention": "1s"}})
    agent_factory(g, "w1", interval="100ms")
    r = redis_server.client()
    time.sleep(3)
    first, _ = r.xrange("gantry:telemetry:w1", count=1)[0]
    last, _ = r.xrevrange("gantry:telemetry:w1", count=1)[0]
    span = int(last.split("-")[0]) - int(first.split("-")[0])
    assert span <= 1100, span
    assert r.xlen("gantry:telemetry:w1") <= 13


def test_retention_by_length(redis_server, gantryd_factory, agent_factory):
    g = gantryd_factory(conf={**FAST, "redis": {"telemetry_retention": "5 entries"}})
    agent_factory(g, "w1", interval="100ms")
    time.sleep(1.5)
    assert redis_server.client().xlen("gantry:telemetry:w1") == 5


def test_evicted_task_is_read_from_redis(redis_server, gantryd_factory, agent_factory):
    g = gantryd_factory(conf={**FAST, "tasks": {"keep_finished": "1"}})
    agent_factory(g, "w1")
    first = submit(g, {"command": "echo one"})
    wait_task(g, first)
    second = submit(g, {"command": "true"})
    wait_task(g, second)
    t = g.get(f"/api/tasks/{first}").json()
    assert t["status"] == "completed" and t["task_id"] == first
    assert [l["data"] for l in g.get(f"/api/tasks/{first}/logs").json()["logs"]] == ["one\n"]
    assert g.get("/api/tasks/t-doesnotexist00").status_code == 404


def test_gantryd_restart_recovers_queue_and_workers(redis_server, gantryd_factory, agent_factory):
    g = gantryd_factory(conf=FAST)
    ids = [submit(g, {"command": ["true"], "priority": p}) for p in (3, 9)]
    g.stop(signal.SIGKILL)
    g.start()
    for tid in ids:
        assert task(g, tid)["status"] == "queued"
    agent_factory(g, "w1")
    for tid in ids:
        assert wait_task(g, tid)["status"] == "completed"
    g.stop(signal.SIGKILL)
    g.start()
    assert g.get("/workers").json()["w1"]["state"] in ("offline", "active")


def test_kill_9_mid_submissions_loses_nothing_and_runs_once(tmp_path, redis_server,
                                                             gantryd_factory, agent_factory):
    g = gantryd_factory(conf={"agents": {"heartbeat_timeout": "2s", "lost_after": "20s"}})
    agent_factory(g, "w1")
    agent_factory(g, "w2")
    out = tmp_path / "markers.txt"
    accepted = []
    stop = threading.Event()

    def submitter():
        # A submission whose answer is lost is not retried: it may have been
        # accepted, and a second one would run the same marker twice.
        for i in range(300):
            body = {"command": ["sh", "-c", f"echo m{i} >> {out}"], "cpu_required": 0.1,
                    "memory_required": 16}
            try:
                r = requests.post(g.url + "/api/tasks", json=body, timeout=5)
                if r.status_code == 201:
                    accepted.append(f"m{i}")
            except requests.RequestException:
                time.sleep(0.05)
        stop.set()

    th = threading.Thread(target=submitter)
    th.start()
    wait_until(lambda: len(accepted) >= 100, 30, what="100 submissions")
    g.proc.kill()
    time.sleep(0.5)
    g.start()
    th.join(120)
    assert stop.is_set()
    assert len(accepted) >= 200

    def all_done():
        lines = out.read_text().split() if out.exists() else []
        return set(accepted) <= set(lines) and lines
    lines = wait_until(all_done, 60, what="every accepted task to run")
    dup = {m for m in lines if lines.count(m) > 1}
    assert not dup, f"ran twice: {sorted(dup)[:10]}"


def test_redis_outage_keeps_serving_and_loses_no_task(redis_server, gantryd_factory, agent_factory):
    """While Redis is away gantryd keeps answering, refuses changes (503:
    nothing is promised from memory) and buffers telemetry; every task
    accepted before or after runs, and Redis ends up with all of them."""
    # The outage is longer than the default lease: a leader that cannot renew
    # it steps down (test_ha.py); here it outlasts the outage.
    g = gantryd_factory(conf={"agents": {"heartbeat_timeout": "2s", "lost_after": "30s"},
                              "redis": {"backlog": "64KiB", "connect_timeout": "500ms"},
                              "ha": {"lease": "60s"}})
    agent_factory(g, "w1", interval="50ms")
    r = redis_server.client()
    wait_until(lambda: r.xlen("gantry:telemetry:w1") > 3, 5)
    health_codes = []
    accepted = []
    refused = []
    stop = threading.Event()

    def load():
        while not stop.is_set():
            try:
                health_codes.append(requests.get(g.url + "/health", timeout=2).status_code)
                resp = requests.post(g.url + "/api/tasks", json={"command": ["true"],
                                     "cpu_required": 0.1, "memory_required": 16}, timeout=10)
                if resp.status_code == 201:
                    accepted.append(resp.json()["task_id"])
                else:
                    assert resp.status_code == 503, resp.text
                    refused.append(resp.json()["error"]["code"])
            except requests.RequestException as e:
                health_codes.append(repr(e))
            stop.wait(0.05)

    th = threading.Thread(target=load)
    th.start()
    wait_until(lambda: len(accepted) >= 10, 10, what="submissions accepted before the outage")
    redis_server.stop()
    wait_until(lambda: g.get("/health").json()["redis"] == "down", 5, what="redis down in /health")
    during = len(accepted)
    wait_until(lambda: g.get("/health").json()["store"]["telemetry_dropped"] > 0, 20,
               what="telemetry dropped past the backlog bound")
    h = g.get("/health").json()
    assert h["store"]["backlog_bytes"] > 0
    wait_until(lambda: len(refused) >= 5, 5, what="submissions refused while redis is down")
    assert len(accepted) == during, "a 201 while redis was down"
    assert set(refused) == {"REDIS_UNAVAILABLE"}
    redis_server.start()
    wait_until(lambda: g.get("/health").json()["redis"] == "up", 15, what="redis back")
    wait_until(lambda: len(accepted) >= during + 10, 10, what="submissions accepted again")
    stop.set()
    th.join()
    assert health_codes and all(c == 200 for c in health_codes), health_codes[:5]
    r = redis_server.client()
    for tid in accepted:
        wait_task(g, tid, timeout=30)
    wait_until(lambda: all(r.hget(f"gantry:task:{t}", "status") == "completed" for t in accepted),
               15, what="every accepted task completed in redis")
    wait_until(lambda: g.get("/health").json()["store"]["backlog_bytes"] == 0, 10)
    before = r.xlen("gantry:telemetry:w1")
    wait_until(lambda: r.xlen("gantry:telemetry:w1") > before, 5, what="telemetry flowing again")


def test_full_task_backlog_refuses_submissions_with_503(redis_server, gantryd_factory):
    """Redis connected but not answering (CLIENT PAUSE) while submissions
    keep coming: once unanswered task writes fill three quarters of
    redis.backlog, submissions get 503 at once; the others get their 201
    when Redis answers, and Redis holds exactly those."""
    g = gantryd_factory(conf={"redis": {"backlog": "64KiB", "reply_timeout": "20s"}})
    big = {"command": ["echo", "x" * 2000]}
    assert redis_server.cli("CLIENT", "PAUSE", "3000", "ALL") == "OK"
    with concurrent.futures.ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(lambda _: g.post("/api/tasks", big, timeout=30), range(40)))
    full = [r for r in answers if r.status_code == 503]
    accepted = [r.json()["task_id"] for r in answers if r.status_code == 201]
    assert full and accepted and len(full) + len(accepted) == 40
    assert {r.json()["error"]["code"] for r in full} == {"REDIS_BACKLOG_FULL"}
    r = redis_server.client()
    wait_until(lambda: g.get("/health").json()["store"]["backlog_bytes"] == 0, 15)
    assert r.xlen("gantry:tasks") == len(accepted)
    assert g.post("/api/tasks", big).status_code == 201


def test_starts_without_redis_and_merges_when_it_comes(tmp_path, redis_server, gantryd_factory,
                                                       agent_factory):
    """Started while Redis is away, gantryd promises nothing: submissions
    get 503 and agents wait, until Redis answers and the state is rebuilt;
    then the task from before the restart runs."""
    g = gantryd_factory(conf=FAST)
    old = submit(g, {"command": ["true"], "gpu_required": 1})
    g.stop()
    redis_server.stop()
    g.sections["redis"]["connect_timeout"] = "300ms"
    g.write_conf()
    g.start()
    assert g.get("/health").json()["redis"] == "down"
    a = agent_factory(g, "w1", wait=False)
    r = g.post("/api/tasks", {"command": ["true"]})
    assert r.status_code == 503 and r.json()["error"]["code"] == "REDIS_UNAVAILABLE"
    assert g.get("/api/tasks").json()["tasks"] == []
    assert a.state() is None
    redis_server.start()
    a.wait_state("active")
    assert task(g, old)["status"] == "queued"
    new = submit(g, {"command": ["true"]})
    assert wait_task(g, new)["status"] == "completed"


