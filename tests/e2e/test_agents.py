"""Agents join, heartbeat, run tasks and come back: gantryd and real
gantry-agent processes over the agent protocol."""
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time

from harness import BUILD, pid_alive, submit, task, wait_task, wait_until

FAST = {"agents": {"heartbeat_timeout": "2s", "lost_after": "30s"},
        "tasks": {"cancel_grace": "2s"}}


def test_two_agents_join_and_cpu_usage_moves(gantryd_factory, agent_factory):
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "a1")
    agent_factory(g, "a2")
    workers = g.get("/workers").json()
    assert {w: workers[w]["state"] for w in workers} == {"a1": "active", "a2": "active"}
    tel = g.get("/telemetry").json()
    for wid in ("a1", "a2"):
        for k in ("cpu_usage", "memory_usage", "storage_usage", "gpu_usage"):
            assert isinstance(tel[wid][k], (int, float))
        assert tel[wid]["memory_usage"] > 0 and tel[wid]["storage_usage"] > 0
        assert tel[wid]["is_active"] is True
    # The idle baseline: the least over a second of heartbeats, since the one
    # taken while a2 was starting can read as a busy machine.
    idle = []
    for _ in range(12):
        idle.append(g.get("/telemetry").json()["a1"]["cpu_usage"])
        time.sleep(0.1)
    before = min(idle)
    tid = submit(g, {"command": "end=$(($(date +%s)+8)); while [ $(date +%s) -lt $end ]; do :; done"})
    wait_task(g, tid, "running", 10)
    wid = task(g, tid)["worker_id"]

    def burning():
        w = g.get(f"/telemetry/{wid}").json()
        mine = [t for t in w["running_tasks"] if t["task_id"] == tid]
        return mine and mine[0]["cpu_usage"] > 50 and w["cpu_usage"] > before and w
    w = wait_until(burning, 8, what="the task's CPU in telemetry")
    assert w["running_tasks"][0]["cpu_allocated"] == 1
    assert wait_task(g, tid)["status"] == "completed"


def test_sigstop_makes_inactive_and_tasks_go_elsewhere(gantryd_factory, agent_factory):
    g = gantryd_factory(conf=FAST)
    a1 = agent_factory(g, "a1")
    agent_factory(g, "a2")
    a1.proc.signal(signal.SIGSTOP)
    t0 = time.monotonic()
    a1.wait_state("inactive", 5)
    assert time.monotonic() - t0 < 3.0
    ids = [submit(g, {"command": ["true"]}) for _ in range(4)]
    for tid in ids:
        t = wait_task(g, tid)
        assert t["status"] == "completed" and t["worker_id"] == "a2"
    a1.proc.signal(signal.SIGCONT)
    a1.wait_state("active", 5)


def test_killed_agent_tasks_are_requeued_and_finish_elsewhere(gantryd_factory, agent_factory):
    g = gantryd_factory(conf={"agents": {"heartbeat_timeout": "1s", "lost_after": "1s"}})
    a1 = agent_factory(g, "a1")
    ids = [submit(g, {"command": "sleep 1.5; echo done-$GANTRY_TASK_ID"}) for _ in range(2)]
    for tid in ids:
        assert wait_task(g, tid, "running", 10)["worker_id"] == "a1"
    agent_factory(g, "a2")
    a1.proc.kill()
    for tid in ids:
        t = wait_task(g, tid, timeout=30)
        assert t["status"] == "completed", t
        assert t["worker_id"] == "a2"
        assert t["attempts"] == 2
        logs = g.get(f"/api/tasks/{tid}/logs").json()["logs"]
        assert any(f"done-{tid}" in l["data"] for l in logs)
    events = [w for w in g.get("/workers").json().values()]
    assert {w["worker_id"]: w["state"] for w in events}["a1"] == "offline"


def test_exit_code_and_logs(gantryd_factory, agent_factory):
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "a1")
    tid = submit(g, {"command": ["sh", "-c", "echo hello-$X; echo oops >&2; exit 3"],
                     "env": {"X": "gantry"}})
    t = wait_task(g, tid)
    assert t["status"] == "failed"
    assert t["exit_code"] == 3
    assert t["result"]["exit_code"] == 3
    logs = g.get(f"/api/tasks/{tid}/logs").json()
    lines = {(l["stream"], l["data"]) for l in logs["logs"]}
    assert ("stdout", "hello-gantry\n") in lines
    assert ("stderr", "oops\n") in lines
    assert logs["status"] == "failed"
    # since= returns only what follows
    after = g.get(f"/api/tasks/{tid}/logs?since={logs['logs'][0]['id']}").json()
    assert len(after["logs"]) == len(logs["logs"]) - 1
    assert after["next"] == logs["next"]
    assert g.get(f"/api/tasks/{tid}/logs?since=bogus").status_code == 400


def test_task_environment_limits_and_path(gantryd_factory, agent_factory, tmp_path):
    """The task sees its env over the agent's, its ids, a data-segment limit
    from memory_required, no core dumps, its own process group, and a PATH
    it sets is where its program is looked up. The limits hold from the
    task's first instruction (every run, not most), and it starts with no
    signal blocked or ignored."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    prog = bindir / "gantry-test-prog"
    prog.write_text("#!/bin/sh\necho prog-ran-$1\n")
    prog.chmod(0o755)
    junk = bindir / "gantry-not-a-program"
    junk.write_bytes(b"\x7fELF\x00garbage")
    junk.chmod(0o755)
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "a1")
    script = ('echo "ids $GANTRY_TASK_ID $GANTRY_WORKER_ID home=$HOME"; '
              'echo "data $(ulimit -d) core $(ulimit -c)"; '
              'echo "pgrp $(cut -d" " -f5 /proc/$$/stat) pid $$"; '
              # read by the shell itself: a forked grep would see the shell's
              # mask while it forks, not the one it started with
              'while read -r k v; do case $k in SigBlk:|SigIgn:) echo "$k $v";; esac; '
              'done < /proc/$$/status; cat; echo stdin-closed')
    tids = [submit(g, {"command": ["sh", "-c", script], "memory_required": 100,
                       "env": {"HOME": "/task-home"}}) for _ in range(8)]
    for tid in tids:
        t = wait_task(g, tid)
        assert t["status"] == "completed", t
        out = "".join(l["data"] for l in g.get(f"/api/tasks/{tid}/logs").json()["logs"])
        assert "data 102400 core 0\n" in out, out
        assert "SigBlk: 0000000000000000\nSigIgn: 0000000000000000\n" in out, out
    assert f"ids {tid} a1 home=/task-home\n" in out
    pg = [l for l in out.splitlines() if l.startswith("pgrp")][0].split()
    assert pg[1] == pg[3]                     # leader of its own process group
    assert out.endswith("stdin-closed\n")
    tid = submit(g, {"command": ["gantry-test-prog", "x"], "env": {"PATH": f"{bindir}:/usr/bin:/bin"}})
    assert wait_task(g, tid)["status"] == "completed"
    logs = g.get(f"/api/tasks/{tid}/logs").json()["logs"]
    assert [l["data"] for l in logs] == ["prog-ran-x\n"]
    tid = submit(g, {"command": ["gantry-test-prog"]})   # not on the agent's PATH
    t = wait_task(g, tid)
    assert t["status"] == "failed" and t["exit_code"] == 127
    assert "cannot run gantry-test-prog: No such file or directory" in t["reason"]
    tid = submit(g, {"command": [str(junk)]})            # exists, but exec fails
    t = wait_task(g, tid)
    assert t["status"] == "failed" and t["exit_code"] == 127
    assert f"cannot run {junk}: Exec format error" in t["reason"], t


def test_string_command_runs_in_shell_and_signal_is_reported(gantryd_factory, agent_factory):
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "a1")
    tid = submit(g, {"command": "kill -9 $$"})
    t = wait_task(g, tid)
    assert t["status"] == "failed" and t["exit_code"] == 137
    assert "signal 9" in t["reason"]
    tid = submit(g, {"command": ["/no/such/program"]})
    t = wait_task(g, tid)
    assert t["status"] == "failed" and t["exit_code"] == 127
    logs = g.get(f"/api/tasks/{tid}/logs").json()["logs"]
    assert any("cannot run /no/such/program" in l["data"] for l in logs)


def find_pid(marker):
    out = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def test_cancel_kills_the_process_within_grace(gantryd_factory, agent_factory):
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "a1")
    marker = f"300.{random.randint(100000, 999999)}"
    tid = submit(g, {"command": ["sleep", marker]})
    wait_task(g, tid, "running", 10)
    pids = wait_until(lambda: find_pid(f"sleep {marker}"), 5, what="the sleep process")
    t0 = time.monotonic()
    r = g.delete(f"/api/tasks/{tid}")
    assert r.status_code == 200 and r.json()["task_id"] == tid
    t = wait_task(g, tid, timeout=3 + 1)
    assert t["status"] == "cancelled"
    assert time.monotonic() - t0 < 2 + 1
    wait_until(lambda: not any(pid_alive(p) for p in pids), 2, what="the process to be gone")
    assert g.delete(f"/api/tasks/{tid}").status_code == 409


def test_cancel_ignores_sigterm_then_sigkill(gantryd_factory, agent_factory):
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "a1")
    tid = submit(g, {"command": "trap '' TERM; sleep 60 & wait; sleep 60"})
    wait_task(g, tid, "running", 10)
    time.sleep(0.3)
    t0 = time.monotonic()
    g.delete(f"/api/tasks/{tid}")
    t = wait_task(g, tid, timeout=6)
    assert t["status"] == "cancelled"
    assert 1.5 < time.monotonic() - t0 < 2 + 1.5


def test_queued_task_cancels_at_once(gantryd_factory):
    g = gantryd_factory(conf=FAST)
    tid = submit(g, {"command": ["true"]})
    assert task(g, tid)["reason"] == "no active worker"
    r = g.delete(f"/api/tasks/{tid}")
    assert r.json()["status"] == "cancelled"


def test_gantryd_restart_readopts_running_task(gantryd_factory, agent_factory, tmp_path):
    g = gantryd_factory(conf=FAST)
    a = agent_factory(g, "a1")
    out = tmp_path / "markers.txt"
    tid = submit(g, {"command": f"sleep 2; echo $GANTRY_TASK_ID >> {out}"})
    wait_task(g, tid, "running", 10)
    assert g.stop() == 0
    g.start()
    wait_until(lambda: g.get(f"/api/tasks/{tid}").status_code == 200, 15,
               what="the task to be re-adopted")
    t = task(g, tid)
    assert t["status"] == "running"
    assert t["attempts"] == 1
    t = wait_task(g, tid, timeout=15)
    assert t["status"] == "completed"
    assert out.read_text().split() == [tid]
    assert "1 tasks re-adopted" in a.proc.text()
    assert a.proc.text().count(f"task {tid} started") == 1


def test_result_while_master_down_is_applied_once(gantryd_factory, agent_factory, tmp_path):
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "a1")
    tid = submit(g, {"command": "sleep 1; echo finished-while-away"})
    wait_task(g, tid, "running", 10)
    g.proc.kill()
    time.sleep(2)
    g.start()
    t = wait_task(g, tid, timeout=15)
    assert t["status"] == "completed" and t["attempts"] == 1
    logs = g.get(f"/api/tasks/{tid}/logs").json()["logs"]
    assert [l["data"] for l in logs] == ["finished-while-away\n"]


def test_agent_sigterm_requeues_its_tasks_now(gantryd_factory, agent_factory):
    g = gantryd_factory(conf={"agents": {"heartbeat_timeout": "2s", "lost_after": "1h"}})
    a1 = agent_factory(g, "a1")
    tid = submit(g, {"command": ["sleep", "30"]})
    wait_task(g, tid, "running", 10)
    assert a1.stop() == 0
    t = wait_task(g, tid, "queued", 5)
    assert t["attempts"] == 1
    agent_factory(g, "a2")
    assert wait_task(g, tid, "running", 10)["worker_id"] == "a2"
    g.delete(f"/api/tasks/{tid}")


def test_docker_executor_with_stand_in(gantryd_factory, agent_factory, tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "docker-args.txt"
    (fake / "docker").write_text(f"""#!/bin/sh
echo "$@" >> {log}
case "$1" in
  info) exit 0 ;;
  run) echo "pulled and ran $*"; echo "container stderr" >&2; sleep "${{FAKE_SLEEP:-0}}"; exit 0 ;;
  stop) exit 0 ;;
esac
""")
    (fake / "docker").chmod(0o755)
    env = {"PATH": f"{fake}:{os.environ['PATH']}", "FAKE_SLEEP": "0"}
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "d1", env=env)
    tid = submit(g, {"docker_image": "registry.example.com:5000/team/app:1.2",
                     "command": ["python3", "-m", "app"], "cpu_required": 0.5,
                     "memory_required": 128, "env": {"MODE": "test"}})
    t = wait_task(g, tid)
    assert t["status"] == "completed", t
    runs = [l for l in log.read_text().splitlines() if l.startswith("run ")]
    assert runs == [f"run --rm --name=gantry-{tid} --label=gantry.task={tid} --cpus=0.5 "
                    f"--memory=128m -e MODE=test registry.example.com:5000/team/app:1.2 "
                    f"python3 -m app"]
    logs = {l["data"] for l in g.get(f"/api/tasks/{tid}/logs").json()["logs"]}
    assert "container stderr\n" in logs


def test_docker_cancel_uses_docker_stop(gantryd_factory, agent_factory, tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "docker-args.txt"
    (fake / "docker").write_text(f"""#!/bin/sh
echo "$@" >> {log}
case "$1" in
  run) exec sleep 30 ;;
  *) exit 0 ;;
esac
""")
    (fake / "docker").chmod(0o755)
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "d1", env={"PATH": f"{fake}:{os.environ['PATH']}"})
    tid = submit(g, {"docker_image": "alpine", "command": "sleep 30"})
    wait_task(g, tid, "running", 10)
    g.delete(f"/api/tasks/{tid}")
    wait_until(lambda: f"stop -t 2 gantry-{tid}" in log.read_text(), 5, what="docker stop")
    assert wait_task(g, tid, timeout=12)["status"] == "cancelled"


def test_docker_task_waits_without_docker_executor(gantryd_factory, agent_factory):
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "p1", args=["--executors", "process", "--docker", "/nonexistent"])
    tid = submit(g, {"docker_image": "alpine", "command": ["true"]})
    t = wait_until(lambda: (t := task(g, tid)).get("reason") and t, 5, what="a reason")
    assert t["status"] == "queued"
    assert t["reason"] == "no worker offers the docker executor"


def test_thousand_simulated_agents_stay_active(gantryd_factory):
    g = gantryd_factory(conf={"agents": {"heartbeat_timeout": "1s", "lost_after": "1h"},
                              "log": {"level": "warn"}})
    rss0 = g.rss_kib()
    p = subprocess.Popen([os.path.join(BUILD, "hbload"), "--master", g.agent_addr,
                          "--agents", "1000", "--interval", "100ms", "--duration", "10s",
                          "--gpus", "1", "--no-ack"], stdout=subprocess.PIPE, text=True)
    wait_until(lambda: g.get("/health").json()["active_workers"] == 1000, 30,
               what="1000 active workers")
    samples = []
    for _ in range(12):
        time.sleep(0.5)
        samples.append(g.get("/health").json()["active_workers"])
    rss = g.rss_kib()
    out, _ = p.communicate(timeout=60)
    res = json.loads(out.strip().splitlines()[-1])
    assert res["joined"] == 1000 and res["errors"] == 0
    assert samples == [1000] * len(samples), samples
    states = {w["state"] for w in g.get("/workers").json().values()}
    assert states <= {"active", "offline"}
    print(f"\n1000 agents: gantryd RSS {rss0} -> {rss} KiB, "
          f"{(rss - rss0) * 1024 / 1000:.0f} bytes per agent (ASan build), "
          f"{res['heartbeats_per_s']:.0f} heartbeats/s")


GARBAGE = [
    b"not json at all\n",
    b"{\"type\":\n",
    b"[1,2,3]\n",
    b"{\"no_type\":1}\n",
    b"{\"type\":\"heartbeat\",\"seq\":1}\n",
    b"{\"type\":\"warp\"}\n",
    b"{\"type\":\"hello\",\"version\":99,\"worker_id\":\"x\",\"capacity\":{\"cpu\":1,\"memory_mib\":1}}\n",
    b"{\"type\":\"hello\",\"version\":1,\"worker_id\":\"../etc\",\"capacity\":{}}\n",
    b"\xff\xfe\x00garbage\x01\n",
    b"{\"type\":\"log\",\"task_id\":\"x\"}\n",
]


def test_garbage_frames_leave_everyone_else_served(gantryd_factory, agent_factory):
    g = gantryd_factory(conf=FAST)
    a = agent_factory(g, "real")
    errors = []
    codes = set()

    def spray(n):
        for i in range(n):
            try:
                with socket.create_connection(("127.0.0.1", g.agent_port), timeout=5) as s:
                    s.sendall(random.choice(GARBAGE) * 2)
                    data = s.recv(4096)
                    if data:
                        codes.add(json.loads(data.split(b"\n")[0])["code"])
            except (OSError, ValueError) as e:
                errors.append(e)
    threads = [threading.Thread(target=spray, args=(200,)) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert {"BAD_FRAME", "NOT_JOINED", "UNKNOWN_TYPE", "UNSUPPORTED_VERSION",
            "BAD_MESSAGE"} <= codes
    assert g.get("/health").status_code == 200
    assert a.state() == "active"
    tid = submit(g, {"command": ["true"]})
    assert wait_task(g, tid)["status"] == "completed"
    assert g.proc.text().count("BAD_FRAME") <= 3   # logged once per peer, not per frame


def agent_conn(g):
    s = socket.create_connection(("127.0.0.1", g.agent_port), timeout=5)
    return s, s.makefile("rwb")


def send(f, obj):
    f.write((json.dumps(obj) + "\n").encode())
    f.flush()


def hello(worker_id="p1", token=""):
    return {"type": "hello", "version": 1, "worker_id": worker_id, "token": token,
            "capacity": {"cpu": 2, "memory_mib": 1024, "storage_mib": 100}}


def expect_error(f, s, code):
    msg = json.loads(f.readline())
    assert msg["type"] == "error" and msg["code"] == code, msg
    s.settimeout(5)
    assert f.read() == b""       # then the connection closes


def test_protocol_errors_get_error_frame_and_close(gantryd_factory):
    g = gantryd_factory(conf={"agents": {"token": "join-secret", "max_frame": "4KiB"}})
    s, f = agent_conn(g)
    send(f, hello(token="wrong"))
    expect_error(f, s, "BAD_TOKEN")
    s, f = agent_conn(g)
    f.write(b"{\"type\":\"heartbeat\",\"pad\":\"" + b"x" * 8000 + b"\"}\n")
    f.flush()
    expect_error(f, s, "FRAME_TOO_LARGE")
    s, f = agent_conn(g)
    send(f, hello(token="join-secret"))
    assert json.loads(f.readline())["type"] == "welcome"
    s2, f2 = agent_conn(g)
    send(f2, hello(token="join-secret"))
    expect_error(f2, s2, "DUPLICATE_WORKER")
    send(f, {"type": "ping", "seq": 7})
    assert json.loads(f.readline()) == {"type": "pong", "seq": 7}
    send(f, {"type": "heartbeat", "seq": 1, "cpu_usage": "high"})
    expect_error(f, s, "BAD_MESSAGE")


def test_require_registration_refuses_unknown_ids(gantryd_factory):
    g = gantryd_factory(conf={"agents": {"require_registration": "true"}})
    s, f = agent_conn(g)
    send(f, hello("stranger"))
    expect_error(f, s, "UNKNOWN_WORKER")


def test_agent_flags_errors_exit_2():
    agent = os.path.join(BUILD, "gantry-agent")
    r = subprocess.run([agent, "--interval", "soon"], capture_output=True, text=True)
    assert r.returncode == 2 and "--interval" in r.stderr
    r = subprocess.run([agent, "--on-stop", "maybe"], capture_output=True, text=True)
    assert r.returncode == 2 and "--on-stop" in r.stderr
    r = subprocess.run([agent, "--workdir", "/nonexistent/dir"], capture_output=True, text=True)
    assert r.returncode == 2 and "--workdir" in r.stderr
    r = subprocess.run([agent, "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("gantry-agent ")


def test_a_master_that_never_answers_is_left_within_the_connect_timeout(gantryd, tmp_path):
    """--master A,B where A accepts nothing (its backlog is full, so the
    kernel drops the agent's SYNs and would retry for minutes): the agent
    gives A up after its 5 s connect timeout and joins B."""
    from harness import Agent, free_port
    port = free_port()
    deaf = socket.socket()
    deaf.bind(("127.0.0.1", port))
    deaf.listen(0)
    fillers = []
    for _ in range(4):                  # fill the accept queue: further SYNs go unanswered
        f = socket.socket()
        f.setblocking(False)
        f.connect_ex(("127.0.0.1", port))
        fillers.append(f)
    try:
        t0 = time.monotonic()
        a = Agent(str(tmp_path), gantryd, "patient", wait=False,
                  args=["--master", f"127.0.0.1:{port},{gantryd.agent_addr}"])
        a.wait_state("active", timeout=20)
        assert time.monotonic() - t0 < 15
    finally:
        for f in fillers:
            f.close()
        deaf.close()
