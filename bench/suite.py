#!/usr/bin/env python3
"""The benchmark suite of SPEC section 8. Each benchmark prints its figure
next to a ceiling or peer measured in the same run, and the ratio; the
results go to build/bench/results.json.

usage: suite.py BUILD [--quick] [--only B1,B2,...]"""
import argparse
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


class Redis:
    def __init__(self, workdir):
        self.port = free_port()
        self.p = subprocess.Popen(["redis-server", "--port", str(self.port), "--save", "",
                                   "--appendonly", "no", "--dir", workdir, "--logfile", "",
                                   "--protected-mode", "no"], stdout=subprocess.DEVNULL)
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


class Gantryd:
    def __init__(self, build, redis, workdir, extra=()):
        self.http = free_port()
        self.agents = free_port()
        self.log = open(os.path.join(workdir, "gantryd.log"), "w")
        self.p = subprocess.Popen([os.path.join(build, "gantryd"), "--http", f"127.0.0.1:{self.http}",
                                   "--listen", f"127.0.0.1:{self.agents}", "--redis",
                                   f"redis://127.0.0.1:{redis.port}", "--log-level", "warn",
                                   "--set", "agents.heartbeat_timeout=60s",
                                   "--set", "agents.max_connections=100000"] + list(extra),
                                  stderr=self.log)
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
           procs=1, spread=1):
    argv = [os.path.join(build, "hbload"), "--master", f"127.0.0.1:{gantryd.agents}",
            "--agents", str(agents), "--duration", f"{duration}s", "--gpus", str(gpus),
            "--procs", str(procs), "--spread", str(spread)]
    if rate:
        argv += ["--rate", str(rate)]
    else:
        argv += ["--interval", interval or "1s"]
    if not ack:
        argv.append("--no-ack")
    return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)


def finish(p):
    out, _ = p.communicate(timeout=600)
    return json.loads(out.strip().splitlines()[-1])


HB_FIELDS = ["cpu_usage", "45.20", "memory_usage", "62.80", "storage_usage", "41.50",
             "gpu_usage", "0.00", "running_tasks", "0", "seq", "1"]


def b1(build, work, quick):
    """Heartbeats/s persisted (XADDs Redis executed) with 10,000 agent
    connections, against redis-benchmark XADD -P 64 with the same fields
    into as many streams, on the same Redis, in the same run."""
    agents = 2000 if quick else 10000
    secs = 5 if quick else 15
    r = Redis(work)
    try:
        n = 300000 if quick else 1000000
        out = subprocess.run(["redis-benchmark", "-p", str(r.port), "-P", "64", "-c", "50",
                              "-n", str(n), "-r", str(agents), "-q", "XADD",
                              "gantry:telemetry:__rand_int__", "MINID", "0", "*"] + HB_FIELDS,
                             capture_output=True, text=True).stdout
        m = re.findall(r"([\d.]+) requests per second", out)
        ceiling = float(m[-1]) if m else 0.0
        r.cli("FLUSHALL")
        g = Gantryd(build, r, work)
        try:
            p = hbload(build, g, agents, secs, interval="20ms", ack=False, spread=4)
            time.sleep(3 if not quick else 2)   # joins
            c0, t0 = r.commandstat("xadd"), time.time()
            time.sleep(secs - 4 if not quick else secs - 3)
            c1, t1 = r.commandstat("xadd"), time.time()
            res = finish(p)
        finally:
            g.stop()
        value = (c1 - c0) / (t1 - t0)
    finally:
        r.stop()
    return {"value": round(value), "ceiling": round(ceiling),
            "ratio": round(value / ceiling, 3) if ceiling else 0,
            "agents": agents, "offered_per_s": round(res["heartbeats_per_s"])}


BENCHES = {"B1": b1}


def machine():
    return {"cpus": os.cpu_count(), "kernel": platform.release(),
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
    if os.path.exists(path):
        with open(path) as f:
            results = json.load(f)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    for name in wanted:
        with tempfile.TemporaryDirectory() as work:
            print(f"== {name}: {BENCHES[name].__doc__.split(chr(10))[0]}", flush=True)
            res = BENCHES[name](a.build, work, a.quick)
            results[name] = res
            print("   " + json.dumps(res), flush=True)
    results["machine"] = machine()
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
