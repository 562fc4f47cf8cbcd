#!/usr/bin/env python3
"""The benchmark suite of SPEC section 8. Each benchmark prints its figure
next to a ceiling or peer measured in the same run, and the ratio; the
results go to build/bench/results.json.

usage: suite.py BUILD [--quick] [--only B1,B2,...]"""
import argparse
import http.client
import json
import multiprocessing
import os
import platform
import resource
import re
import shutil
import signal
import random
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def cpu_seconds(pid):
    """User + system CPU seconds a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Redis:
    def __init__(self, workdir, cpu=None, args=()):
        self.port = free_port()
        self.p = subprocess.Popen(pinned(cpu, ["redis-server", "--port", str(self.port), "--save", "",
                                   "--appendonly", "no", "--dir", workdir, "--logfile", "",
                                   "--protected-mode", "no", "--maxclients", "20000"] +
                                  list(args)),
                                  stdout=subprocess.DEVNULL)
        wait_port(self.port)

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port)] + [str(a) for a in args],
                              capture_output=True, text=True).stdout

    def commandstat(self, name):
        out = self.cli("INFO", "commandstats")
        m = re.search(rf"cmdstat_{name}:calls=(\d+)", out)
        return int(m.group(1)) if m else 0

    def stop(self):
        self.p.terminate()
        self.p.wait()


def pinned(cpu, argv):
    """argv run on CPU cpu only (taskset), where the machine has two CPUs or
    more and taskset exists; argv unchanged otherwise."""
    if cpu is None or (os.cpu_count() or 1) < 2 or not shutil.which("taskset"):
        return argv
    return ["taskset", "-c", str(cpu)] + argv


def realtime(argv):
    """argv in the real-time class (chrt -f 10) where the machine has two
    CPUs or more and this user may ask for it; argv unchanged otherwise.
    For latency runs: a load generator's clocks then read a send and an
    arrival when they happen, and a pinned gantryd is not preempted by the
    machine's unrelated daemons."""
    if (not shutil.which("chrt") or (os.cpu_count() or 1) < 2
            or subprocess.run(["chrt", "-f", "10", "true"], capture_output=True).returncode):
        return argv
    return ["chrt", "-f", "10"] + argv


class Certs:
    """A throwaway CA, gantryd's certificate and an agent certificate
    (scripts/tls-certs.sh: ECDSA P-256, made with the openssl command)."""

    def __init__(self, work):
        self.dir = os.path.join(work, "tls")
        subprocess.run([os.path.join(ROOT, "scripts", "tls-certs.sh"), self.dir, "hb"], check=True)
        self.ca = os.path.join(self.dir, "ca.pem")

    def server_args(self):
        """TLS on both of gantryd's ports, mutual TLS on the agents'."""
        out = []
        for side in ("http", "agents"):
            out += ["--set", f"{side}.tls_cert={self.dir}/server.pem",
                    "--set", f"{side}.tls_key={self.dir}/server.key"]
        return out + ["--set", f"agents.tls_ca={self.ca}"]

    def client_args(self):
        return ["--tls-ca", self.ca, "--tls-cert", f"{self.dir}/agent-hb.pem",
                "--tls-key", f"{self.dir}/agent-hb.key"]


class Gantryd:
    def __init__(self, build, redis, workdir, extra=(), cpu=None, rt=False, http=None,
                 agents=None, log="gantryd.log", tls=None):
        self.http = http or free_port()
        self.agents = agents or free_port()
        self.base = f"{'https' if tls else 'http'}://127.0.0.1:{self.http}"
        self.curl = ["--cacert", tls.ca] if tls else []
        extra = list(extra) + (tls.server_args() if tls else [])
        self.log = open(os.path.join(workdir, log), "a")
        argv = [os.path.join(build, "gantryd"), "--http", f"127.0.0.1:{self.http}",
                "--listen", f"127.0.0.1:{self.agents}", "--redis",
                f"redis://127.0.0.1:{redis.port}", "--log-level", "warn",
                "--set", "agents.heartbeat_timeout=60s",
                "--set", "agents.max_connections=100000"] + list(extra)
        self.p = subprocess.Popen(pinned(cpu, realtime(argv) if rt else argv), stderr=self.log)
        wait_port(self.http)
        time.sleep(0.3)

    def rss(self):
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(30)


def hbload(build, gantryd, agents, duration, interval=None, rate=None, gpus=0, ack=True,
           procs=1, spread=1, ack_every=1, warmup=0, cpu=None, rt=False, tls=None):
    argv = [os.path.join(build, "hbload"), "--master", f"127.0.0.1:{gantryd.agents}",
            "--agents", str(agents), "--duration", f"{duration}s", "--gpus", str(gpus),
            "--procs", str(procs), "--spread", str(spread)]
    if tls:
        argv += tls.client_args()
    if rate:
        argv += ["--rate", str(rate)]
    else:
        argv += ["--interval", interval or "1s"]
    if not ack:
        argv.append("--no-ack")
    elif ack_every > 1:
        argv += ["--ack-every", str(ack_every)]
    if warmup:
        argv += ["--warmup", f"{warmup}s"]
    if rt:
        argv = realtime(argv)
    return subprocess.Popen(pinned(cpu, argv), stdout=subprocess.PIPE, text=True)


def finish(p):
    out, _ = p.communicate(timeout=600)
    return json.loads(out.strip().splitlines()[-1])


HB_FIELDS = ["cpu_usage", "45.20", "memory_usage", "62.80", "storage_usage", "41.50",
             "gpu_usage", "0.00", "running_tasks", "0", "seq", "1"]


def xadd_ceiling(r, agents, quick):
    """XADDs/s this Redis takes (redis-benchmark -P 64, the heartbeat's
    fields, as many streams as agents); Redis is emptied after."""
    n = 300000 if quick else 1000000
    out = subprocess.run(["redis-benchmark", "-p", str(r.port), "-P", "64", "-c", "50",
                          "-n", str(n), "-r", str(agents), "-q", "XADD",
                          "gantry:telemetry:__rand_int__", "MINID", "0", "*"] + HB_FIELDS,
                         capture_output=True, text=True).stdout
    m = re.findall(r"([\d.]+) requests per second", out)
    r.cli("FLUSHALL")
    return float(m[-1]) if m else 0.0


def get(g, path):
    """The body of GET path on g's API (over HTTPS where g speaks it)."""
    return subprocess.run(["curl", "-s", *g.curl, g.base + path], capture_output=True).stdout


def active_workers(g):
    return json.loads(get(g, "/health"))["active_workers"]


def persisted(build, work, r, agents, secs, rate, extra=(), tls=None):
    """B1's measurement: agents (two hbload processes, four source
    addresses) offered `rate` heartbeats/s; once all have joined, Redis's
    count of executed XADDs over `secs` seconds, and gantryd's CPU seconds
    over the same window. Returns (per second, CPU seconds per heartbeat,
    hbload's report)."""
    g = Gantryd(build, r, work, extra, tls=tls)
    try:
        # offer more than Redis could take, so the figure is what the
        # system persists, not what the load generator asked for
        p = hbload(build, g, agents, secs + 3, rate=round(rate), ack=False, spread=4, procs=2,
                   tls=tls)
        deadline = time.time() + 120
        while active_workers(g) < agents and time.time() < deadline and p.poll() is None:
            time.sleep(0.5)
        time.sleep(1)
        c0, t0, g0 = r.commandstat("xadd"), time.time(), cpu_seconds(g.p.pid)
        time.sleep(secs)
        c1, t1, g1 = r.commandstat("xadd"), time.time(), cpu_seconds(g.p.pid)
        res = finish(p)
    finally:
        g.stop()
    return (c1 - c0) / (t1 - t0), (g1 - g0) / max(c1 - c0, 1), res


def b1(build, work, quick, extra=(), replica=False):
    """Heartbeats/s persisted (XADDs Redis executed) with 10,000 agent
    connections, against redis-benchmark XADD -P 64 with the same fields
    into as many streams, on the same Redis, in the same run."""
    agents = 2000 if quick else 10000
    secs = 3 if quick else 11
    r = Redis(work)
    rep = attach_replica(r, work) if replica else None
    try:
        ceiling = xadd_ceiling(r, agents, quick)
        value, per_hb, res = persisted(build, work, r, agents, secs, ceiling * 1.5, extra=extra)
    finally:
        r.stop()
        if rep:
            rep.stop()
    # gantryd's own CPU per heartbeat (kernel time for its sockets included):
    # what one core of gantryd alone would sustain, next to the same ceiling
    return {"value": round(value), "ceiling": round(ceiling),
            "ratio": round(value / ceiling, 3) if ceiling else 0,
            "agents": agents, "offered_per_s": round(res["heartbeats_per_s"]),
            "gantryd_cpu_us_per_heartbeat": round(per_hb * 1e6, 2),
            "gantryd_per_core": round(1 / per_hb) if per_hb else 0,
            "per_core_ratio": round(1 / per_hb / ceiling, 3) if per_hb and ceiling else 0}


def b2(build, work, quick, b1_value=None):
    """Heartbeat round trip p50/p99 (heartbeat -> heartbeat_ack) at half of
    B1's persisted rate, with the same agents, after a warm-up (the joins'
    burst is not the steady state). Agents do not ask for acks (gantry-agent
    never does), so one heartbeat in ten asks, as a sample: the load is B1's
    kind, not one with an extra write per heartbeat. gantryd runs alone on
    CPU 0, Redis and the agents (hbload) on CPU 1, gantryd and hbload in the
    real-time class: on two cores shared by four busy processes and the
    machine's own nice -10 daemons, the scheduler's queueing, not gantryd,
    otherwise makes the tail. The same with nothing pinned and no priority
    is reported too, and the isolated round trip at 10,000 heartbeats/s
    (10,000 agents heartbeating once a second)."""
    agents = 2000 if quick else 10000
    secs = 5 if quick else 12
    warm = 2 if quick else 3
    rate = (b1_value or 20000) / 2
    out = {}
    for name, r_hb, pin in (("half_b1", rate, True), ("at_10k", 10000, True),
                            ("unpinned", rate, False)):
        r = Redis(work, cpu=1 if pin else None)
        try:
            g = Gantryd(build, r, work, cpu=0 if pin else None, rt=pin)
            try:
                out[name] = finish(hbload(build, g, agents, secs + warm, rate=r_hb, ack=True,
                                          spread=4, procs=2, ack_every=10, warmup=warm,
                                          cpu=1 if pin else None, rt=pin))
            finally:
                g.stop()
        finally:
            r.stop()
    res, ten, shared = out["half_b1"], out["at_10k"], out["unpinned"]
    ceil = ping_ceiling(work, agents, round(rate * (secs + warm)))
    return {"p50_ms": res["rtt_p50_ms"], "p99_ms": res["rtt_p99_ms"], "max_ms": res["rtt_max_ms"],
            "ceiling_p99_ms": ceil["p99_ms"], "ceiling_rps": ceil["rps"],
            "ratio": round(res["rtt_p99_ms"] / ceil["p99_ms"], 3) if ceil["p99_ms"] else 0,
            "rate": round(rate), "achieved_per_s": round(res["heartbeats_per_s"]), "agents": agents,
            "realtime_client": realtime(["x"]) != ["x"],
            "at_10k": {"p50_ms": ten["rtt_p50_ms"], "p99_ms": ten["rtt_p99_ms"],
                       "max_ms": ten["rtt_max_ms"]},
            "unpinned": {"p50_ms": shared["rtt_p50_ms"], "p99_ms": shared["rtt_p99_ms"],
                         "max_ms": shared["rtt_max_ms"]}}


def ping_ceiling(work, conns, n):
    """B2's ceiling: redis-benchmark PING round trips with as many
    connections, on the same pinning as gantryd (Redis alone on CPU 0, the
    client on CPU 1, both real-time). redis-benchmark cannot pace itself,
    so it runs at its own full rate; that rate is reported beside."""
    r = Redis(work, cpu=0)
    try:
        out = subprocess.run(pinned(1, realtime(["redis-benchmark", "-p", str(r.port),
                                                 "-t", "ping_mbulk", "-c", str(conns),
                                                 "-n", str(max(n, conns * 10)), "--csv"])),
                             capture_output=True, text=True).stdout
    finally:
        r.stop()
    row = [l for l in out.splitlines() if l.startswith('"PING')]
    f = [x.strip('"') for x in row[-1].split(",")] if row else []
    return {"p99_ms": float(f[6]) if len(f) > 6 else 0.0, "rps": float(f[1]) if f else 0.0}


def b3(build, work, quick):
    """Agents held at once (up to the process's file limit) and gantryd's
    memory per agent (RSS growth / agents), 8 GPUs each."""
    agents = 4000 if quick else 19000
    r = Redis(work)
    try:
        g = Gantryd(build, r, work, ["--set", "agents.heartbeat_timeout=120s"])
        try:
            time.sleep(0.5)
            rss0 = g.rss()
            p = hbload(build, g, agents, 20 if quick else 40, interval="10s", gpus=8, ack=False,
                       procs=2, spread=8)
            deadline = time.time() + 120
            held = 0
            while time.time() < deadline:
                h = json.loads(subprocess.run(["curl", "-s", f"http://127.0.0.1:{g.http}/health"],
                                              capture_output=True, text=True).stdout)
                held = h["active_workers"]
                if held >= agents:
                    break
                time.sleep(1)
            time.sleep(3)
            rss1 = g.rss()
            p.send_signal(signal.SIGINT)
            p.kill()
            p.wait()
        finally:
            g.stop()
    finally:
        r.stop()
    return {"agents": held, "bytes_per_agent": round((rss1 - rss0) / max(held, 1)),
            "rss_before": rss0, "rss_after": rss1, "gpus_per_agent": 8}


def wrk(url, secs, curl=()):
    """Requests/s; refuses to count a run with errors or non-2xx answers."""
    code = subprocess.run(["curl", "-s", *curl, "-o", "/dev/null", "-w", "%{http_code}", url],
                          capture_output=True, text=True).stdout
    if code != "200":
        raise RuntimeError(f"{url} answers {code}")
    out = subprocess.run(["wrk", "-t2", "-c64", f"-d{secs}s", url], capture_output=True,
                         text=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors on {url}:\n{out}")
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(m.group(1)) if m else 0.0


def nginx(work, body_files):
    port = free_port()
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        user = "user root;" if os.getuid() == 0 else ""
        f.write(f"""{user} worker_processes 1; daemon off; pid {work}/nginx.pid; error_log {work}/nginx.err;
events {{ worker_connections 1024; }}
http {{ access_log off; default_type application/json; keepalive_requests 1000000;
  server {{ listen 127.0.0.1:{port}; root {work}/www; }} }}
""")
    p = subprocess.Popen(["nginx", "-c", conf, "-p", work], stderr=subprocess.DEVNULL)
    wait_port(port)
    return p, port


def telemetry_load(build, g, secs, tls=None):
    """B4's load: 1,000 agents with 8 GPUs heartbeating every 5 s for secs;
    returns once every worker's document is whole."""
    load = hbload(build, g, 1000, secs, interval="5s", gpus=8, ack=False, tls=tls)
    deadline = time.time() + 90
    while time.time() < deadline and active_workers(g) < 1000:
        time.sleep(0.5)
    # Joined is not enough: a worker's GPU samples come with its first
    # heartbeat, up to 5 s later. Until every worker has sent one the
    # document keeps growing, and nginx would serve a smaller one.
    while time.time() < deadline:
        doc = json.loads(get(g, "/telemetry"))
        if len(doc) >= 1000 and all(len(w.get("gpus") or []) == 8 and
                                    all("utilization" in gp for gp in w["gpus"])
                                    for w in doc.values()):
            break
        time.sleep(0.5)
    return load


def b4(build, work, quick):
    """GET /telemetry/{id} and GET /telemetry (1,000 workers) requests/s
    (wrk -t2 -c64) against nginx (one worker) serving the same bytes as a
    static file. Every worker has heartbeated (8 GPUs each) before the
    bytes are taken, and goes on every 5 s, so gantryd's documents change
    while it serves them, at the same size."""
    secs = 4 if quick else 10
    r = Redis(work)
    os.makedirs(os.path.join(work, "www", "telemetry"), exist_ok=True)
    try:
        g = Gantryd(build, r, work)
        try:
            load = telemetry_load(build, g, secs * 2 + 30)
            base = g.base
            one = subprocess.run(["curl", "-s", base + "/telemetry/hb-7"], capture_output=True).stdout
            allw = subprocess.run(["curl", "-s", base + "/telemetry"], capture_output=True).stdout
            with open(os.path.join(work, "www", "telemetry", "hb-7"), "wb") as f:
                f.write(one)
            with open(os.path.join(work, "www", "telemetry", "index.json"), "wb") as f:
                f.write(allw)
            g_one = wrk(base + "/telemetry/hb-7", secs)
            g_all = wrk(base + "/telemetry", secs)
            end = subprocess.run(["curl", "-s", base + "/telemetry"], capture_output=True).stdout
            load.kill()
            load.wait()
        finally:
            g.stop()
        ng, port = nginx(work, None)
        try:
            n_one = wrk(f"http://127.0.0.1:{port}/telemetry/hb-7", secs)
            n_all = wrk(f"http://127.0.0.1:{port}/telemetry/index.json", secs)
        finally:
            ng.terminate()
            ng.wait()
    finally:
        r.stop()
    return {"value": round(g_one), "ceiling": round(n_one), "ratio": round(g_one / n_one, 3),
            "all_value": round(g_all), "all_ceiling": round(n_all),
            "all_ratio": round(g_all / n_all, 3), "bytes_one": len(one), "bytes_all": len(allw),
            "bytes_all_at_end": len(end)}


def wsload_run(build, g, clients, idle, quick):
    out = subprocess.run(pinned(1, realtime([os.path.join(build, "wsload"), "--http",
                                             f"127.0.0.1:{g.http}", "--master", f"127.0.0.1:{g.agents}",
                                             "--clients", str(clients), "--idle", str(idle),
                                             "--rate", "10", "--duration", "5s" if quick else "15s"])),
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def b5(build, work, quick):
    """WebSocket fan-out: 1,000 subscribers to one worker's telemetry; p99
    time from the heartbeat's send to its delivery at each subscriber.
    gantryd runs on CPU 0 and the subscribers (wsload) on CPU 1, both in
    the real-time class, so the fan-out and the clients' reads overlap as
    they would across machines instead of taking turns on one core, and
    the machine's unrelated daemons do not preempt either. Then the same
    with 100 of the 1,000 never reading: the readers' p99 beside, and
    gantryd's RSS after (what the idle ones cost)."""
    out = {}
    for name, idle in (("all_read", 0), ("idle_100", 100)):
        r = Redis(work, cpu=1)
        try:
            g = Gantryd(build, r, work, cpu=0, rt=True)
            try:
                out[name] = wsload_run(build, g, 1000, idle, quick)
                out[name]["gantryd_rss_kib"] = g.rss() // 1024
            finally:
                g.stop()
        finally:
            r.stop()
    res, slow = out["all_read"], out["idle_100"]
    return {"p99_ms": res["p99_ms"], "p50_ms": res["p50_ms"], "max_ms": res["max_ms"],
            "subscribers": res["upgraded"], "deliveries": res["deliveries"],
            "expected": res["expected"],
            "idle_100": {"p99_ms": slow["p99_ms"], "p50_ms": slow["p50_ms"],
                         "deliveries": slow["deliveries"], "expected": slow["expected"],
                         "gantryd_rss_kib": slow["gantryd_rss_kib"]},
            "idle_ratio": round(slow["p99_ms"] / res["p99_ms"], 3) if res["p99_ms"] else 0}


def submit_parallel(port, n, conns=8):
    import threading
    share = [n // conns + (1 if i < n % conns else 0) for i in range(conns)]
    ts = [threading.Thread(target=submit_pipelined, args=(port, k)) for k in share if k]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def submit_pipelined(port, n, per_conn=500):
    body = json.dumps({"command": ["true"], "cpu_required": 0.01, "memory_required": 1}).encode()
    req = (b"POST /api/tasks HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body)) + body
    done = 0
    while done < n:
        k = min(per_conn, n - done)
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(req * k)
        got = b""
        while got.count(b" 201 ") < k:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            got += chunk
        s.close()
        done += k


def spawn_loop(secs, out):
    """posix_spawn + waitpid of `true`, back to back, for secs; the count
    goes to out (a multiprocessing.Value)."""
    true, n, end = shutil.which("true"), 0, time.time() + secs
    while time.time() < end:
        os.waitpid(os.posix_spawn(true, ["true"], os.environ), 0)
        n += 1
    out.value = n


def spawn_ceiling(secs):
    """Processes/s this machine starts and reaps running `true`, one loop
    per CPU and nothing else: what B6 is measured against."""
    counts = [multiprocessing.Value("l", 0) for _ in range(os.cpu_count())]
    ps = [multiprocessing.Process(target=spawn_loop, args=(secs, c)) for c in counts]
    t0 = time.time()
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    return sum(c.value for c in counts) / (time.time() - t0)


def b6(build, work, quick):
    """Tasks per second end to end: HTTP submit -> agent runs `true` ->
    completed, with two real agents."""
    n = 2000 if quick else 10000
    r = Redis(work)
    try:
        g = Gantryd(build, r, work, ["--set", "tasks.keep_finished=100"])
        agents = []
        try:
            for i in range(2):
                wd = os.path.join(work, f"agent{i}")
                os.makedirs(wd)
                agents.append(subprocess.Popen([os.path.join(build, "gantry-agent"), "--master",
                                                f"127.0.0.1:{g.agents}", "--id", f"b6-{i}",
                                                "--workdir", wd, "--log-level", "warn",
                                                "--executors", "process"],
                                               stderr=subprocess.DEVNULL))
            base = f"http://127.0.0.1:{g.http}"

            poll = http.client.HTTPConnection("127.0.0.1", g.http)

            def completed():
                # one kept-alive connection: no process per poll in the measurement
                poll.request("GET", "/metrics")
                m = poll.getresponse().read().decode()
                x = re.search(r'gantry_tasks_finished_total\{status="completed"\} (\d+)', m)
                return int(x.group(1)) if x else 0
            while json.loads(subprocess.run(["curl", "-s", base + "/health"], capture_output=True,
                                            text=True).stdout)["active_workers"] < 2:
                time.sleep(0.1)
            t0 = time.time()
            submit_parallel(g.http, n)
            t_sub = time.time() - t0
            while completed() < n and time.time() - t0 < 300:
                time.sleep(0.02)
            elapsed = time.time() - t0
            done = completed()
        finally:
            for a in agents:
                a.terminate()
                a.wait()
            g.stop()
    finally:
        r.stop()
    ceiling = spawn_ceiling(3 if quick else 5)
    return {"tasks_per_s": round(done / elapsed, 1), "tasks": done, "seconds": round(elapsed, 2),
            "submit_per_s": round(n / t_sub), "spawn_ceiling": round(ceiling),
            "ratio": round(done / elapsed / ceiling, 3)}


# The published table (Weng et al., "Beware of Fragmentation", USENIX ATC'23;
# ../shared/data/README.md): GPU allocation at 100% arrival, default trace.
PUBLISHED_B7 = {"best-fit": 92.86, "fgd": 95.23}


def attach_replica(master, work):
    """A replica of master, once the master counts it online."""
    master.cli("CONFIG", "SET", "repl-diskless-sync-delay", "0")
    d = os.path.join(work, f"replica-{master.port}")
    os.makedirs(d, exist_ok=True)
    rep = Redis(d, args=["--replicaof", "127.0.0.1", str(master.port)])
    deadline = time.time() + 30
    while "state=online" not in master.cli("INFO", "replication"):
        if time.time() > deadline:
            raise RuntimeError("the replica never came online")
        time.sleep(0.05)
    return rep


def ha_health(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=0.5)
        c.request("GET", "/health")
        h = json.loads(c.getresponse().read())
        c.close()
        return h
    except (OSError, ValueError, http.client.HTTPException):
        return None


def ha_leader(gs, timeout):
    """The member that leads with its state rebuilt, polled every 10 ms."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for g in gs:
            h = ha_health(g.http)
            if h and h.get("role") == "leader" and h["store"]["state"] == "up":
                return g
        time.sleep(0.01)
    raise RuntimeError("no leader")


class Events:
    """bench/failover's JSON lines, read by a thread of their own."""

    def __init__(self, p):
        import queue
        import threading
        self.q = queue.Queue()
        threading.Thread(target=self._read, args=(p,), daemon=True).start()

    def _read(self, p):
        for line in p.stdout:
            self.q.put(json.loads(line))

    def next_all(self, after, timeout):
        deadline = time.time() + timeout
        while True:
            ev = self.q.get(timeout=max(deadline - time.time(), 0.01))
            if ev["event"] == "all" and ev["t"] >= after:
                return ev


def failovers(build, work, kills, lease, agents):
    """Three gantryd on one Redis and `agents` agents following them; the
    leader killed -9 `kills` times (and started again as a standby): the
    seconds from each kill to a new leader and to every agent joined."""
    r = Redis(work)
    gs, load = [], None
    extra = ["--set", f"ha.lease={lease}s", "--set", "agents.lost_after=300s"]
    leader_s, back_s = [], []
    try:
        for i in range(3):
            gs.append(Gantryd(build, r, work, extra=extra, log=f"gantryd{i}.log"))
        masters = ",".join(f"127.0.0.1:{g.agents}" for g in gs)
        load = subprocess.Popen([os.path.join(build, "failover"), "--master", masters, "--agents",
                                 str(agents), "--interval", "2s"], stdout=subprocess.PIPE,
                                text=True)
        events = Events(load)
        events.next_all(0, 60)
        for _ in range(kills):
            lead = ha_leader(gs, 30)
            t0 = time.time()
            lead.p.kill()
            lead.p.wait()
            ha_leader([g for g in gs if g is not lead], 4 * lease)
            leader_s.append(time.time() - t0)
            back_s.append(events.next_all(t0, 60)["t"] - t0)
            i = gs.index(lead)
            gs[i] = Gantryd(build, r, work, extra=extra, http=lead.http, agents=lead.agents,
                            log=f"gantryd{i}.log")
    finally:
        if load:
            load.terminate()
            load.wait()
        for g in gs:
            if g.p.poll() is None:
                g.stop()
        r.stop()
    return leader_s, back_s


def b8(build, work, quick):
    """HA failover: three gantryd on one Redis and 1,000 agents following
    their --master list (bench/failover); the leader killed -9 ten times:
    seconds to a new leader (its /health says so, state rebuilt) and to
    every agent joined again, against ha.lease. Beside it, B1 as above, B1
    with a replica, and B1 with a replica and redis.min_replicas_ack = 1,
    in the same run."""
    lease = 5.0
    leader_s, back_s = failovers(build, work, 3 if quick else 10, lease, 1000)
    plain = b1(build, work, quick)
    replicated = b1(build, work, quick, replica=True)
    acked = b1(build, work, quick, extra=["--set", "redis.min_replicas_ack=1"], replica=True)
    med = lambda v: round(sorted(v)[len(v) // 2], 3)
    return {"lease_s": lease, "agents": 1000, "kills": len(leader_s),
            "leader_s": [round(x, 3) for x in leader_s], "back_s": [round(x, 3) for x in back_s],
            "leader_median_s": med(leader_s), "leader_worst_s": round(max(leader_s), 3),
            "back_median_s": med(back_s), "back_worst_s": round(max(back_s), 3),
            "after_leader_worst_s": round(max(b - l for b, l in zip(back_s, leader_s)), 3),
            "value": med(back_s), "ceiling": lease, "ratio": round(med(back_s) / lease, 3),
            "b1": plain["value"], "b1_replica": replicated["value"], "b1_acked": acked["value"],
            "b1_acked_ratio": round(acked["value"] / plain["value"], 3) if plain["value"] else 0,
            "b1_acked_to_replica": round(acked["value"] / replicated["value"], 3)
            if replicated["value"] else 0}


def b7(build, work, quick):
    """Scheduler placements/s and GPU allocation ratio on the Alibaba GPU
    trace (sched-sim, the paper's protocol), next to the published table."""
    seeds = "42-44" if quick else "42-51"
    out = {}
    for policy in ("best-fit", "fgd", "fgd-plus"):
        lines = subprocess.run([os.path.join(build, "sched-sim"), "--policy", policy, "--seeds", seeds,
                                "--json"], capture_output=True, text=True, check=True).stdout
        r = json.loads(lines.strip().splitlines()[-1])
        out[policy] = {"alloc_at_100": r["alloc_at_100"], "alloc_at_130": r["alloc_at_130"],
                       "placements_per_s": r["placements_per_s"]}
    best = out["fgd-plus"]["alloc_at_100"]
    return {"policies": out, "seeds": seeds, "published": PUBLISHED_B7,
            "value": best, "ceiling": PUBLISHED_B7["fgd"],
            "ratio": round(best / PUBLISHED_B7["fgd"], 4)}


GOALS = {
    "B1": lambda r: (f"{r['value']} heartbeats/s persisted, ceiling (redis-benchmark XADD -P 64) "
                     f"{r['ceiling']}/s, ratio {r['ratio']}; gantryd CPU "
                     f"{r['gantryd_cpu_us_per_heartbeat']} us/heartbeat = {r['gantryd_per_core']}/s "
                     f"per core, {r['per_core_ratio']} of the ceiling",
                     r["ratio"] >= 0.5, "ratio >= 0.5"),
    "B2": lambda r: (f"round trip p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms at {r['rate']} hb/s "
                     f"(gantryd on its own CPU); redis-benchmark PING p99 {r['ceiling_p99_ms']} ms "
                     f"with as many connections (at its own {r['ceiling_rps']}/s), ratio {r['ratio']}; "
                     f"unpinned p99 {r['unpinned']['p99_ms']} ms; at 10,000 hb/s "
                     f"p99 {r['at_10k']['p99_ms']} ms",
                     0 < r["ratio"] <= 2, "p99 / PING p99 <= 2"),
    "B3": lambda r: (f"{r['agents']} agents held, {r['bytes_per_agent']} bytes of gantryd RSS each",
                     r["agents"] >= 19000 and r["bytes_per_agent"] <= 4096,
                     "19,000 agents at <= 4 KiB each"),
    "B4": lambda r: (f"/telemetry/{{id}} {r['value']} req/s, nginx {r['ceiling']} req/s, ratio {r['ratio']}; "
                     f"/telemetry {r['all_value']} req/s, nginx {r['all_ceiling']}, ratio {r['all_ratio']}",
                     r["ratio"] >= 1.5 and r["all_ratio"] >= 1.5, "both ratios >= 1.5"),
    "B5": lambda r: (f"{r['subscribers']} subscribers, delivery p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms; "
                     f"with 100 of them never reading, the readers' p99 {r['idle_100']['p99_ms']} ms "
                     f"(ratio {r['idle_ratio']})",
                     r["p99_ms"] < 10 and 0 < r["idle_ratio"] <= 1.5,
                     "p99 < 10 ms, and <= 1.5x with 100 idle"),
    "B6": lambda r: (f"{r['tasks_per_s']} tasks/s end to end ({r['tasks']} tasks in {r['seconds']} s); "
                     f"bare spawn+reap of `true` {r['spawn_ceiling']}/s, ratio {r['ratio']}",
                     r["ratio"] >= 0.9, "ratio to bare spawn >= 0.9"),
    "B8": lambda r: (f"new leader {r['leader_median_s']} s after a kill -9 (median of {r['kills']}), "
                     f"worst {r['leader_worst_s']} s, ha.lease {r['lease_s']} s; all {r['agents']} "
                     f"agents back {r['back_median_s']} s (worst {r['back_worst_s']} s), ratio to "
                     f"the lease {r['ratio']}; B1 {r['b1']}/s, with a replica {r['b1_replica']}/s, "
                     f"with a replica and min_replicas_ack=1 {r['b1_acked']}/s (ratio "
                     f"{r['b1_acked_ratio']}, {r['b1_acked_to_replica']} of the replica's)",
                     r["leader_worst_s"] <= r["lease_s"] + 1 and r["after_leader_worst_s"] <= 2,
                     "a leader within ha.lease + 1 s, every agent back 2 s after"),
    "B7": lambda r: ("; ".join(f"{p} {v['alloc_at_100']}% at {v['placements_per_s']} placements/s"
                               for p, v in r["policies"].items())
                     + f" (published: BestFit {r['published']['best-fit']}%, FGD {r['published']['fgd']}%)",
                     r["value"] > r["ceiling"], "above the published FGD"),
    "B9": lambda r: (f"heartbeats/s persisted over mutual TLS {r['hb_tls']}, without TLS "
                     f"{r['hb_plain']}, ratio {r['hb_ratio']} ({r['agents']} agents; gantryd CPU "
                     f"{r['hb_tls_cpu_us']} vs {r['hb_plain_cpu_us']} us/heartbeat); "
                     f"GET /telemetry/{{id}} over HTTPS {r['api_tls']} req/s, HTTP "
                     f"{r['api_plain']} req/s, ratio {r['api_ratio']}",
                     r["hb_ratio"] >= 0.7 and r["api_ratio"] >= 0.7, "both ratios >= 0.7"),
}


def verdict(name, res):
    """One line a person reads: the figure, its ceiling or peer, the goal."""
    text, met, goal = GOALS[name](res)
    return f"{name}: {text} [goal {goal}: {'met' if met else 'NOT met'}]"


def b9(build, work, quick):
    """Over TLS beside the same without TLS, in the same run: heartbeats/s
    persisted (B1's setup: 10,000 agents offered 1.5 times Redis's XADD
    rate) and GET /telemetry/{id} requests/s (B4's: 1,000 workers with 8
    GPUs, wrk -t2 -c64 over HTTPS). Mutual TLS on the agent port, ECDSA
    P-256 certificates from scripts/tls-certs.sh."""
    certs = Certs(work)
    agents = 2000 if quick else 10000
    secs = 3 if quick else 11
    out = {"agents": agents}
    r = Redis(work)
    try:
        ceiling = xadd_ceiling(r, agents, quick)
        for name, tls in (("plain", None), ("tls", certs)):
            value, per_hb, _ = persisted(build, work, r, agents, secs, ceiling * 1.5, tls=tls)
            out[f"hb_{name}"] = round(value)
            out[f"hb_{name}_cpu_us"] = round(per_hb * 1e6, 2)
            r.cli("FLUSHALL")
    finally:
        r.stop()
    wsecs = 4 if quick else 10
    for name, tls in (("plain", None), ("tls", certs)):
        r = Redis(work)
        try:
            g = Gantryd(build, r, work, tls=tls)
            try:
                load = telemetry_load(build, g, wsecs + 30, tls=tls)
                out[f"api_{name}"] = round(wrk(g.base + "/telemetry/hb-7", wsecs, g.curl))
                load.kill()
                load.wait()
            finally:
                g.stop()
        finally:
            r.stop()
    out["hb_ratio"] = round(out["hb_tls"] / out["hb_plain"], 3) if out["hb_plain"] else 0
    out["api_ratio"] = round(out["api_tls"] / out["api_plain"], 3) if out["api_plain"] else 0
    return out


BENCHES = {"B1": b1, "B2": b2, "B3": b3, "B4": b4, "B5": b5, "B6": b6, "B7": b7, "B8": b8,
           "B9": b9}


def machine():
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
            "open_files_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "date": time.strftime("%Y-%m-%d")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    wanted = [b for b in (a.only.split(",") if a.only else BENCHES) if b]
    results = {}
    path = os.path.join(ROOT, "build", "bench", "results.json")
    if a.only and os.path.exists(path):      # a subset updates the last run's file
        with open(path) as f:
            results = json.load(f)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    for name in wanted:
        with tempfile.TemporaryDirectory() as work:
            print(f"== {name}: {' '.join(BENCHES[name].__doc__.split())}", flush=True)
            if name == "B2":
                res = b2(a.build, work, a.quick, results.get("B1", {}).get("value"))
            else:
                res = BENCHES[name](a.build, work, a.quick)
            results[name] = res
            print("   " + json.dumps(res), flush=True)
            print("   " + verdict(name, res), flush=True)
    results["machine"] = machine()
    results["machine"]["quick"] = a.quick
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    print("== summary" + (" (quick run: fewer agents, shorter runs)" if a.quick else ""))
    for name in BENCHES:
        if name in results:
            print(verdict(name, results[name]))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
