"""gantryctl against a real redis-server, gantryd and agents: every verb as a
table (on a pseudo-terminal), as tab-separated lines (piped) and as --json
(compared with the API); exit statuses; follows; tokens; a standby's
redirect; pinned tasks; the shell and top in a real terminal (tmux)."""
import fcntl
import json
import os
import pty
import re
import shutil
import signal
import struct
import subprocess
import termios
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import harness
from harness import BUILD, Proc, free_port, submit, task, wait_task, wait_until

CTL = os.path.join(BUILD, "gantryctl")
FAST = {"agents": {"heartbeat_timeout": "2s", "lost_after": "30s"},
        "tasks": {"cancel_grace": "2s"}}
TOKENS = "read:reader-token-1,admin:admin-token-1"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def env_for(extra=None):
    env = dict(os.environ)
    for k in ("GANTRY_SERVER", "GANTRY_TOKEN", "NO_COLOR"):
        env.pop(k, None)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    env.update(extra or {})
    return env


def ctl(g, *args, env=None, server=None, timeout=60):
    """gantryctl with its output piped (plain mode)."""
    argv = [CTL, "--server", server or g.url] + list(args)
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env_for(env))


def ctl_json(g, *args, **kw):
    r = ctl(g, "--json", *args, **kw)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def ctl_tty(g, *args, env=None, cols=160):
    """gantryctl with stdout on a pseudo-terminal (tables, colour); returns
    (status, screen text with \\r removed, stderr)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, cols, 0, 0))
    p = subprocess.Popen([CTL, "--server", g.url] + list(args), stdin=subprocess.DEVNULL,
                         stdout=slave, stderr=subprocess.PIPE, env=env_for(env))
    os.close(slave)
    chunks = []
    while True:
        try:
            b = os.read(master, 65536)
        except OSError:
            break
        if not b:
            break
        chunks.append(b)
    p.wait(60)
    os.close(master)
    return p.returncode, b"".join(chunks).decode().replace("\r", ""), p.stderr.read().decode()


def plain(text):
    return ANSI.sub("", text)


@pytest.fixture
def cluster(gantryd_factory, agent_factory):
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "a1")
    agent_factory(g, "a2")
    return g


def stable(worker):
    return {k: worker[k] for k in ("worker_id", "state", "address", "total_resources", "labels")}


# ---- usage, help, exit statuses ----

def test_help_version_and_usage_errors(tmp_path):
    r = subprocess.run([CTL, "--version"], capture_output=True, text=True, env=env_for())
    assert r.returncode == 0 and r.stdout.startswith("gantryctl ")
    r = subprocess.run([CTL, "--help"], capture_output=True, text=True, env=env_for())
    assert r.returncode == 0
    for verb in ("status", "workers", "worker", "register", "drain", "unregister", "submit",
                 "tasks", "task", "logs", "monitor", "cancel", "events", "gpus", "gpu", "top",
                 "shell"):
        assert re.search(rf"^\s+{verb}\b", r.stdout, re.M), verb
    assert "EXIT STATUS" in r.stdout
    r = subprocess.run([CTL, "help", "submit"], capture_output=True, text=True, env=env_for())
    assert r.returncode == 0 and "--worker ID" in r.stdout and "EXAMPLE" in r.stdout
    r = subprocess.run([CTL, "cancel", "--help"], capture_output=True, text=True, env=env_for())
    assert r.returncode == 0 and "--grace DUR" in r.stdout
    cases = [
        (["frobnicate"], "gantryctl: unknown verb 'frobnicate'", "usage: gantryctl [--server"),
        (["workers", "--bogus"], "unknown flag --bogus", "usage: gantryctl workers [--state S]"),
        (["submit", "--mem", "12XB", "--", "true"], "--mem: '12XB' is not a size",
         "usage: gantryctl submit"),
        (["cancel", "t-1", "--grace", "soon"], "--grace: 'soon' is not a duration",
         "usage: gantryctl cancel"),
        (["submit", "--timeout", "2fortnights", "--", "x"], "--timeout:", "usage:"),
        ([], "no verb", "usage: gantryctl"),
        (["submit", "--cpu", "2"], "needs a command after -- or an --image", "usage:"),
        (["--server", "ftp://x", "workers"], "--server: 'ftp://x' is not an http", ""),
    ]
    for argv, message, usage in cases:
        r = subprocess.run([CTL] + argv, capture_output=True, text=True, env=env_for(),
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 2, (argv, r.returncode, r.stderr)
        assert message in r.stderr and usage in r.stderr, (argv, r.stderr)
        assert r.stdout == ""


def test_unreachable_is_exit_3_and_the_next_server_is_tried(gantryd_factory):
    g = gantryd_factory()
    dead = f"http://127.0.0.1:{free_port()}"
    r = ctl(g, "workers", server=f"{dead},{g.url}")
    assert r.returncode == 0, r.stderr
    g.stop()
    for args in (["workers"], ["submit", "--", "true"], ["logs", "-f", "t-1"], ["status"]):
        r = ctl(g, *args)
        assert r.returncode == 3, (args, r.stderr)
        assert r.stderr.startswith(f"gantryctl: cannot reach gantryd at {g.url}: "), r.stderr
        assert "refused" in r.stderr.lower()
    r = ctl(g, "workers", env={"GANTRY_SERVER": dead}, server=dead)
    assert r.returncode == 3 and f"cannot reach gantryd at {dead}: " in r.stderr


def test_server_refusals_print_code_and_message(cluster):
    r = ctl(cluster, "task", "t-nope")
    assert r.returncode == 1
    assert r.stderr.strip() == "gantryctl: TASK_NOT_FOUND: no task t-nope"
    r = ctl(cluster, "--json", "worker", "nope")
    assert r.returncode == 1 and "WORKER_NOT_FOUND" in r.stderr
    assert json.loads(r.stdout)["error"]["code"] == "WORKER_NOT_FOUND"
    r = ctl(cluster, "submit", "--priority", "11", "--", "true")
    assert r.returncode == 1 and "VALIDATION_FAILED" in r.stderr and "priority" in r.stderr
    r = ctl(cluster, "logs", "-f", "t-nope")
    assert r.returncode == 1 and "TASK_NOT_FOUND" in r.stderr


# ---- workers, worker, status ----

def test_workers_as_table_lines_and_json(cluster):
    api = cluster.get("/api/workers").json()
    got = ctl_json(cluster, "workers")
    assert len(got) == 1
    assert sorted(map(stable, got[0]["workers"]), key=lambda w: w["worker_id"]) == \
        sorted(map(stable, api["workers"]), key=lambda w: w["worker_id"])
    assert got[0]["count"] == api["count"] == 2
    r = ctl(cluster, "workers")
    assert r.returncode == 0
    lines = [l.split("\t") for l in r.stdout.splitlines()]
    assert sorted(l[0] for l in lines) == ["a1", "a2"]
    for l in lines:
        assert len(l) == 10 and l[1] == "active" and "\x1b" not in "".join(l)
        assert re.fullmatch(r"0\.0/\d+ cores", l[2]) and re.fullmatch(r"\d+\.\d/\d+\.\d GiB", l[3])
        assert re.fullmatch(r"\d+%", l[5])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", l[9])
    rc, screen, _ = ctl_tty(cluster, "workers")
    assert rc == 0
    rows = plain(screen).splitlines()
    assert re.match(r"WORKER +STATE +CPU +MEMORY +GPUS +CPU% +MEM% +GPU% +TASKS +HEARTBEAT", rows[0])
    assert {r.split()[0] for r in rows[1:]} == {"a1", "a2"}
    assert all(re.search(r"\d+s ago$", r) for r in rows[1:])
    # Columns line up: every row has STATE where the header has it.
    at = rows[0].index("STATE")
    assert all(r[at:at + 6] == "active" for r in rows[1:])
    assert "\x1b[32mactive" in screen and "\x1b[1mWORKER" in screen
    for nocolor in ({"NO_COLOR": "1"}, None):
        args = ["workers"] if nocolor else ["--no-color", "workers"]
        rc, screen, _ = ctl_tty(cluster, *args, env=nocolor)
        assert rc == 0 and "\x1b" not in screen and "WORKER" in screen
    r = ctl(cluster, "workers", "--state", "draining")
    assert r.returncode == 0 and r.stdout == ""
    r = ctl(cluster, "workers", "--state", "sleepy")
    assert r.returncode == 2 and "--state" in r.stderr


def test_worker_and_status(cluster):
    api = cluster.get("/api/workers/a1").json()
    got = ctl_json(cluster, "worker", "a1")[0]
    assert stable(got) == stable(api) and got["gpus"] == api["gpus"] == []
    rc, screen, _ = ctl_tty(cluster, "worker", "a1")
    text = plain(screen)
    assert rc == 0
    assert re.search(r"^worker +a1$", text, re.M) and re.search(r"^state +active$", text, re.M)
    assert re.search(r"^cpu +0\.0/\d+ cores allocated, \d+% in use$", text, re.M)
    assert re.search(r"^gpus +none$", text, re.M)
    r = ctl(cluster, "worker", "a2")
    assert "worker\ta2\n" in r.stdout and "state\tactive\n" in r.stdout
    health = cluster.get("/health").json()
    got = ctl_json(cluster, "status")[0]
    assert got["workers"] == health["workers"] == 2 and got["redis"] == health["redis"] == "up"
    assert set(got) == set(health)
    rc, screen, _ = ctl_tty(cluster, "status")
    text = plain(screen)
    assert rc == 0
    assert re.search(r"^workers +2: 2 active, 0 inactive, 0 offline, 0 draining$", text, re.M)
    assert re.search(r"^redis +up$", text, re.M)
    assert re.search(r"^cpu +0\.0/\d+ cores$", text, re.M)
    r = ctl(cluster, "status")
    assert "tasks\t0 queued, 0 running\n" in r.stdout


def test_register_drain_unregister(cluster):
    r = ctl(cluster, "register", "gpu-07", "--labels", "rack=7,zone=b")
    assert r.returncode == 0 and r.stdout == "registered gpu-07\n"
    w = cluster.get("/api/workers/gpu-07").json()
    assert w["labels"] == {"rack": "7", "zone": "b"} and w["state"] == "offline"
    r = ctl(cluster, "register", "gpu-07")
    assert r.returncode == 1 and "WORKER_EXISTS" in r.stderr
    got = ctl_json(cluster, "register", "gpu-08")[0]
    assert got["worker_id"] == "gpu-08" and got["registered"] is True
    r = ctl(cluster, "drain", "a1")
    assert r.returncode == 0 and r.stdout == "a1 is draining: 0 tasks still running\n"
    assert cluster.get("/api/workers/a1").json()["state"] == "draining"
    tid = submit(cluster, {"command": ["true"]})
    assert wait_task(cluster, tid)["worker_id"] == "a2"
    rc, screen, _ = ctl_tty(cluster, "workers")
    assert "\x1b[33mdraining" in screen
    got = ctl_json(cluster, "drain", "a1", "--undo")[0]
    assert got["draining"] is False and got["state"] == "active"
    r = ctl(cluster, "unregister", "gpu-07")
    assert r.returncode == 0 and r.stdout == "unregistered gpu-07\n"
    assert cluster.get("/api/workers/gpu-07").status_code == 404
    r = ctl(cluster, "drain", "gpu-07")
    assert r.returncode == 1 and "WORKER_NOT_FOUND" in r.stderr
    assert ctl_json(cluster, "unregister", "gpu-08") == [{"worker_id": "gpu-08", "removed": True}]


# ---- tasks ----

def test_submit_wait_exit_codes_and_json(cluster):
    r = ctl(cluster, "submit", "--wait", "--", "true")
    assert r.returncode == 0, r.stderr
    tid = r.stdout.strip()
    assert re.fullmatch(r"t-[0-9a-f]+", tid)
    assert task(cluster, tid)["status"] == "completed"
    assert f"task {tid} completed, exit code 0" in r.stderr
    r = ctl(cluster, "submit", "--wait", "--", "sh", "-c", "exit 7")
    assert r.returncode == 7 and "failed, exit code 7" in r.stderr
    r = ctl(cluster, "submit", "--cpu", "0.5", "--mem", "64MiB", "--env", "GREETING=hi there",
            "--label", "x=y", "--priority", "9", "--max-attempts", "2", "--timeout", "90s",
            "--tag", "nightly", "--", "echo", "a b")
    tid = r.stdout.strip()
    t = task(cluster, tid)
    assert t["cpu_required"] == 0.5 and t["memory_required"] == 64
    assert t["env"] == {"GREETING": "hi there"} and t["labels"] == {"x": "y"}
    assert t["priority"] == 9 and t["max_attempts"] == 2 and t["timeout"] == 90
    assert t["command"] == ["echo", "a b"] and t["tag"] == "nightly"
    assert "no active worker has the requested labels" in \
        wait_until(lambda: task(cluster, tid)["reason"], 10, what="a reason")
    got = ctl_json(cluster, "submit", "--", "true")[0]
    assert set(got) == {"task_id", "status"} and got["status"] == "queued"
    r = ctl(cluster, "--json", "submit", "--wait", "--", "sh", "-c", "exit 4")
    assert r.returncode == 4
    got = [json.loads(l) for l in r.stdout.splitlines()]
    assert len(got) == 1 and got[0]["status"] == "failed" and got[0]["exit_code"] == 4
    assert got[0] == task(cluster, got[0]["task_id"])


def test_submit_follow_streams_output_and_exit_code(cluster):
    r = ctl(cluster, "submit", "--follow", "--", "sh", "-c", "echo out-1; echo err-1 >&2; exit 3")
    assert r.returncode == 3
    lines = r.stdout.splitlines()
    assert re.fullmatch(r"t-[0-9a-f]+", lines[0]) and lines[1:] == ["out-1"]
    assert "err-1\n" in r.stderr and "failed, exit code 3" in r.stderr


def test_logs_follow_is_live_and_ends_with_the_task(cluster, tmp_path):
    go = tmp_path / "go"
    tid = submit(cluster, {"command": ["sh", "-c", f"echo ready; while [ ! -f {go} ]; do sleep 0.05;"
                                                    f" done; echo finished; echo oops >&2"]})
    p = subprocess.Popen([CTL, "--server", cluster.url, "logs", "-f", tid], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env_for())
    first = p.stdout.readline()
    assert first == "ready\n"
    # The line came while the task was still running: it waits for us.
    assert task(cluster, tid)["status"] == "running"
    assert p.poll() is None
    go.write_text("")
    rest, err = p.communicate(timeout=20)
    assert p.returncode == 0
    assert rest == "finished\n"
    assert "oops\n" in err and f"task {tid} completed, exit code 0" in err
    r = ctl(cluster, "logs", tid)
    assert r.returncode == 0 and r.stdout == "ready\nfinished\n" and r.stderr == "oops\n"
    got = ctl_json(cluster, "logs", tid)
    assert got == [cluster.get(f"/api/tasks/{tid}/logs?limit=1000").json()]
    r = ctl(cluster, "--json", "logs", "-f", tid)
    msgs = [json.loads(l) for l in r.stdout.splitlines()]
    assert sorted((m["stream"], m["data"]) for m in msgs if m["type"] == "log") == \
        [("stderr", "oops\n"), ("stdout", "finished\n"), ("stdout", "ready\n")]
    assert msgs[-1]["type"] == "end" and msgs[-1]["status"] == "completed"


def test_cancel_a_running_task_and_wait_gets_130(cluster):
    tid = submit(cluster, {"command": ["sh", "-c", "echo started; sleep 60"]})
    wait_task(cluster, tid, "running")
    r = ctl(cluster, "cancel", tid, "--grace", "1s")
    assert r.returncode == 0
    assert r.stdout.startswith(f"cancelling {tid}") and "after 1s" in r.stdout
    assert wait_task(cluster, tid)["status"] == "cancelled"
    r = ctl(cluster, "cancel", tid)
    assert r.returncode == 1 and "TASK_ALREADY_FINISHED" in r.stderr
    p = subprocess.Popen([CTL, "--server", cluster.url, "submit", "--wait", "--", "sleep", "60"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_for())
    tid = p.stdout.readline().strip()
    wait_task(cluster, tid, "running")
    got = ctl_json(cluster, "cancel", tid)[0]
    assert got["task_id"] == tid and got["cancel_requested"] is True
    p.communicate(timeout=20)
    assert p.returncode == 130
    q = submit(cluster, {"command": ["true"], "cpu_required": 1000})
    r = ctl(cluster, "cancel", q)
    assert r.returncode == 0 and r.stdout == f"{q} cancelled\n"
    assert cluster.delete(f"/api/tasks/{tid}?grace=soon").status_code == 400


def test_tasks_and_task_as_table_lines_and_json(cluster):
    done = submit(cluster, {"command": ["sh", "-c", "exit 2"]})
    wait_task(cluster, done)
    queued = submit(cluster, {"command": ["true"], "cpu_required": 900})
    wait_until(lambda: task(cluster, queued)["reason"], 10, what="a reason")
    api = cluster.get("/api/tasks?limit=50").json()
    assert ctl_json(cluster, "tasks") == [api]
    assert ctl_json(cluster, "tasks", "--status", "failed", "--limit", "5") == \
        [cluster.get("/api/tasks?limit=5&status=failed").json()]
    assert ctl_json(cluster, "task", done) == [task(cluster, done)]
    r = ctl(cluster, "tasks", "--worker", task(cluster, done)["worker_id"])
    assert [l.split("\t")[0] for l in r.stdout.splitlines()] == [done]
    r = ctl(cluster, "tasks")
    rows = {l.split("\t")[0]: l.split("\t") for l in r.stdout.splitlines()}
    assert rows[done][1] == "failed" and rows[done][3] == "sh -c exit 2" and rows[done][8] == "exit 2"
    assert rows[queued][1] == "queued" and rows[queued][2] == "-"
    assert rows[queued][8].startswith("no worker with 900 free CPU cores")
    rc, screen, _ = ctl_tty(cluster, "tasks")
    text = plain(screen).splitlines()
    assert re.match(r"TASK +STATUS +WORKER +RUNS +CPU +MEMORY +GPU +CREATED +INFO", text[0])
    assert "\x1b[31mfailed" in screen and "\x1b[33mqueued" in screen
    assert re.search(r"\d+s ago", text[1])
    rc, screen, _ = ctl_tty(cluster, "task", done)
    text = plain(screen)
    assert re.search(r"^status +failed$", text, re.M) and re.search(r"^exit code +2$", text, re.M)
    assert re.search(r"^runs +sh -c exit 2$", text, re.M)
    assert re.search(r"^attempts +1 of 3$", text, re.M)
    r = ctl(cluster, "tasks", "--status", "sleeping")
    assert r.returncode == 1 and "INVALID_PARAMETER" in r.stderr


def test_monitor_piped_prints_the_task_then_its_output(cluster):
    tid = submit(cluster, {"command": ["sh", "-c", "echo one; echo two"]})
    r = ctl(cluster, "monitor", tid)
    assert r.returncode == 0
    assert f"task\t{tid}\n" in r.stdout and r.stdout.endswith("one\ntwo\n")
    assert f"task {tid} completed, exit code 0" in r.stderr


# ---- pinned tasks (submit --worker, API field pinned_worker) ----

def test_pinned_tasks_run_on_their_worker_and_say_why_they_wait(gantryd_factory, agent_factory,
                                                                  redis_server):
    g = gantryd_factory(conf={**FAST, "scheduler": {"policy": "first-fit"}})
    agent_factory(g, "a1")
    agent_factory(g, "a2")
    # first-fit would put every task on a1; each goes to a2.
    ids = [ctl(g, "submit", "--worker", "a2", "--", "true").stdout.strip() for _ in range(3)]
    for tid in ids:
        t = wait_task(g, tid)
        assert t["status"] == "completed" and t["worker_id"] == "a2" and t["pinned_worker"] == "a2"
    assert wait_task(g, submit(g, {"command": ["true"]}))["worker_id"] == "a1"
    ghost = ctl(g, "submit", "--worker", "ghost", "--", "true").stdout.strip()
    wait_until(lambda: task(g, ghost)["reason"] == "worker ghost is not connected", 10,
               what="the reason of a task pinned to an absent worker")
    r = ctl(g, "task", ghost)
    assert "pinned to\tghost\n" in r.stdout and "reason\tworker ghost is not connected\n" in r.stdout
    assert redis_server.cli("HGET", f"gantry:task:{ghost}", "pinned_worker") == "ghost"
    ctl(g, "drain", "a1")
    held = ctl(g, "submit", "--worker", "a1", "--", "true").stdout.strip()
    wait_until(lambda: task(g, held)["reason"] == "waiting for worker a1: it is draining", 10,
               what="the reason of a task pinned to a draining worker")
    big = ctl(g, "submit", "--worker", "a2", "--cpu", "500", "--", "true").stdout.strip()
    wait_until(lambda: re.fullmatch(r"waiting for worker a2: it has [\d.]+ of \d+ CPU cores free, "
                                    r"the task needs 500", task(g, big)["reason"] or ""), 10,
               what="the reason of a task its worker cannot take")
    ctl(g, "drain", "a1", "--undo")
    assert wait_task(g, held)["worker_id"] == "a1"
    # Kept across a restart, and placed when the worker comes.
    g.stop()
    g.start()
    assert task(g, ghost)["pinned_worker"] == "ghost" and task(g, ghost)["status"] == "queued"
    agent_factory(g, "ghost")
    assert wait_task(g, ghost)["worker_id"] == "ghost"
    r = ctl(g, "submit", "--worker", "no good", "--", "true")
    assert r.returncode == 1 and "VALIDATION_FAILED" in r.stderr and "pinned_worker" in r.stderr
    for bad in (7, "", "-x", "a" * 65):
        r = g.post("/api/tasks", {"command": ["true"], "pinned_worker": bad})
        assert r.status_code == 422 and r.json()["error"]["field"] == "pinned_worker", bad


# ---- tokens, redirects ----

def joined(g, worker_id, token="reader-token-1"):
    """Waits for a worker to be active where the API needs a token."""
    headers = {"Authorization": f"Bearer {token}"}
    wait_until(lambda: g.get(f"/api/workers/{worker_id}", headers=headers).json()["state"] ==
               "active", 15, what=f"worker {worker_id} active")


def test_token_from_environment_flag_and_roles(gantryd_factory, agent_factory):
    g = gantryd_factory(conf={**FAST, "http": {"tokens": TOKENS}})
    agent_factory(g, "a1", wait=False)
    joined(g, "a1")
    r = ctl(g, "workers")
    assert r.returncode == 1 and "UNAUTHORIZED" in r.stderr
    r = ctl(g, "workers", env={"GANTRY_TOKEN": "reader-token-1"})
    assert r.returncode == 0 and r.stdout.startswith("a1\t")
    r = ctl(g, "submit", "--", "true", env={"GANTRY_TOKEN": "reader-token-1"})
    assert r.returncode == 1 and "FORBIDDEN" in r.stderr
    r = ctl(g, "submit", "--follow", "--", "echo", "hi", env={"GANTRY_TOKEN": "admin-token-1"})
    assert r.returncode == 0 and r.stdout.splitlines()[1:] == ["hi"]
    r = ctl(g, "--token", "admin-token-1", "submit", "--", "true",
            env={"GANTRY_TOKEN": "reader-token-1"})
    assert r.returncode == 0
    r = ctl(g, "events", "-n", "3", env={"GANTRY_TOKEN": "wrong"})
    assert r.returncode == 1 and "UNAUTHORIZED" in r.stderr


class Standby(BaseHTTPRequestHandler):
    """Answers every request as a standby gantryd does: 307 to the leader."""
    leader = None
    hits = []

    def redirect(self):
        Standby.hits.append((self.command, self.path, self.headers.get("Authorization")))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b'{"error":{"code":"NOT_LEADER","message":"this gantryd is a standby"}}'
        self.send_response(307)
        self.send_header("Location", self.leader + self.path)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = redirect

    def log_message(self, *args):
        pass


def test_a_standby_redirect_is_followed_with_method_body_and_token(gantryd_factory,
                                                                   agent_factory):
    g = gantryd_factory(conf={**FAST, "http": {"tokens": TOKENS}})
    agent_factory(g, "a1", wait=False)
    joined(g, "a1")
    Standby.leader, Standby.hits = g.url, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Standby)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        dead = f"http://127.0.0.1:{free_port()}"
        standby = f"http://127.0.0.1:{server.server_address[1]}"
        r = ctl(g, "submit", "--follow", "--mem", "32MiB", "--", "echo", "via-standby",
                server=f"{dead},{standby}", env={"GANTRY_TOKEN": "admin-token-1"})
        assert r.returncode == 0, r.stderr
        tid, out = r.stdout.splitlines()
        assert out == "via-standby"
        assert Standby.hits[0] == ("POST", "/api/tasks", "Bearer admin-token-1")
        # Followed with its body: the task has the memory asked for.
        t = g.get(f"/api/tasks/{tid}", headers={"Authorization": "Bearer reader-token-1"}).json()
        assert t["memory_required"] == 32 and t["command"] == ["echo", "via-standby"]
        # Later requests go to the leader it found.
        r = ctl(g, "cancel", tid, server=standby, env={"GANTRY_TOKEN": "admin-token-1"})
        assert r.returncode == 1 and "TASK_ALREADY_FINISHED" in r.stderr
        assert ("DELETE", f"/api/tasks/{tid}", "Bearer admin-token-1") in Standby.hits
    finally:
        server.shutdown()
        server.server_close()


# ---- events, GPUs ----

def test_events_and_follow(cluster):
    r = ctl(cluster, "events")
    rows = [l.split("\t") for l in r.stdout.splitlines()]
    assert ["worker.joined", "a1"] in [row[1:3] for row in rows]
    pages = ctl_json(cluster, "events")
    api = cluster.get("/api/events?limit=1000&since=0-0").json()["events"]
    assert [e["id"] for p in pages for e in p["events"]] == [e["id"] for e in api]
    rc, screen, _ = ctl_tty(cluster, "events", "--limit", "2")
    text = plain(screen).splitlines()
    assert re.match(r"TIME +EVENT +WORKER +TASK +DETAIL", text[0]) and len(text) == 3
    assert re.match(r"\d\d:\d\d:\d\d ", text[1])
    p = subprocess.Popen([CTL, "--server", cluster.url, "events", "-f"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env_for())
    tid = submit(cluster, {"command": ["sh", "-c", "exit 5"]})
    seen = []
    while not any(l[1] == "task.failed" and l[3] == tid for l in seen):
        line = p.stdout.readline()
        assert line, p.stderr.read()
        seen.append(line.rstrip("\n").split("\t"))
    assert len([l for l in seen if l[1] == "task.queued" and l[3] == tid]) == 1
    assert [l[1] for l in seen if l[3] == tid][:2] == ["task.queued", "task.assigned"]
    assert [l for l in seen if l[1] == "task.failed"][0][4].startswith("exit 5")
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=10)
    assert p.returncode == 130


def replay_hosts(g, n, *extra):
    data = os.path.join(os.environ.get("GANTRY_DATA") or os.path.join(harness.ROOT, "..", "shared",
                                                                       "data"),
                        "dcgm_metrics_20250718_134233.csv")
    if not os.path.exists(data):
        pytest.skip(f"{data} not found")
    return [os.path.join(BUILD, "gantry-replay"), data, "--master", g.agent_addr, "--hosts", str(n),
            "--interval", "50ms"] + list(extra)


def test_gpus_and_gpu(gantryd_factory):
    g = gantryd_factory(conf={"agents": {"heartbeat_timeout": "60s"}})
    r = subprocess.run(replay_hosts(g, 2), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    api = g.get("/api/v1/gpus?limit=1000&offset=0").json()
    assert ctl_json(g, "gpus") == [api]
    r = ctl(g, "gpus")
    rows = [l.split("\t") for l in r.stdout.splitlines()]
    assert len(rows) == api["total"] > 0
    assert {row[7] for row in rows} == {d["uuid"] for d in api["data"]}
    assert all(re.fullmatch(r"\d+%|-", row[3]) for row in rows)
    rc, screen, _ = ctl_tty(g, "gpus")
    text = plain(screen).splitlines()
    assert rc == 0 and re.match(r"HOST +GPU +MODEL +UTIL +MEMORY +TEMP +POWER +UUID", text[0])
    assert len(text) == len(rows) + 1
    host = rows[0][0]
    r = ctl(g, "gpus", "--host", host)
    assert {l.split("\t")[0] for l in r.stdout.splitlines()} == {host}
    uuid = rows[0][7]
    got = ctl_json(g, "gpu", uuid, "--since", "10m")
    assert got[0] == g.get(f"/api/v1/gpus/{uuid}").json()
    assert got[1]["count"] == len(got[1]["data"]) > 0
    rc, screen, _ = ctl_tty(g, "gpu", uuid, "--since", "10m")
    text = plain(screen)
    assert rc == 0 and re.search(rf"^gpu +{uuid}$", text, re.M)
    assert re.search(r"^TIME +UTIL +MEM UTIL +MEM USED +TEMP +POWER", text, re.M)
    r = ctl(g, "gpu", "GPU-nope")
    assert r.returncode == 1 and "GPU_NOT_FOUND" in r.stderr


# ---- the shell and top, in a real terminal ----

class Tmux:
    """A program in a real terminal: tmux runs it, send-keys types,
    capture-pane reads the screen. Its exit status lands in a file."""
    made = 0

    def __init__(self, tmp_path, command, env):
        if not shutil.which("tmux"):
            pytest.skip("tmux is not installed")
        Tmux.made += 1
        self.sock = str(tmp_path / f"tmux-{Tmux.made}.sock")
        self.status = tmp_path / f"status-{Tmux.made}"
        self.name = "t"
        envs = [f"{k}={v}" for k, v in env.items()]
        # The wrapper outlives a Ctrl-C meant for the program (trap), writes
        # its status once the program ends, and then holds the terminal
        # (cat) so the last screen stays as the program left it.
        wrapper = (f'trap : INT; "$@"; echo $? > {self.status}.tmp; '
                   f'mv {self.status}.tmp {self.status}; exec cat >/dev/null')
        self.run("new-session", "-d", "-x", "200", "-y", "50", "-s", self.name,
                 "env", *envs, "sh", "-c", wrapper, "sh", *command)

    def run(self, *args):
        return subprocess.run(["tmux", "-S", self.sock] + list(args), capture_output=True,
                              text=True, timeout=10)

    def keys(self, *keys):
        self.run("send-keys", "-t", self.name, *keys)

    def type(self, text):
        self.run("send-keys", "-t", self.name, "-l", text)

    def screen(self):
        return self.run("capture-pane", "-t", self.name, "-p").stdout

    def wait_screen(self, cond, what, timeout=15):
        return wait_until(lambda: cond(self.screen()), timeout, what=what)

    def exit_status(self, what, timeout=10):
        """Waits for the program to end; returns its exit status."""
        return int(wait_until(lambda: self.status.exists() and self.status.read_text(), timeout,
                              what=what))

    def close(self):
        self.run("kill-server")


def prompt_line(screen):
    lines = [l for l in screen.splitlines() if l.strip()]
    return lines[-1] if lines else ""


def test_shell_in_a_terminal(gantryd_factory, agent_factory, tmp_path):
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "alpha-7")
    agent_factory(g, "bravo-3")
    home = tmp_path / "home"
    home.mkdir()
    go = tmp_path / "go"
    blocked = submit(g, {"command": ["sh", "-c", f"echo waiting-for-go; while [ ! -f {go} ]; do "
                                                 f"sleep 0.05; done"]})
    wait_task(g, blocked, "running")
    t = Tmux(tmp_path, [CTL], {"HOME": str(home), "GANTRY_SERVER": g.url, "TERM": "xterm",
                               "ASAN_OPTIONS": "detect_leaks=1"})
    try:
        t.wait_screen(lambda s: prompt_line(s) == "gantry>", "the prompt")
        t.type("workers")
        t.keys("Enter")
        t.wait_screen(lambda s: re.search(r"^alpha-7 +active", s, re.M) and
                      re.search(r"^bravo-3 +active", s, re.M) and prompt_line(s) == "gantry>",
                      "the workers table and a new prompt")
        t.keys("Up")
        t.wait_screen(lambda s: prompt_line(s) == "gantry> workers", "Up to recall the command")
        t.keys("C-u")
        t.type("drain br")
        t.keys("Tab")
        t.wait_screen(lambda s: prompt_line(s) == "gantry> drain bravo-3", "Tab to complete the id")
        t.keys("Enter")
        t.wait_screen(lambda s: "bravo-3 is draining" in s, "the drain")
        assert g.get("/api/workers/bravo-3").json()["state"] == "draining"
        t.type(f"task {blocked[:6]}")
        t.keys("Tab")
        t.wait_screen(lambda s: prompt_line(s) == f"gantry> task {blocked}", "a task id completed")
        t.keys("C-u")
        t.type(f"logs -f {blocked}")
        t.keys("Enter")
        t.wait_screen(lambda s: "waiting-for-go" in s, "the task's output")
        t.keys("C-c")
        t.wait_screen(lambda s: prompt_line(s).endswith("gantry>"), "the prompt after Ctrl-C")
        assert task(g, blocked)["status"] == "running"
        t.type("status")
        t.keys("Enter")
        t.wait_screen(lambda s: re.search(r"^workers +2: 1 active, 0 inactive, 0 offline, "
                                          r"1 draining", s, re.M), "the shell going on")
        t.type("help cancel")
        t.keys("Enter")
        t.wait_screen(lambda s: "--grace DUR" in s, "help VERB")
        t.type("exit")
        t.keys("Enter")
        assert t.exit_status("the shell to exit") == 0
        history = (home / ".gantry_history").read_text().splitlines()
        assert "workers" in history and "drain\\040bravo-3" in history
    finally:
        t.close()
        go.write_text("")
    # Ctrl-D leaves too, and history is there on the next start.
    t = Tmux(tmp_path, [CTL], {"HOME": str(home), "GANTRY_SERVER": g.url, "TERM": "xterm"})
    try:
        t.wait_screen(lambda s: prompt_line(s) == "gantry>", "the prompt")
        t.keys("Up")
        t.wait_screen(lambda s: prompt_line(s) == "gantry> exit", "history from the last session")
        t.keys("C-u")
        t.keys("C-d")
        assert t.exit_status("Ctrl-D to leave") == 0
    finally:
        t.close()


def host_rows(screen):
    return [l for l in screen.splitlines() if l.startswith("mtv5-")]


def test_top_with_twenty_replayed_hosts(gantryd_factory, tmp_path):
    g = gantryd_factory(conf={"agents": {"heartbeat_timeout": "60s"}})
    Proc("replay", replay_hosts(g, 20, "--loop", "--interval", "300ms"), str(tmp_path))
    wait_until(lambda: len(g.get("/workers").json()) == 20, 20, what="20 replayed hosts")
    t = Tmux(tmp_path, [CTL, "top"], {"GANTRY_SERVER": g.url, "TERM": "xterm",
                                      "LANG": "C.UTF-8"})
    try:
        first = t.wait_screen(lambda s: len(host_rows(s)) == 20 and s, "20 hosts on the screen")
        assert "gantry top" in first and "20 workers (20 active)" in first
        assert re.search(r"^WORKER +STATE +CPU% +MEM% +GPU% +GPU UTIL +TEMP +POWER +TASKS +HB +SEEN",
                         first, re.M)
        names = {r.split()[0] for r in host_rows(first)}
        assert names == set(g.get("/workers").json())
        # Each host's line moves with its heartbeats (HB counts them; the file's
        # first 20 hosts report the same figures at each of its 4 times).
        def beats(screen):
            return {r.split()[0]: int(r.split()[-3]) for r in host_rows(screen)}
        before = beats(first)
        t.wait_screen(lambda s: len(host_rows(s)) == 20 and
                      all(n > before[h] for h, n in beats(s).items()),
                      "every host's line to change with its heartbeats")
        t.type("q")
        assert t.exit_status("q to quit") == 0
    finally:
        t.close()


def test_workers_watch_updates_in_place(cluster, tmp_path):
    t = Tmux(tmp_path, [CTL, "workers", "--watch"], {"GANTRY_SERVER": cluster.url,
                                                     "TERM": "xterm"})
    try:
        t.wait_screen(lambda s: re.search(r"^a1 +active", s, re.M), "the table")
        cluster.post("/api/workers/a1/drain")
        t.wait_screen(lambda s: re.search(r"^a1 +draining", s, re.M), "the drain to show")
        t.keys("C-c")
        assert t.exit_status("Ctrl-C to quit") == 0
    finally:
        t.close()


def test_monitor_keeps_a_live_header_above_the_output(cluster, tmp_path):
    go = tmp_path / "go"
    tid = submit(cluster, {"command": ["sh", "-c", f"echo first-line; while [ ! -f {go} ]; do "
                                                   f"sleep 0.05; done; echo last-line"]})
    wait_task(cluster, tid, "running")
    t = Tmux(tmp_path, [CTL, "monitor", tid], {"GANTRY_SERVER": cluster.url, "TERM": "xterm"})
    try:
        screen = t.wait_screen(lambda s: "first-line" in s and s, "the header and the output")
        lines = screen.splitlines()
        assert re.match(rf"{tid}  running  on a[12]  attempt 1/3  started \d+s ago", lines[0])
        assert lines[1].startswith("asked 1 cpu, 256 MiB  using ")
        assert lines[3] == "first-line", screen
        go.write_text("")
        screen = t.wait_screen(lambda s: f"task {tid} completed, exit code 0" in s and s,
                               "the end")
        lines = screen.splitlines()
        assert re.match(rf"{tid}  completed  on a[12]", lines[0]), screen
        assert lines[3:5] == ["first-line", "last-line"]
        assert t.exit_status("monitor to return") == 0
    finally:
        t.close()
