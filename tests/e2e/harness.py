"""Real processes for the end-to-end tests: a private redis-server, gantryd
and agents, each on free ports in its own temporary directory, with their
logs kept so a failing test can show them."""
import json
import os
import signal as sig_mod
import random
import socket
import subprocess
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("GANTRY_BUILD", "build/asan"))
# The optimized build, for tests that measure memory or latency: under
# AddressSanitizer freed memory stays in quarantine and everything runs
# several times slower, so such figures would mean nothing there.
OPT_BUILD = os.path.join(ROOT, os.environ.get("GANTRY_OPT_BUILD", "build"))

# Every process started during the current test, for the failure report.
STARTED = []


def free_port():
    """A TCP port nothing listens on or connects from right now, chosen
    outside the kernel's ephemeral range: a port from that range may be the
    source port of some connection (thousands of agents make many), and a
    server cannot then bind it."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low, high = (int(x) for x in f.read().split())
    span = (10000, low) if low > 11000 else (high + 1, 65536)
    for _ in range(1000):
        port = random.randrange(*span)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


class Fatal(Exception):
    """Raised inside a wait_until condition to stop waiting at once."""


def wait_until(cond, timeout=10.0, interval=0.05, what="condition"):
    """Polls cond() until it returns a true value, which is returned."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            v = cond()
            if v:
                return v
        except Fatal:
            raise
        except Exception as e:  # the server may not be up yet
            last_exc = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                         + (f" (last error: {last_exc!r})" if last_exc else ""))


class Proc:
    """A child process whose stdout and stderr go to a log file."""

    def __init__(self, name, argv, workdir, env=None):
        self.name = name
        self.argv = argv
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.log = open(self.log_path, "ab")
        full_env = dict(os.environ)
        full_env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        if env:
            full_env.update(env)
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                  env=full_env, cwd=workdir, start_new_session=True)
        STARTED.append(self)

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def signal(self, sig):
        self.p.send_signal(sig)

    def stop(self, sig=sig_mod.SIGTERM, timeout=15):
        """Signals the process and returns its exit status."""
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        return self.p.returncode

    def kill(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, sig_mod.SIGKILL)
            except ProcessLookupError:
                pass
            self.p.wait()

    def text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def tail(self, n=60):
        return "\n".join(self.text().splitlines()[-n:])


class Redis:
    def __init__(self, workdir, port=None):
        self.workdir = os.path.join(workdir, "redis")
        os.makedirs(self.workdir, exist_ok=True)
        self.port = port or free_port()
        self.proc = None
        self.start()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def start(self):
        self.proc = Proc("redis", [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", self.workdir, "--save", "", "--appendonly", "yes",
            "--appendfsync", "always", "--daemonize", "no", "--logfile", "",
            "--protected-mode", "no"], self.workdir)
        wait_until(lambda: self.cli("PING") == "PONG", 10, what="redis-server")

    def cli(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.port), "--no-raw"] + [str(a) for a in args],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip().strip('"')

    def raw(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.port), "--raw"] + [str(a) for a in args],
                             capture_output=True, text=True, timeout=10)
        return out.stdout

    def client(self):
        import redis
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True)

    def stop(self):
        if self.proc and self.proc.alive():
            try:
                self.cli("SHUTDOWN", "NOSAVE")
            except subprocess.TimeoutExpired:
                pass
            self.proc.stop()


class Gantryd:
    """gantryd on free ports with a config file of its own."""

    def __init__(self, workdir, redis=None, conf=None, args=(), env=None, wait=True,
                 http_port=None, agent_port=None, build=None):
        self.workdir = workdir
        self.build = build or BUILD
        self.http_port = http_port or free_port()
        self.agent_port = agent_port or free_port()
        self.conf_path = os.path.join(workdir, "gantry.conf")
        sections = {
            "http": {"listen": f"127.0.0.1:{self.http_port}"},
            "agents": {"listen": f"127.0.0.1:{self.agent_port}"},
            "log": {"level": "info"},
        }
        if redis is not None:
            sections.setdefault("redis", {})["url"] = redis.url
        for section, keys in (conf or {}).items():
            sections.setdefault(section, {}).update(keys)
        self.sections = sections
        self.write_conf()
        self.args = list(args)
        self.env = env
        self.proc = None
        self.start(wait)

    def write_conf(self):
        with open(self.conf_path, "w") as f:
            for section, keys in self.sections.items():
                f.write(f"[{section}]\n")
                for k, v in keys.items():
                    f.write(f"{k} = {v}\n")
                f.write("\n")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def agent_addr(self):
        return f"127.0.0.1:{self.agent_port}"

    def start(self, wait=True):
        argv = [os.path.join(self.build, "gantryd"), "--config", self.conf_path] + self.args
        self.proc = Proc("gantryd", argv, self.workdir, self.env)
        if wait:
            self.wait_healthy()

    def wait_healthy(self, timeout=15):
        """Waits for /health, and for the store to be settled: up (the
        state rebuilt from Redis, changes accepted) or down (Redis away)."""
        def up():
            if not self.proc.alive():
                raise Fatal(f"gantryd exited {self.proc.p.returncode}:\n{self.proc.tail()}")
            r = requests.get(self.url + "/health", timeout=1)
            return r.status_code == 200 and r.json()["store"]["state"] in ("up", "down")
        wait_until(up, timeout, what="gantryd /health")

    def get(self, path, **kw):
        kw.setdefault("timeout", 10)
        return requests.get(self.url + path, **kw)

    def post(self, path, body=None, **kw):
        kw.setdefault("timeout", 10)
        return requests.post(self.url + path, json=body, **kw)

    def delete(self, path, **kw):
        kw.setdefault("timeout", 10)
        return requests.delete(self.url + path, **kw)

    def fd_count(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def settled_fd_count(self, quiet=0.3, timeout=10):
        """The fd count once it has held still for quiet seconds: right after
        a request, the connection the client just closed may still be open
        on gantryd's side."""
        deadline = time.monotonic() + timeout
        last, since = self.fd_count(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            n = self.fd_count()
            if n != last:
                last, since = n, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return n
        raise AssertionError(f"gantryd's fd count never settled (last {last})")

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self, sig=sig_mod.SIGTERM):
        return self.proc.stop(sig)


def raw_http(port, data, timeout=5.0, read_until_close=True):
    """Sends raw bytes and returns everything the server answers until it
    closes (or the timeout)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            chunks.append(b)
            if not read_until_close:
                break
        return b"".join(chunks)
    finally:
        s.close()


def parse_responses(data):
    """Splits a byte stream of HTTP/1.1 responses (Content-Length framed)
    into (status, headers, body) tuples."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        if status == 100:
            data = rest
            continue
        out.append((status, headers, rest[:n]))
        data = rest[n:]
    return out


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class Agent:
    """A real gantry-agent joined to a Gantryd."""

    def __init__(self, workdir, gantryd, worker_id, interval="200ms", args=(), env=None,
                 wait=True, build=None):
        self.workdir = os.path.join(workdir, f"agent-{worker_id}")
        os.makedirs(self.workdir, exist_ok=True)
        self.gantryd = gantryd
        self.worker_id = worker_id
        self.argv = [os.path.join(build or BUILD, "gantry-agent"), "--master", gantryd.agent_addr,
                     "--id", worker_id, "--interval", interval, "--workdir", self.workdir,
                     "--stop-grace", "2s"] + list(args)
        self.env = env
        self.proc = None
        self.start(wait)

    def start(self, wait=True):
        self.proc = Proc(f"agent-{self.worker_id}", self.argv, self.workdir, self.env)
        if wait:
            self.wait_state("active")

    def state(self):
        w = self.gantryd.get("/workers").json().get(self.worker_id)
        return w["state"] if w else None

    def wait_state(self, state, timeout=15):
        wait_until(lambda: self.state() == state, timeout,
                   what=f"worker {self.worker_id} {state}")

    def stop(self, sig=sig_mod.SIGTERM):
        return self.proc.stop(sig)


def submit(g, body, expect=201, **kw):
    r = g.post("/api/tasks", body, **kw)
    assert r.status_code == expect, (r.status_code, r.text)
    return r.json().get("task_id") if expect == 201 else r.json()


def task(g, tid):
    r = g.get(f"/api/tasks/{tid}")
    assert r.status_code == 200, r.text
    return r.json()


def wait_task(g, tid, statuses=("completed", "failed", "cancelled"), timeout=20):
    if isinstance(statuses, str):
        statuses = (statuses,)
    return wait_until(lambda: (t := task(g, tid))["status"] in statuses and t, timeout,
                      what=f"task {tid} to be {'/'.join(statuses)}")


def kill_strays(dirs):
    """SIGKILLs the process group of every process whose working directory
    lies under one of dirs: the tasks an agent started in its workdir run in
    their own groups and outlive a killed agent, and one left burning a core
    skews the next test's CPU figures."""
    roots = tuple(os.path.realpath(d) + os.sep for d in dirs)
    if not roots:
        return
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            cwd = os.readlink(f"/proc/{name}/cwd") + os.sep
            if cwd.startswith(roots):
                os.killpg(os.getpgid(int(name)), sig_mod.SIGKILL)
        except (OSError, ValueError):
            pass


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("State:"):
                    return "Z" not in line.split()[1]
    except FileNotFoundError:
        return False
    return True


# SPEC 4 fixes the DCGM exporter's own label names (UUID, modelName, Hostname)
# so existing dashboards keep working; promtool's linter flags those as
# camelCase. That one lint, on DCGM_FI_* series only, is accepted; any other
# promtool finding (syntax, types, duplicates, lint on our own metrics) fails.
DCGM_CAMEL_LINT = "label names should be written in 'snake_case' not 'camelCase'"


def promtool_problems(text):
    """Run `promtool check metrics` on text; return its findings other than
    the DCGM camelCase lint, plus any failure of promtool itself."""
    p = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True)
    out = [l for l in (p.stdout + p.stderr).splitlines() if l.strip()]
    bad = [l for l in out
           if not (l.startswith("DCGM_FI_") and l.endswith(DCGM_CAMEL_LINT))]
    if p.returncode not in (0, 3):       # 3 = lint findings only
        bad.append(f"promtool exited {p.returncode}")
    return bad


class DelayProxy:
    """A TCP proxy written for the tests: every chunk waits `delay` seconds
    in each direction, like a Redis 2*delay away. When the client side goes
    (gantryd killed), the bytes still on their way to the server are
    dropped, as a network would lose them."""

    def __init__(self, target_port, delay=0.05):
        import queue
        import threading
        self._queue_mod, self._threading = queue, threading
        self.target_port = target_port
        self.delay = delay
        self.port = free_port()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(64)
        self.closed = False
        self.pairs = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                s = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                c.close()
                continue
            self.pairs.append((c, s))
            dead = self._threading.Event()
            for src, dst in ((c, s), (s, c)):
                q = self._queue_mod.Queue()
                self._threading.Thread(target=self._read, args=(src, q, dead), daemon=True).start()
                self._threading.Thread(target=self._write, args=(dst, q, dead), daemon=True).start()

    def _read(self, src, q, dead):
        while True:
            try:
                b = src.recv(65536)
            except OSError:
                b = b""
            q.put((time.monotonic() + self.delay, b))
            if not b:
                dead.set()
                return

    def _write(self, dst, q, dead):
        while True:
            at, b = q.get()
            wait = at - time.monotonic()
            if wait > 0 and dead.wait(wait):
                b = b""           # a side went: what was on the way is lost
            if not b:
                for sk in (dst,):
                    try:
                        sk.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    sk.close()
                return
            try:
                dst.sendall(b)
            except OSError:
                return

    def close(self):
        self.closed = True
        self.sock.close()
        for c, s in self.pairs:
            for sk in (c, s):
                try:
                    sk.close()
                except OSError:
                    pass
