"""High availability (SPEC 1, docs/ha.md) with real processes: several
gantryd on one Redis, one leading by lease; agents and gantry-replay with
--master lists; the leader killed -9, paused past its lease, fenced, or
stopped; Redis failed over by three real redis-sentinel processes with
redis.min_replicas_ack = 1. Tasks append their id to files and the lines
are counted: no accepted task is lost, none runs twice."""
import os
import signal
import socket
import json
import subprocess
import threading
import time

import pytest
import requests

import harness
from harness import BUILD, Proc, free_port, task, wait_until

LEASE = 2.0
GROUP = {"ha": {"lease": "2s"},
         "agents": {"heartbeat_timeout": "1s", "lost_after": "30s"}}


def merged(*confs):
    out = {}
    for c in confs:
        for section, keys in (c or {}).items():
            out.setdefault(section, {}).update(keys)
    return out


def group(tmp_path, redis, n, conf=None, start=True):
    """n gantryd on one Redis, started without waiting (all but one stand
    by, so none of them is 'up' on its own)."""
    gs = []
    for i in range(n):
        wd = tmp_path / f"g{i}"
        wd.mkdir(exist_ok=True)
        gs.append(harness.Gantryd(str(wd), redis=redis, conf=merged(GROUP, conf), wait=False))
    return gs


def health(g):
    try:
        r = requests.get(g.url + "/health", timeout=1)
        return r.json() if r.status_code == 200 else None
    except requests.RequestException:
        return None


def leader(gs, timeout=15.0):
    """The one gantryd of gs that leads with its state rebuilt; fails if
    two ever claim to lead at once."""
    def one():
        hs = [(g, health(g)) for g in gs if g.proc.alive()]
        leading = [g for g, h in hs if h and h["role"] == "leader"]
        assert len(leading) <= 1, "two gantryd lead at once"
        up = [g for g, h in hs if h and h["role"] == "leader" and h["store"]["state"] == "up"]
        return up[0] if up else None
    return wait_until(one, timeout, interval=0.02, what="a leader")


def masters(gs):
    return ",".join(g.agent_addr for g in gs)


def agent(tmp_path, gs, wid, **kw):
    return harness.Agent(str(tmp_path), gs[0], wid, args=["--master", masters(gs)], wait=False,
                         **kw)


def active(g, *wids):
    w = g.get("/workers", timeout=2).json()
    return all(w.get(i, {}).get("state") == "active" for i in wids)


def marker(starts, done, secs):
    """A task that notes when it starts and when it ends, by id."""
    return {"command": f"echo $GANTRY_TASK_ID >> {starts}; sleep {secs}; "
                       f"echo $GANTRY_TASK_ID >> {done}",
            "cpu_required": 0.1, "memory_required": 16}


def lines(path):
    return path.read_text().split() if path.exists() else []


def submit_via(g, body):
    """Posts to g (a standby's 307 is followed); the task id of a 201."""
    r = requests.post(g.url + "/api/tasks", json=body, timeout=10)
    assert r.status_code == 201, (r.status_code, r.text)
    return r.json()["task_id"]


class Submitter(threading.Thread):
    """Submits a task every 50 ms to each gantryd in turn until stopped;
    keeps the ids that got a 201 (an answer lost with a killed gantryd is
    not retried: that submission may have been accepted)."""

    def __init__(self, gs, body):
        super().__init__(daemon=True)
        self.gs, self.body = gs, body
        self.accepted, self.refused = [], []
        self.halt = threading.Event()

    def run(self):
        i = 0
        while not self.halt.is_set():
            g = self.gs[i % len(self.gs)]
            i += 1
            try:
                r = requests.post(g.url + "/api/tasks", json=self.body, timeout=5)
                if r.status_code == 201:
                    self.accepted.append(r.json()["task_id"])
                else:
                    self.refused.append(r.status_code)
            except requests.RequestException:
                self.refused.append("unreachable")
            self.halt.wait(0.05)

    def stop(self):
        self.halt.set()
        self.join(15)


def test_a_killed_leader_is_replaced_and_nothing_accepted_is_lost(redis_server, tmp_path):
    gs = group(tmp_path, redis_server, 3)
    g0 = leader(gs)
    standbys = [g for g in gs if g is not g0]
    agents = [agent(tmp_path, gs, w) for w in ("w1", "w2")]
    wait_until(lambda: active(g0, "w1", "w2"), 15, what="both agents on the leader")
    starts, done = tmp_path / "starts", tmp_path / "done"
    running = [submit_via(standbys[0], marker(starts, done, 4)) for _ in range(4)]
    wait_until(lambda: all(task(g0, t)["status"] == "running" for t in running), 15,
               what="the long tasks to run")
    load = Submitter(standbys, marker(starts, done, 0.2))
    load.start()
    wait_until(lambda: len(load.accepted) >= 5, 15, what="submissions through the standbys")
    t0 = time.monotonic()
    g0.proc.kill()
    new = leader(standbys, LEASE + 5)
    took = time.monotonic() - t0
    wait_until(lambda: active(new, "w1", "w2"), 10, interval=0.02, what="both agents back")
    back = time.monotonic() - t0 - took
    assert took <= LEASE + 1, f"a standby led {took:.2f}s after the kill"
    assert back <= 2, f"the agents were back {back:.2f}s after the new leader"
    n = len(load.accepted)
    wait_until(lambda: len(load.accepted) >= n + 5, 15, what="submissions to the new leader")
    load.stop()
    accepted = running + load.accepted
    wait_until(lambda: set(accepted) <= set(lines(done)), 60, what="every accepted task to end")
    ran, began = lines(done), lines(starts)
    assert len(ran) == len(set(ran)), "a task completed twice"
    assert len(began) == len(set(began)), "a task was started twice"
    for t in running:             # re-adopted in the assignment they had
        rec = task(new, t)
        assert rec["status"] == "completed" and rec["attempts"] == 1, rec
    assert all(task(new, t)["status"] == "completed" for t in accepted)
    for a in agents:
        assert "re-adopted" in a.proc.text()


def telemetry_seqs(r, wid):
    return [int(f["seq"]) for _, f in r.xrange(f"gantry:telemetry:{wid}")]


def test_a_paused_leader_steps_down_when_it_wakes(redis_server, tmp_path):
    gs = group(tmp_path, redis_server, 2)
    g0 = leader(gs)
    g1 = gs[1] if gs[0] is g0 else gs[0]
    agent(tmp_path, gs, "w1")
    wait_until(lambda: active(g0, "w1"), 15, what="the agent on the leader")
    starts, done = tmp_path / "starts", tmp_path / "done"
    tid = submit_via(g0, marker(starts, done, 5))
    wait_until(lambda: task(g0, tid)["status"] == "running", 10)
    r = redis_server.client()
    before = telemetry_seqs(r, "w1")[-1]
    g0.proc.signal(signal.SIGSTOP)
    try:
        new = leader([g1], LEASE + 5)
        assert new is g1
        # g1 rebuilt from Redis: the task runs on w1, whose agent is still
        # talking to the paused gantryd.
        assert task(g1, tid)["status"] == "running"
        assert health(g1)["leader"]["epoch"] == 2
    finally:
        g0.proc.signal(signal.SIGCONT)
    wait_until(lambda: (h := health(g0)) and h["role"] == "standby", 5, what="g0 to step down")
    assert "stepping down (epoch 1)" in g0.proc.text()
    wait_until(lambda: active(g1, "w1"), 10, what="the agent on the new leader")
    assert wait_until(lambda: (t := task(g1, tid))["status"] == "completed" and t, 20)["attempts"] == 1
    assert lines(starts) == [tid] and lines(done) == [tid]
    # What the agent sent the paused leader never reached Redis: the
    # heartbeats of the pause are missing, not written late.
    seqs = telemetry_seqs(r, "w1")
    after = [s for s in seqs if s > before]
    assert after and after[0] > before + 3, (before, after[:5])
    # And g0 now sends clients to g1.
    resp = requests.get(g0.url + "/api/workers", allow_redirects=False, timeout=5)
    assert resp.status_code == 307 and resp.headers["Location"] == g1.url + "/api/workers"


def test_two_started_at_the_same_moment_one_leads(redis_server, tmp_path):
    r = redis_server.client()
    for round_no in range(3):
        r.flushall()
        (tmp_path / f"r{round_no}").mkdir()
        gs = group(tmp_path / f"r{round_no}", redis_server, 3)
        g = leader(gs)
        me = health(g)["leader"]["id"]
        wait_until(lambda: all((h := health(x)) and h["leader"] and h["leader"]["id"] == me
                               for x in gs), 5, what="every one to know the leader")
        # Over a full lease every other one stands by under the same leader,
        # and the epoch was counted once: nobody else ever took the lease.
        deadline = time.monotonic() + LEASE
        while time.monotonic() < deadline:
            roles = [health(x) for x in gs]
            assert [h["role"] for h in roles].count("leader") == 1
            assert {h["leader"]["id"] for h in roles} == {me}
            time.sleep(0.1)
        assert r.get("gantry:epoch") == "1"
        for x in gs:
            x.proc.kill()


def test_a_standby_answers_health_metrics_and_sends_the_rest_to_the_leader(redis_server,
                                                                          tmp_path):
    gs = group(tmp_path, redis_server, 2)
    lead = leader(gs)
    sb = gs[1] if gs[0] is lead else gs[0]
    wait_until(lambda: health(sb)["leader"] is not None, 5, what="the standby to know the leader")
    h = health(sb)
    assert h["role"] == "standby" and h["store"]["state"] == "standby" and h["redis"] == "up"
    assert h["leader"]["http"] == lead.url and h["leader"]["listen"] == lead.agent_addr
    assert h["leader"] == health(lead)["leader"] and health(lead)["role"] == "leader"
    m = requests.get(sb.url + "/metrics", timeout=5)
    assert m.status_code == 200
    epoch = h["leader"]["epoch"]
    assert "gantry_leader 0\n" in m.text and f"gantry_leader_epoch {epoch}\n" in m.text
    m = requests.get(lead.url + "/metrics", timeout=5).text
    assert "gantry_leader 1\n" in m and f"gantry_leader_epoch {epoch}\n" in m
    r = requests.get(sb.url + "/api/tasks?status=queued&limit=5", allow_redirects=False, timeout=5)
    assert r.status_code == 307
    assert r.headers["Location"] == lead.url + "/api/tasks?status=queued&limit=5"
    assert r.json()["error"]["code"] == "NOT_LEADER"
    # A submission follows the redirect with its body; gantryctl too.
    tid = submit_via(sb, {"command": ["true"], "gpu_required": 1})
    assert task(lead, tid)["status"] == "queued"
    ctl = subprocess.run([os.path.join(BUILD, "gantryctl"), "--server", sb.url, "--json", "task",
                          tid], capture_output=True, text=True, timeout=10)
    assert ctl.returncode == 0 and json.loads(ctl.stdout)["task_id"] == tid, ctl.stderr
    # An agent's hello gets not_leader with the leader's agent address.
    with socket.create_connection(("127.0.0.1", sb.agent_port), timeout=5) as s:
        s.sendall(json.dumps({"type": "hello", "version": 1, "worker_id": "raw",
                              "capacity": {"cpu": 1, "memory_mib": 64}}).encode() + b"\n")
        answer = json.loads(s.makefile("rb").readline())
    assert answer["type"] == "error" and answer["code"] == "not_leader"
    assert answer["leader"] == lead.agent_addr


def test_a_stale_epoch_is_refused_inside_redis(redis_server, tmp_path):
    """Another leader's epoch appears (INCR by hand, as a takeover does):
    the next task-state write is refused by the fence script, the leader
    steps down at once, its submission gets no 201 and nothing of it is in
    Redis; then, the lease being its own still, it takes it again."""
    g = group(tmp_path, redis_server, 1)[0]
    leader([g])
    r = redis_server.client()
    assert r.get("gantry:epoch") == "1"
    r.incr("gantry:epoch")
    resp = requests.post(g.url + "/api/tasks", json={"command": ["true"]}, timeout=10)
    assert resp.status_code == 503, resp.text
    tid = resp.json()["error"]["task_id"]
    assert "redis refused a write: FENCED" in g.proc.text()
    assert not r.exists(f"gantry:task:{tid}")
    leader([g], LEASE + 5)
    deadline = time.monotonic() + 1.5 * LEASE   # renewals keep it: no flapping
    while time.monotonic() < deadline:
        h = health(g)
        assert h["role"] == "leader" and h["leader"]["epoch"] == 3, h
        time.sleep(0.1)
    tid2 = submit_via(g, {"command": ["true"], "gpu_required": 1})
    assert r.hget(f"gantry:task:{tid2}", "status") == "queued"
    wait_until(lambda: g.get(f"/api/tasks/{tid}").status_code == 404, 5)


def test_a_stopping_leader_hands_over_at_once(redis_server, tmp_path):
    gs = group(tmp_path, redis_server, 2, conf={"ha": {"lease": "10s"}})
    g0 = leader(gs)
    g1 = gs[1] if gs[0] is g0 else gs[0]
    agent(tmp_path, gs, "w1")
    wait_until(lambda: active(g0, "w1"), 15)
    t0 = time.monotonic()
    assert g0.stop() == 0
    leader([g1], 5)
    assert time.monotonic() - t0 < 5, "the standby waited for the lease to lapse"
    assert "lease released" in g0.proc.text()
    wait_until(lambda: active(g1, "w1"), 10, what="the agent on the new leader")


def test_redis_back_empty_keeps_the_leader_which_writes_its_memory_back(redis_server, tmp_path):
    """The lease vanishes with the data: the standby must not take it from
    the living leader, which alone holds the tasks now."""
    gs = group(tmp_path, redis_server, 2)
    g0 = leader(gs)
    g1 = gs[1] if gs[0] is g0 else gs[0]
    wait_until(lambda: health(g1)["leader"] is not None, 5)
    ids = [submit_via(g0, {"command": ["true"], "gpu_required": 1}) for _ in range(5)]
    redis_server.restart_empty()
    r = redis_server.client()
    wait_until(lambda: all(r.hget(f"gantry:task:{t}", "status") == "queued" for t in ids), 15,
               what="the write-back")
    assert "redis lost gantry's data" in g0.proc.text()
    deadline = time.monotonic() + 2 * LEASE
    while time.monotonic() < deadline:
        assert health(g0)["role"] == "leader" and health(g1)["role"] == "standby"
        time.sleep(0.1)
    assert r.xpending("gantry:tasks", "gantry")["pending"] == 5


def test_redis_away_past_the_lease_makes_the_leader_step_down_and_lead_again(redis_server,
                                                                            tmp_path):
    g = group(tmp_path, redis_server, 1, conf={"redis": {"connect_timeout": "300ms"}})[0]
    leader([g])
    agent(tmp_path, [g], "w1")
    wait_until(lambda: active(g, "w1"), 15)
    tid = submit_via(g, {"command": ["true"], "gpu_required": 1})
    redis_server.stop()
    wait_until(lambda: health(g)["role"] == "standby", LEASE + 5, what="the step-down")
    r = g.post("/api/tasks", {"command": ["true"]})
    assert r.status_code == 503 and r.json()["error"]["code"] == "REDIS_UNAVAILABLE"
    redis_server.start()
    leader([g], 15)
    assert task(g, tid)["status"] == "queued"
    wait_until(lambda: active(g, "w1"), 10, what="the agent back")
    assert g.get("/workers").json().keys() == {"w1"}


def test_min_replicas_ack_waits_for_a_replica(redis_server, tmp_path):
    """Without a replica a submission is refused (503 REDIS_NOT_REPLICATED,
    the loop still serving), a cancel too; with one, both are answered."""
    conf = {"redis": {"min_replicas_ack": "1", "replica_timeout": "300ms"}}
    g = group(tmp_path, redis_server, 1, conf=conf)[0]
    leader([g])
    t0 = time.monotonic()
    r = g.post("/api/tasks", {"command": ["true"], "gpu_required": 1})
    assert r.status_code == 503 and r.json()["error"]["code"] == "REDIS_NOT_REPLICATED", r.text
    assert time.monotonic() - t0 < 3
    assert health(g)["store"]["state"] == "up"
    replica = attach_replica(redis_server, tmp_path)
    tid = submit_via(g, {"command": ["true"], "gpu_required": 1})
    assert replica.client().hget(f"gantry:task:{tid}", "status") == "queued"
    assert g.delete(f"/api/tasks/{tid}").status_code == 200
    replica.stop()


class RedisNode:
    """A redis-server or redis-sentinel of the test's own, on a free port."""

    def __init__(self, tmp_path, name, args=(), sentinel_of=None):
        self.port = free_port()
        self.dir = tmp_path / name
        self.dir.mkdir(exist_ok=True)
        if sentinel_of:
            conf = self.dir / "sentinel.conf"
            conf.write_text(f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\n"
                            f"sentinel monitor gm 127.0.0.1 {sentinel_of} 2\n"
                            "sentinel down-after-milliseconds gm 1000\n"
                            "sentinel failover-timeout gm 4000\n")
            argv = ["redis-sentinel", str(conf)]
        else:
            argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
                    str(self.dir), "--save", "", "--appendonly", "no", "--protected-mode", "no"] \
                + list(args)
        self.proc = Proc(name, argv, str(self.dir))
        wait_until(lambda: self.cli("PING") == "PONG", 10, what=name)

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port)] + [str(a) for a in args],
                              capture_output=True, text=True, timeout=10).stdout.strip()

    def client(self):
        import redis
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True)

    def stop(self):
        self.proc.kill()


def attach_replica(master, tmp_path):
    """A replica of master, once the master counts it online."""
    master.cli("CONFIG", "SET", "repl-diskless-sync-delay", "0")
    replica = RedisNode(tmp_path, "replica", ["--replicaof", "127.0.0.1", str(master.port)])
    wait_until(lambda: "state=online" in master.cli("INFO", "replication"), 10,
               what="the replica online")
    return replica


def test_redis_master_killed_under_sentinel_loses_no_accepted_task(redis_server, tmp_path):
    replica = attach_replica(redis_server, tmp_path)
    sentinels = [RedisNode(tmp_path, f"sentinel{i}", sentinel_of=redis_server.port)
                 for i in range(3)]

    def ready():
        s = sentinels[0]
        return ("127.0.0.1" in s.cli("SENTINEL", "replicas", "gm") and
                all(len(x.cli("SENTINEL", "sentinels", "gm").splitlines()) >= 2 for x in sentinels))
    wait_until(ready, 20, interval=0.2, what="the sentinels to know the replica and each other")
    url = "sentinel://" + ",".join(f"127.0.0.1:{s.port}" for s in sentinels) + "/gm"
    conf = {"redis": {"url": url, "min_replicas_ack": "1", "connect_timeout": "500ms"},
            "ha": {"lease": "5s"}}
    g = group(tmp_path, redis_server, 1, conf=conf)[0]
    leader([g])
    agent(tmp_path, [g], "w1")
    wait_until(lambda: active(g, "w1"), 15)
    starts, done = tmp_path / "starts", tmp_path / "done"
    accepted = [submit_via(g, marker(starts, done, 2)) for _ in range(8)]
    redis_server.proc.kill()      # kill -9 the master
    wait_until(lambda: f"connected to 127.0.0.1:{replica.port}" in g.proc.text(), 20,
               interval=0.1, what="gantryd on the promoted replica")
    assert replica.cli("ROLE").splitlines()[0] == "master"
    leader([g], 15)
    r = replica.client()
    for t in accepted:
        assert r.hget(f"gantry:task:{t}", "task_id") == t
    # The promoted master has no replica left: nothing can be confirmed, so
    # a submission is refused and an assignment waits.
    refused = g.post("/api/tasks", marker(starts, done, 0))
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "REDIS_NOT_REPLICATED"
    # The old master returns; the sentinels make it a replica of the new one.
    replica.cli("CONFIG", "SET", "repl-diskless-sync-delay", "0")
    redis_server.start()
    wait_until(lambda: "state=online" in replica.cli("INFO", "replication"), 20,
               interval=0.2, what="the old master to serve as a replica")
    after = submit_via(g, marker(starts, done, 0))
    wait_until(lambda: set(accepted + [after]) <= set(lines(done)), 30,
               what="every accepted task to complete")
    # The unconfirmed one was kept by the master, so it may run: once.
    assert len(lines(done)) == len(set(lines(done)))
    assert set(lines(done)) - set(accepted) - {after} <= {refused.json()["error"]["task_id"]}
    for s in sentinels:
        s.stop()
    replica.stop()


CSV_HEADER = ("timestamp,metric_name,gpu_id,device,uuid,modelName,Hostname,container,pod,"
              "namespace,value,labels_raw\n")


def test_gantry_replay_follows_the_leader(redis_server, tmp_path):
    """gantry-replay's hosts, given a standby first, join the leader, and
    join the next one after a kill -9."""
    gs = group(tmp_path, redis_server, 2)
    g0 = leader(gs)
    g1 = gs[1] if gs[0] is g0 else gs[0]
    wait_until(lambda: health(g1)["leader"] is not None, 5)
    csv_path = tmp_path / "two.csv"
    with open(csv_path, "w") as f:
        f.write(CSV_HEADER)
        for sec in range(4):
            for host in ("hA", "hB"):
                f.write(f"2025-07-18T20:42:3{sec}Z,DCGM_FI_DEV_GPU_UTIL,0,nvidia0,GPU-{host},"
                        f"NVIDIA H100 80GB HBM3,{host},,,,{10 * sec},\n")
    replay = Proc("replay", [os.path.join(BUILD, "gantry-replay"), str(csv_path), "--master",
                             f"{g1.agent_addr},{g0.agent_addr}", "--interval", "100ms", "--loop"],
                  str(tmp_path))
    wait_until(lambda: active(g0, "hA", "hB"), 15, what="the hosts on the leader")
    g0.proc.kill()
    leader([g1], LEASE + 5)
    wait_until(lambda: active(g1, "hA", "hB"), 10, what="the hosts on the new leader")
    assert replay.alive()
    replay.stop(signal.SIGINT)
