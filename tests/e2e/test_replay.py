"""gantry-replay against gantryd and Redis: the DCGM file's 247 GPUs, exact
values at exact times, corrupted lines reported, /metrics, loops."""
import csv
import os
import random
import re
import subprocess
from collections import defaultdict

import pytest

import harness
from harness import BUILD, promtool_problems, wait_until

# The real DCGM file, read in place: from $GANTRY_DATA (the folder of
# ../shared/data; the file must be there then), else from ../shared/data
# next to the checkout; without either the module is skipped, and says so.
DATA_DIR = os.environ.get("GANTRY_DATA") or os.path.join(harness.ROOT, "..", "shared", "data")
DATA = os.path.join(DATA_DIR, "dcgm_metrics_20250718_134233.csv")
if not os.environ.get("GANTRY_DATA") and not os.path.exists(DATA):
    pytest.skip(f"{DATA} not found and GANTRY_DATA not set", allow_module_level=True)
API = {"DCGM_FI_DEV_GPU_UTIL": "gpu_utilization", "DCGM_FI_DEV_MEM_COPY_UTIL": "memory_utilization",
       "DCGM_FI_DEV_FB_USED": "memory_used_mb", "DCGM_FI_DEV_FB_FREE": "memory_free_mb",
       "DCGM_FI_DEV_GPU_TEMP": "temperature", "DCGM_FI_DEV_POWER_USAGE": "power_draw",
       "DCGM_FI_DEV_SM_CLOCK": "sm_clock_mhz", "DCGM_FI_DEV_MEM_CLOCK": "memory_clock_mhz",
       "DCGM_FI_DEV_ENC_UTIL": "encoder_utilization", "DCGM_FI_DEV_DEC_UTIL": "decoder_utilization"}


def replay(g, path, *args, timeout=60):
    return subprocess.run([os.path.join(BUILD, "gantry-replay"), path, "--master", g.agent_addr,
                           "--interval", "50ms"] + list(args),
                          capture_output=True, text=True, timeout=timeout)


def rows():
    with open(DATA, newline="") as f:
        return list(csv.DictReader(f))


def test_one_pass_is_exact(gantryd_factory, redis_server):
    g = gantryd_factory(conf={"agents": {"heartbeat_timeout": "60s"}})
    r = replay(g, DATA, "--keep-timestamps")
    assert r.returncode == 0, r.stderr
    assert "rows read 2470, skipped 0" in r.stderr and "GPUs 247" in r.stderr
    gpus = g.get("/api/v1/gpus?limit=1000").json()
    assert gpus["total"] == 247 and len(gpus["data"]) == 247
    hosts = g.get("/api/v1/hosts").json()["data"]
    counts = {h["hostname"]: h["gpu_count"] for h in hosts}
    assert len(counts) == 31
    assert counts.pop("mtv5-dgx1-hgpu-012") == 7 and set(counts.values()) == {8}
    expected = defaultdict(dict)        # uuid -> time -> {api field: value}
    for row in rows():
        expected[row["uuid"]].setdefault(row["timestamp"], {})[API[row["metric_name"]]] = \
            float(row["value"])
    for uuid, by_time in expected.items():
        tel = g.get(f"/api/v1/gpus/{uuid}/telemetry").json()["data"]
        got = {s["timestamp"]: {k: v for k, v in s.items() if k in API.values()} for s in tel}
        assert got == by_time, uuid
        assert {k for m in got.values() for k in m} == set(API.values())   # all ten metrics
    uuid = "GPU-5fd4f087-86f3-7a43-b711-4771313afc50"
    win = g.get(f"/api/v1/gpus/{uuid}/telemetry?start_time=2025-07-18T20:42:34Z"
                f"&end_time=2025-07-18T20:42:36Z").json()["data"]
    assert [s["timestamp"] for s in win] == ["2025-07-18T20:42:34Z", "2025-07-18T20:42:35Z",
                                               "2025-07-18T20:42:36Z"]
    assert "temperature" not in win[0] and "gpu_utilization" in win[0]
    assert win[0]["hostname"] == "mtv5-dgx1-hgpu-031" and win[0]["model_name"] == "NVIDIA H100 80GB HBM3"
    out = redis_server.raw("XRANGE", f"gantry:gpu:{uuid}", "1752871354000", "1752871354000").split()
    assert out[0] == "1752871354000-0"
    fields = dict(zip(out[1::2], out[2::2]))
    assert fields == {"GPU_UTIL": "0", "MEM_COPY_UTIL": "0", "POWER_USAGE": "156.596"}
    text = g.get("/metrics").text
    assert len(re.findall(r"^DCGM_FI_DEV_GPU_UTIL\{", text, re.M)) == 247
    assert promtool_problems(text) == []


def corrupt(lines, n, seed):
    """n distinct data lines (1-based line numbers > 1) broken in ways the
    issue names."""
    rng = random.Random(seed)
    picks = sorted(rng.sample(range(2, len(lines) + 1), n))
    kinds = [
        lambda l: l.replace('","', '",', 1),                     # wrong field count
        lambda l: l.replace("DCGM_FI_DEV_", "DCGM_FI_XX_", 1),   # unknown metric
        lambda l: re.sub(r',"([-\d.]+)","DCGM_FI_DRIVER', r',"abc","DCGM_FI_DRIVER', l),  # value
        lambda l: l.replace("2025-07-18T", "2025-13-18T", 1),    # bad timestamp
        lambda l: l.rstrip("\n").rstrip('"') + "\n",             # unterminated quote
    ]
    out = list(lines)
    for k, ln in enumerate(picks):
        out[ln - 1] = kinds[k % len(kinds)](out[ln - 1])
        assert out[ln - 1] != lines[ln - 1]
    return out, picks


def test_corrupted_lines_are_reported_and_the_rest_ingested(tmp_path, gantryd_factory):
    with open(DATA) as f:
        lines = f.readlines()
    bad, picks = corrupt(lines, 20, 11)
    path = tmp_path / "corrupt.csv"
    path.write_text("".join(bad))
    g = gantryd_factory(conf={"agents": {"heartbeat_timeout": "60s"}})
    r = replay(g, str(path), "--keep-timestamps")
    assert r.returncode == 0, r.stderr
    reported = sorted({int(m) for m in re.findall(rf"{re.escape(str(path))}:(\d+): ", r.stderr)})
    assert reported == picks, (reported, picks)
    assert "rows read 2470, skipped 20" in r.stderr
    # everything else arrived: per GPU, the metrics of the good rows
    good = defaultdict(set)
    with open(DATA, newline="") as f:
        for i, row in enumerate(csv.DictReader(f), start=2):
            if i not in picks:
                good[row["uuid"]].add((row["timestamp"], API[row["metric_name"]]))
    for uuid, want in good.items():
        tel = g.get(f"/api/v1/gpus/{uuid}/telemetry").json()["data"]
        have = {(s["timestamp"], k) for s in tel for k in s if k in API.values()}
        assert have == want, uuid


def test_exit_codes(tmp_path, gantryd_factory):
    g = gantryd_factory()
    only_bad = tmp_path / "bad.csv"
    with open(DATA) as f:
        header = f.readline()
    only_bad.write_text(header + '"nope","x"\n')
    r = replay(g, str(only_bad))
    assert r.returncode == 1 and "bad.csv:2:" in r.stderr
    r = replay(g, DATA, "--speed", "0")
    assert r.returncode == 2 and "--speed" in r.stderr
    r = replay(g, "/nonexistent.csv")
    assert r.returncode == 1
    r = subprocess.run([os.path.join(BUILD, "gantry-replay"), "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("gantry-replay ")


def test_loop_keeps_stream_ids_increasing(gantryd_factory, redis_server):
    g = gantryd_factory(conf={"agents": {"heartbeat_timeout": "60s"}})
    p = subprocess.Popen([os.path.join(BUILD, "gantry-replay"), DATA, "--master", g.agent_addr,
                          "--interval", "20ms", "--loop", "--keep-timestamps", "--hosts", "2"],
                         stderr=subprocess.PIPE, text=True)
    uuid = "GPU-5fd4f087-86f3-7a43-b711-4771313afc50"          # on the first host
    c = redis_server.client()
    wait_until(lambda: c.xlen(f"gantry:gpu:{uuid}") >= 12, 20, what="three passes")
    p.terminate()
    p.wait(10)
    ids = [int(i.split("-")[0]) for i, _ in c.xrange(f"gantry:gpu:{uuid}")]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert ids[4] > ids[3] >= 1752871357000                   # the second pass is later
    assert g.get("/api/v1/hosts").json()["count"] == 2
    assert g.get("/health").json()["store"]["gpu_samples_stale"] == 0
