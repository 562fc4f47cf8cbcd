"""`make run` (scripts/run.sh) as a person uses it: REPLAY=1 keeps the DCGM
file's own times, so the docs' 2025-07-18 windows find samples; Ctrl-C
stops the replay, then the agent (which stops its running task and says
so: gantryd puts it back in the queue), then gantryd, then Redis, so no
task stays `running` in Redis while nothing runs it. The script runs from a scratch folder laid out like the checkout
(its var/ stays there), on free ports."""
import os
import shutil
import signal
import subprocess

import pytest
import requests

import harness
from harness import BUILD, free_port, wait_until

DATA_DIR = os.environ.get("GANTRY_DATA") or os.path.join(harness.ROOT, "..", "shared", "data")
DATA = os.path.join(DATA_DIR, "dcgm_metrics_20250718_134233.csv")


def start_run(tmp_path, replay):
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    for script in ("run.sh", "common.sh"):
        shutil.copy(os.path.join(harness.ROOT, "scripts", script), root / "scripts" / script)
    os.symlink(os.path.join(harness.ROOT, "conf"), root / "conf")
    os.symlink(BUILD, root / "build")
    ports = {"REDIS_PORT": free_port(), "HTTP_PORT": free_port(), "AGENT_PORT": free_port()}
    env = dict(os.environ, **{k: str(v) for k, v in ports.items()}, GANTRY_DATA=DATA_DIR,
               ASAN_OPTIONS="detect_leaks=0")
    if replay:
        env["REPLAY"] = "1"
    log = open(tmp_path / "run.log", "wb")
    p = subprocess.Popen(["bash", str(root / "scripts" / "run.sh"), "build"], stdout=log,
                         stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{ports['HTTP_PORT']}"
    wait_until(lambda: requests.get(url + "/health", timeout=1).status_code == 200, 30,
               what="make run's gantryd")
    return p, root, url, ports


def test_ctrl_c_stops_in_order_and_the_replay_keeps_the_files_times(tmp_path):
    if not os.environ.get("GANTRY_DATA") and not os.path.exists(DATA):
        pytest.skip(f"{DATA} not found and GANTRY_DATA not set")
    p, root, url, ports = start_run(tmp_path, replay=True)
    try:
        uuid = "GPU-5fd4f087-86f3-7a43-b711-4771313afc50"
        win = {"start_time": "2025-07-18T20:42:34Z", "end_time": "2025-07-18T20:42:36Z"}
        wait_until(lambda: len(requests.get(f"{url}/api/v1/gpus/{uuid}/telemetry", params=win,
                                            timeout=5).json()["data"]) == 3, 30,
                   what="the file's own 2025-07-18 samples")
        worker = requests.get(url + "/workers", timeout=5).json()
        local = [w for w in worker if not w.startswith("mtv5-")]
        assert len(local) == 1              # the local agent, named after the host
        tid = requests.post(url + "/api/tasks", json={"command": ["sleep", "300"],
                                                       "pinned_worker": local[0]}, timeout=5).json()["task_id"]
        wait_until(lambda: requests.get(f"{url}/api/tasks/{tid}", timeout=5).json()["status"] == "running",
                   20, what="the task to run")
        os.killpg(p.pid, signal.SIGINT)     # what Ctrl-C in the terminal sends
        p.wait(60)
        out = (tmp_path / "run.log").read_text()
        assert "stopping" in out and "stopped." in out, out
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    for port in ports.values():             # every program it started is gone
        wait_until(lambda port=port: not port_open(port), 10, what=f"port {port} closed")
    redis = harness.Redis(str(root / "var"))     # make run's Redis data, read back
    try:
        # not left `running`: the agent stopped it and gantryd put it back in
        # the queue before going, so the next start runs it knowingly
        record = dict(zip(*[iter(redis.raw("HGETALL", f"gantry:task:{tid}").splitlines())] * 2))
        assert record["status"] == "queued" and record["attempts"] == "1", record
    finally:
        redis.stop()


def port_open(port):
    import socket
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
