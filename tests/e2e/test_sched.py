"""Scheduling inside gantryd: placements equal the simulator's for the same
cluster, SIGHUP switches the policy, unfit tasks say why, and a large queue
is worked in slices."""
import json
import os
import random
import re
import signal
import socket
import subprocess

from harness import BUILD, submit, task, wait_task, wait_until

NODES = [  # name, cores, MiB, GPUs, model
    ("big", 16, 65536, 4, "H100"),
    ("mid", 8, 32768, 2, "A100"),
    ("small", 4, 8192, 0, ""),
]


def scripted_agent(g, name, cores, mib, ngpu, model):
    """An agent that joins and holds what it is given, running nothing."""
    s = socket.create_connection(("127.0.0.1", g.agent_port))
    f = s.makefile("rwb")
    gpus = [{"index": i, "uuid": f"GPU-{name}-{i}", "model": model, "memory_mib": 81920}
            for i in range(ngpu)]
    f.write((json.dumps({"type": "hello", "version": 1, "worker_id": name, "capacity": {
        "cpu": cores, "memory_mib": mib, "gpus": gpus}}) + "\n").encode())
    f.flush()
    assert json.loads(f.readline())["type"] == "welcome"
    return s


def workload(n, seed):
    rng = random.Random(seed)
    pods = []
    for i in range(n):
        kind = rng.choice(["cpu", "share", "whole", "model"])
        cpu = rng.choice([500, 1000, 2000, 3000])
        mem = rng.choice([512, 1024, 4096, 8192])
        num_gpu, milli, spec = 0, 0, ""
        if kind == "share":
            num_gpu, milli = 1, rng.choice([250, 500, 750])
        elif kind == "whole":
            num_gpu, milli = rng.choice([1, 2]), 1000
        elif kind == "model":
            num_gpu, milli, spec = 1, 1000, rng.choice(["H100", "A100"])
        pods.append((f"p{i:02d}", cpu, mem, num_gpu, milli, spec))
    return pods


def test_placements_match_the_simulator(tmp_path, gantryd_factory):
    pods = workload(30, 7)
    nodes_csv = tmp_path / "nodes.csv"
    nodes_csv.write_text("sn,cpu_milli,memory_mib,gpu,model\n" + "".join(
        f"{n},{c * 1000},{m},{g},{mo}\n" for n, c, m, g, mo in NODES))
    pods_csv = tmp_path / "pods.csv"
    pods_csv.write_text("name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
                        "creation_time,deletion_time,scheduled_time\n" + "".join(
        f"{p},{c},{m},{ng},{mi},{sp},LS,Running,0,1000,0\n" for p, c, m, ng, mi, sp in pods))
    sim = subprocess.run([os.path.join(BUILD, "sched-sim"), "--mode", "place", "--policy",
                          "best-fit", "--nodes", str(nodes_csv), "--pods", str(pods_csv), "--json"],
                         capture_output=True, text=True, check=True)
    expected = json.loads(sim.stdout.strip().splitlines()[-1])["placements"]

    g = gantryd_factory(args=["--policy", "best-fit"],
                        conf={"agents": {"heartbeat_timeout": "60s"}})
    held = [scripted_agent(g, *n) for n in NODES]
    ids = {}
    for p, c, m, ng, mi, sp in pods:
        body = {"command": ["true"], "cpu_required": c / 1000, "memory_required": m}
        if ng:
            body["gpu_required"] = ng if mi == 1000 else mi / 1000
        if sp:
            body["gpu_model"] = sp
        ids[p] = submit(g, body)
        # one at a time, as the simulator does
        wait_until(lambda: task(g, ids[p])["status"] == "assigned" or task(g, ids[p])["reason"], 5)
    got = {p: task(g, t)["worker_id"] for p, t in ids.items()}
    assert got == expected
    assert list(expected.values()).count(None) >= 1      # the workload does not all fit
    for s in held:
        s.close()


def test_sighup_switches_policy(gantryd_factory):
    g = gantryd_factory(conf={"agents": {"heartbeat_timeout": "60s"},
                              "scheduler": {"policy": "first-fit"}})
    held = [scripted_agent(g, "big", 16, 65536, 0, ""), scripted_agent(g, "small", 4, 8192, 0, "")]
    t1 = submit(g, {"command": ["true"], "cpu_required": 2})
    assert wait_task(g, t1, "assigned")["worker_id"] == "big"
    g.sections["scheduler"]["policy"] = "best-fit"
    g.write_conf()
    g.proc.signal(signal.SIGHUP)
    wait_until(lambda: "scheduler policy is now best-fit" in g.proc.text(), 5)
    t2 = submit(g, {"command": ["true"], "cpu_required": 2})
    assert wait_task(g, t2, "assigned")["worker_id"] == "small"
    for s in held:
        s.close()


def test_unfit_task_says_why(gantryd_factory):
    g = gantryd_factory(conf={"agents": {"heartbeat_timeout": "60s"}})
    held = scripted_agent(g, "mid", 8, 32768, 2, "A100")
    tid = submit(g, {"command": ["true"], "gpu_required": 2, "gpu_model": "H100"})
    t = wait_until(lambda: (t := task(g, tid))["reason"] and t, 5)
    assert t["status"] == "queued"
    assert t["reason"] == "no worker with 2 free GPUs of model H100"
    tid = submit(g, {"command": ["true"], "cpu_required": 64})
    assert wait_until(lambda: task(g, tid)["reason"], 5) == "no worker with 64 free CPU cores"
    held.close()


def pipelined_submit(port, n, body):
    data = json.dumps(body).encode()
    req = (b"POST /api/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n" % len(data)) + data
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req * n)
    got = b""
    s.settimeout(60)
    while got.count(b"HTTP/1.1 201") < n:
        chunk = s.recv(1 << 16)
        assert chunk
        got += chunk
    s.close()


def test_large_queue_is_worked_in_slices(gantryd_factory):
    g = gantryd_factory(conf={"agents": {"heartbeat_timeout": "60s"},
                              "scheduler": {"slice": "1ms"}, "log": {"level": "warn"}})
    pipelined_submit(g.http_port, 20000, {"command": ["true"], "cpu_required": 0.001,
                                          "memory_required": 1})
    assert g.get("/health").json()["queued_tasks"] == 20000
    held = scripted_agent(g, "big", 1000, 1 << 24, 0, "")
    wait_until(lambda: g.get("/health").json()["queued_tasks"] == 0, 60,
               what="20000 tasks placed")
    m = g.get("/metrics").text
    yields = int(re.search(r"^gantry_scheduler_yields_total (\d+)", m, re.M).group(1))
    assert yields > 1          # the pass was cut into slices, the loop served meanwhile
    assert g.get("/health").json()["running_tasks"] == 20000
    held.close()
