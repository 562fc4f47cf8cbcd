"""Durability under the faults a cluster meets (docs/redis.md, "What each
answer guarantees"): no task that got a 201 is lost and none runs twice,
whatever Redis, gantryd or an agent does meanwhile."""
import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import time

import pytest
import redis as redis_py
import requests

import harness
from harness import DelayProxy, json_lines, pid_alive, submit, task, wait_task, wait_until

FAST = {"agents": {"heartbeat_timeout": "1s", "lost_after": "2s"}}


def marker_task(path):
    """A task that appends its own id to path when it ends."""
    return {"command": f"echo $GANTRY_TASK_ID >> {path}"}


def lines(path):
    return path.read_text().split() if path.exists() else []


def in_redis(r, tid):
    """The task record and its queue entry, read from Redis directly."""
    ms, counter = int(tid[2:13], 16), int(tid[13:], 16)
    entry = f"{ms}-{counter}"
    return (r.hget(f"gantry:task:{tid}", "task_id") == tid and
            len(r.xrange("gantry:tasks", entry, entry)) == 1)


def test_every_201_is_in_redis_and_a_kill_loses_nothing(redis_server, tmp_path, agent_factory):
    """Redis 100 ms away (a proxy delaying 50 ms each way): every 201 is
    checked against Redis at once, then gantryd is killed -9 in the middle
    of the submissions, with the writes still on their way dropped. Twenty
    rounds: every accepted task completes, and no task runs twice."""
    proxy = DelayProxy(redis_server.port, delay=0.05)
    direct = redis_server.client()
    out = tmp_path / "ran.txt"
    (tmp_path / "g").mkdir()
    g = harness.Gantryd(str(tmp_path / "g"), conf=dict(FAST, redis={"url": proxy.url}))
    agent_factory(g, "a1")
    accepted = []
    for round_no in range(20):
        got = []
        wait_until(lambda: g.get("/health").json()["store"]["state"] == "up", 15,
                   what="gantryd to rebuild its state")

        def one(_):
            try:
                r = requests.post(g.url + "/api/tasks", json=marker_task(out), timeout=10)
            except requests.RequestException:
                return None       # killed under it: nothing was promised
            if r.status_code == 201:
                tid = r.json()["task_id"]
                assert in_redis(direct, tid), f"201 for {tid} before redis held it"
                got.append(tid)
                return tid
            assert r.status_code == 503, r.text
            return None
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(one, i) for i in range(24)]
            wait_until(lambda: len(got) >= 6, 20, what=f"round {round_no}: six 201s")
            g.proc.kill()
            for f in futures:
                f.result()
        accepted += got
        g.start()
    wait_until(lambda: all(task(g, t)["status"] == "completed" for t in accepted), 60,
               what="every accepted task to complete")
    ran = lines(out)
    assert len(accepted) >= 120
    assert len(ran) == len(set(ran)), "a task ran twice"
    # A submission whose answer was lost with gantryd may have run too; one
    # that got its 201 must have.
    assert set(accepted) <= set(ran), "an accepted task never ran"
    proxy.close()


def test_redis_back_empty_gets_everything_written_back(redis_server, gantryd_factory,
                                                       agent_factory, tmp_path):
    g = gantryd_factory(conf=FAST)
    out = tmp_path / "ran.txt"
    ids = [submit(g, dict(marker_task(out), gpu_required=1)) for _ in range(10)]
    r = redis_server.client()
    redis_server.restart_empty()
    # gantryd notices the data is gone and writes its memory back.
    wait_until(lambda: all(in_redis(r, t) for t in ids) and
               r.xpending("gantry:tasks", "gantry")["pending"] == 10, 15,
               what="the write-back of every task")
    assert "redis lost gantry's data" in g.proc.text()
    g.proc.kill()
    g.start()
    for t in ids:
        assert task(g, t)["status"] == "queued"
    # Runnable now: a worker with GPUs (the stand-in NVML's two H100s).
    nvml = os.path.join(harness.BUILD, "tests", "fake-nvml", "libnvidia-ml.so.1")
    agent_factory(g, "gpu1", args=["--nvml", nvml])
    for t in ids:
        wait_task(g, t, "completed", 30)
    assert sorted(lines(out)) == sorted(ids)


def test_redis_flushed_under_a_live_connection_is_noticed(redis_server, gantryd_factory):
    g = gantryd_factory()
    ids = [submit(g, {"command": "true", "gpu_required": 1}) for _ in range(3)]
    r = redis_server.client()
    r.flushall()
    wait_until(lambda: all(in_redis(r, t) for t in ids), 10, what="the write-back")
    wait_until(lambda: r.get("gantry:instance") is not None, 5, what="the new mark")


def write_queued_tasks(r, n, gpu, ms):
    """n unfinished task records and their queue entries, as gantryd writes
    them, handed to the group (pending)."""
    ids = []
    try:
        r.xgroup_create("gantry:tasks", "gantry", id="0", mkstream=True)
    except redis_py.ResponseError:
        pass
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        tid = f"t-{ms:011x}{i:05x}"
        ids.append(tid)
        pipe.hset(f"gantry:task:{tid}", mapping={
            "task_id": tid, "command": json.dumps(["true"]), "cpu_required": "1",
            "memory_required": "64", "gpu_required": gpu, "priority": "5",
            "max_attempts": "3", "status": "queued", "attempts": "0"})
        pipe.xadd("gantry:tasks", {"task_id": tid, "priority": "5"}, id=f"{ms}-{i}")
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()
    r.xreadgroup("gantry", "seed", {"gantry:tasks": ">"}, count=n + 1)
    return ids


def test_redis_restarted_during_recovery(redis_server, gantryd_factory, agent_factory):
    r = redis_server.client()
    ms = int(time.time() * 1000) - 10_000_000
    stuck = write_queued_tasks(r, 30000, "1", ms)
    runnable = write_queued_tasks(r, 20, "0", ms + 1)
    assert r.xpending("gantry:tasks", "gantry")["pending"] == 30020
    g = gantryd_factory(wait=False)
    wait_until(lambda: g.get("/health", timeout=1).json()["store"]["state"] == "recovering", 15,
               interval=0.01, what="recovery to start")
    redis_server.stop()
    redis_server.start()        # same files: appendonly, fsync always
    g.wait_healthy()
    wait_until(lambda: g.get("/health").json()["store"]["state"] == "up", 60,
               what="recovery to finish")
    log = g.proc.text()
    assert "recovered from redis: 0 workers, 30020 unfinished tasks" in log, log[-2000:]
    agent_factory(g, "a1")
    for t in runnable:
        wait_task(g, t, "completed", 30)
    assert g.get("/health").json()["queued_tasks"] == len(stuck)


def test_started_while_redis_hangs_promises_nothing(redis_server, gantryd_factory):
    redis_server.proc.signal(signal.SIGSTOP)
    try:
        g = gantryd_factory(conf={"redis": {"reply_timeout": "1s"}})
        r = g.post("/api/tasks", {"command": "true"})
        assert r.status_code == 503 and r.json()["error"]["code"] == "REDIS_UNAVAILABLE"
        assert g.get("/health").json()["redis"] == "down"
    finally:
        redis_server.proc.signal(signal.SIGCONT)
    wait_until(lambda: g.get("/health").json()["redis"] == "up", 15)
    tid = submit(g, {"command": "true", "gpu_required": 1})
    g.proc.kill()
    g.start()
    assert task(g, tid)["status"] == "queued"


def test_hung_redis_is_down_within_the_reply_timeout(redis_server, gantryd_factory):
    g = gantryd_factory(conf={"redis": {"reply_timeout": "1s"}})
    submit(g, {"command": "true", "gpu_required": 1})
    redis_server.proc.signal(signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        r = g.post("/api/tasks", {"command": "true"}, timeout=10)
        waited = time.monotonic() - t0
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "REDIS_UNAVAILABLE"
        assert waited < 5, waited
        wait_until(lambda: g.get("/health").json()["redis"] == "down", 4)
        assert "no reply for" in g.proc.text()
        assert g.post("/api/tasks", {"command": "true"}).status_code == 503
    finally:
        redis_server.proc.signal(signal.SIGCONT)
    wait_until(lambda: g.get("/health").json()["redis"] == "up", 15)
    submit(g, {"command": "true"})


def test_a_stopped_worker_does_not_finish_a_task_twice(gantryd_factory, agent_factory, tmp_path):
    g = gantryd_factory(conf={"agents": {"heartbeat_timeout": "500ms", "lost_after": "1s"}})
    a1 = agent_factory(g, "a1")
    a2 = agent_factory(g, "a2")
    out = tmp_path / "ran.txt"
    tid = submit(g, {"command": f"sleep 6; echo $GANTRY_TASK_ID >> {out}"})
    first = wait_task(g, tid, "running", 10)["worker_id"]
    stopped, other = (a1, "a2") if first == "a1" else (a2, "a1")
    stopped.proc.signal(signal.SIGSTOP)
    try:
        wait_until(lambda: task(g, tid)["worker_id"] == other and
                   task(g, tid)["status"] == "running", 10, what="the task to move")
    finally:
        stopped.proc.signal(signal.SIGCONT)
    wait_until(lambda: f"task {tid}: cancel" in stopped.proc.text(), 10,
               what="the resumed worker to be told to stop its copy")
    t = wait_task(g, tid, timeout=20)
    assert t["status"] == "completed" and t["worker_id"] == other
    assert lines(out) == [tid]


class RawAgent:
    """An agent speaking the protocol by hand, saying what it likes."""

    def __init__(self, g, worker_id, running=()):
        self.s = socket.create_connection(("127.0.0.1", g.agent_port), timeout=5)
        self.f = self.s.makefile("rb")
        self.send({"type": "hello", "version": 1, "worker_id": worker_id,
                   "capacity": {"cpu": 1, "memory_mib": 512, "storage_mib": 512, "gpus": []},
                   "executors": ["process"], "tasks": list(running)})
        self.welcome = self.read()

    def send(self, frame):
        self.s.sendall(json.dumps(frame).encode() + b"\n")

    def read(self):
        line = self.f.readline()
        assert line, "the master closed the connection"
        return json.loads(line)

    def read_type(self, t):
        while True:
            m = self.read()
            if m["type"] == t:
                return m


def test_agents_cannot_touch_tasks_they_do_not_hold(gantryd_factory):
    g = gantryd_factory()
    queued = submit(g, {"command": "true", "gpu_required": 1})
    forged = {"task_id": "t-00000000001000ff", "state": "running",
              "task": {"task_id": "t-00000000001000ff", "command": ["true"],
                       "status": "running", "worker_id": "evil", "attempts": 1}}
    claim = {"task_id": queued, "state": "running", "attempt": 0}
    evil = RawAgent(g, "evil", running=[claim, forged])
    assert evil.welcome["type"] == "welcome"
    assert evil.welcome["adopted"] == []
    assert sorted(evil.welcome["cancel"]) == sorted([queued, forged["task_id"]])
    assert g.get(f"/api/tasks/{forged['task_id']}").status_code == 404
    evil.send({"type": "log", "task_id": queued, "stream": "stdout", "data": "forged\n"})
    assert evil.read_type("error")["code"] == "NOT_YOUR_TASK"
    evil.send({"type": "task_finished", "task_id": queued, "status": "completed",
               "exit_code": 0})
    assert evil.read_type("error")["code"] == "NOT_YOUR_TASK"
    evil.send({"type": "task_started", "task_id": queued})
    assert evil.read_type("error")["code"] == "NOT_YOUR_TASK"
    # The connection stays, and the task is untouched.
    evil.send({"type": "ping", "seq": 7})
    assert evil.read_type("pong")["seq"] == 7
    t = task(g, queued)
    assert t["status"] == "queued" and t["worker_id"] is None
    assert g.get(f"/api/tasks/{queued}/logs").json()["logs"] == []


def test_cancel_kills_children_that_ignore_sigterm(gantryd_factory, agent_factory, tmp_path):
    g = gantryd_factory(conf={"tasks": {"cancel_grace": "1s"}})
    agent_factory(g, "a1")
    pidfile = tmp_path / "child.pid"
    tid = submit(g, {"command": f"(trap '' TERM; exec sleep 300) & echo $! > {pidfile}; wait"})
    wait_task(g, tid, "running", 10)
    wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), 10)
    child = int(pidfile.read_text())
    assert pid_alive(child)
    assert g.delete(f"/api/tasks/{tid}").status_code == 200
    assert wait_task(g, tid, timeout=15)["status"] == "cancelled"
    wait_until(lambda: not pid_alive(child), 5, what="the child that ignores SIGTERM to die")


def test_a_finished_task_leaves_nothing_running(gantryd_factory, agent_factory, tmp_path):
    g = gantryd_factory()
    agent_factory(g, "a1")
    pidfile = tmp_path / "bg.pid"
    tid = submit(g, {"command": f"sleep 300 & echo $! > {pidfile}; exit 0"})
    assert wait_task(g, tid, timeout=15)["status"] == "completed"
    child = int(pidfile.read_text())
    wait_until(lambda: not pid_alive(child), 5, what="the background process to be killed")
