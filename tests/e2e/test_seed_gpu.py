"""The GPU telemetry pipelines' API as their users call it, against the DCGM
file replayed with its own 2025-07-18 times: GPUs (all 247 by default, over
31 hosts), offset paging, the cluster hierarchy down to one GPU's metrics,
time windows on /api/v1/telemetry with exact counts, the latest N with
order=desc, metric filters, and unknown parameters refused on every route.
One redis-server, gantryd and replay serve the whole module."""
import csv
import os
import subprocess
from collections import Counter

import pytest
import requests

import harness
from harness import BUILD, wait_until

DATA_DIR = os.environ.get("GANTRY_DATA") or os.path.join(harness.ROOT, "..", "shared", "data")
DATA = os.path.join(DATA_DIR, "dcgm_metrics_20250718_134233.csv")
if not os.environ.get("GANTRY_DATA") and not os.path.exists(DATA):
    pytest.skip(f"{DATA} not found and GANTRY_DATA not set", allow_module_level=True)

UUID = "GPU-5fd4f087-86f3-7a43-b711-4771313afc50"       # gpu 0 of mtv5-dgx1-hgpu-031
HOST = "mtv5-dgx1-hgpu-031"
T = ["2025-07-18T20:42:34Z", "2025-07-18T20:42:35Z", "2025-07-18T20:42:36Z", "2025-07-18T20:42:37Z"]
API = {"DCGM_FI_DEV_GPU_UTIL": "gpu_utilization", "DCGM_FI_DEV_MEM_COPY_UTIL": "memory_utilization",
       "DCGM_FI_DEV_FB_USED": "memory_used_mb", "DCGM_FI_DEV_FB_FREE": "memory_free_mb",
       "DCGM_FI_DEV_GPU_TEMP": "temperature", "DCGM_FI_DEV_POWER_USAGE": "power_draw",
       "DCGM_FI_DEV_SM_CLOCK": "sm_clock_mhz", "DCGM_FI_DEV_MEM_CLOCK": "memory_clock_mhz",
       "DCGM_FI_DEV_ENC_UTIL": "encoder_utilization", "DCGM_FI_DEV_DEC_UTIL": "decoder_utilization"}


@pytest.fixture(scope="module")
def g(tmp_path_factory):
    wd = str(tmp_path_factory.mktemp("seedgpu"))
    r = harness.Redis(wd)
    gdir = os.path.join(wd, "gantryd")
    os.makedirs(gdir)
    gd = harness.Gantryd(gdir, redis=r, conf={"agents": {"heartbeat_timeout": "10m"}})
    out = subprocess.run([os.path.join(BUILD, "gantry-replay"), DATA, "--master", gd.agent_addr,
                          "--interval", "20ms", "--keep-timestamps"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    yield gd
    gd.proc.kill()
    r.stop()


@pytest.fixture(autouse=True)
def _process_logs():
    """The module's processes outlive each test: keep them (conftest's
    fixture would kill them after the first test)."""
    yield


def get(g, path, **params):
    r = requests.get(g.url + path, params=params, timeout=30)
    assert r.status_code == 200, (path, r.status_code, r.text)
    return r.json()


def rows():
    with open(DATA, newline="") as f:
        return list(csv.DictReader(f))


def test_every_gpu_by_default_over_31_hosts(g):
    d = get(g, "/api/v1/gpus")
    assert d["success"] is True and d["count"] == 247 and d["total"] == 247 and len(d["data"]) == 247
    hosts = Counter(x["hostname"] for x in d["data"])
    assert len(hosts) == 31 and hosts["mtv5-dgx1-hgpu-012"] == 7
    assert {x["uuid"] for x in d["data"]} == {row["uuid"] for row in rows()}
    assert get(g, "/api/v1/hosts")["total"] == 31


def test_offset_paging_visits_every_gpu_exactly_once(g):
    seen = []
    offset = 0
    while True:
        page = get(g, "/api/v1/gpus", limit=10, offset=offset)
        assert page["total"] == 247 and page["offset"] == offset
        seen += [x["uuid"] for x in page["data"]]
        offset += page["count"]
        if page["count"] < 10:
            break
    assert len(seen) == 247 and len(set(seen)) == 247
    assert seen == [x["uuid"] for x in get(g, "/api/v1/gpus")["data"]]
    assert get(g, "/api/v1/gpus", offset=247)["data"] == []
    hosts = [h["hostname"] for o in range(0, 31, 4) for h in get(g, "/api/v1/hosts", limit=4, offset=o)["data"]]
    assert len(hosts) == len(set(hosts)) == 31


def test_the_hierarchy_from_cluster_to_one_gpus_metrics(g):
    clusters = get(g, "/api/v1/clusters")
    assert clusters["total"] == 1
    c = clusters["data"][0]
    assert c == {"cluster_id": "default", "name": "default", "host_count": 31, "gpu_count": 247}
    assert get(g, "/api/v1/clusters/default")["data"] == c
    stats = get(g, "/api/v1/clusters/default/stats")["data"]
    assert stats["gpu_count"] == 247 and stats["sampled_gpu_count"] == 247
    assert stats["gpu_models"] == {"NVIDIA H100 80GB HBM3": 247}
    temps = [float(r["value"]) for r in rows() if r["metric_name"] == "DCGM_FI_DEV_GPU_TEMP"]
    assert stats["max_temperature"] == max(temps)
    assert stats["avg_temperature"] == round(sum(temps) / len(temps), 2)
    hosts = get(g, "/api/v1/clusters/default/hosts")
    assert hosts["total"] == 31 and HOST in [h["hostname"] for h in hosts["data"]]
    host = get(g, f"/api/v1/clusters/default/hosts/{HOST}")["data"]
    assert host["gpu_count"] == 8 and host["cluster_id"] == "default" and len(host["gpus"]) == 8
    gpus = get(g, f"/api/v1/clusters/default/hosts/{HOST}/gpus")
    assert [x["id"] for x in gpus["data"]] == list(range(8)) and gpus["data"][0]["uuid"] == UUID
    by_index = get(g, f"/api/v1/clusters/default/hosts/{HOST}/gpus/0")["data"]
    assert by_index == get(g, f"/api/v1/clusters/default/hosts/{HOST}/gpus/{UUID}")["data"]
    assert by_index == get(g, f"/api/v1/gpus/{UUID}")["data"]
    assert by_index["latest"]["temperature"] == 63
    metrics = get(g, f"/api/v1/clusters/default/hosts/{HOST}/gpus/0/metrics")
    assert [s["timestamp"] for s in metrics["data"]] == T
    assert metrics["data"] == get(g, f"/api/v1/gpus/{UUID}/telemetry")["data"]
    for path, code in ((f"/api/v1/clusters/nope", "CLUSTER_NOT_FOUND"),
                       (f"/api/v1/clusters/default/hosts/nope/gpus", "HOST_NOT_FOUND"),
                       (f"/api/v1/clusters/default/hosts/{HOST}/gpus/8", "GPU_NOT_FOUND"),
                       (f"/api/v1/clusters/default/hosts/{HOST}/gpus/8/metrics", "GPU_NOT_FOUND")):
        r = requests.get(g.url + path, timeout=10)
        assert r.status_code == 404 and r.json()["error"]["code"] == code, path


def expected_samples(start, end, host=None, metrics=None):
    """(uuid, time) pairs the file has in [start, end], of a host, with
    one of the metrics."""
    want = set()
    for r in rows():
        if start <= r["timestamp"] <= end and (not host or r["Hostname"] == host) and \
                (not metrics or API[r["metric_name"]] in metrics):
            want.add((r["uuid"], r["timestamp"]))
    return want


def test_time_windows_on_all_gpus_have_exact_counts(g):
    for start, end in ((T[0], T[0]), (T[0], T[1]), (T[1], T[3]), (T[3], T[3]), (T[0], T[3])):
        d = get(g, "/api/v1/telemetry", start_time=start, end_time=end, limit=10000)
        got = [(s["uuid"], s["timestamp"]) for s in d["data"]]
        assert len(got) == len(set(got)) == d["count"]
        assert set(got) == expected_samples(start, end), (start, end)
        assert [s["timestamp"] for s in d["data"]] == sorted(s["timestamp"] for s in d["data"])
        assert d["next_offset"] is None
    # just outside the file, and a window between two samples
    assert get(g, "/api/v1/telemetry", end_time="2025-07-18T20:42:33.999Z")["count"] == 0
    assert get(g, "/api/v1/telemetry", start_time="2025-07-18T20:42:34.001Z",
               end_time="2025-07-18T20:42:34.999Z")["count"] == 0
    one = get(g, "/api/v1/telemetry", start_time=T[1], end_time=T[1], hostname=HOST)
    assert one["count"] == 8 and {s["hostname"] for s in one["data"]} == {HOST}
    assert get(g, "/api/v1/telemetry", end_time=T[3], window="1s")["count"] == 2 * 247
    bad = requests.get(g.url + "/api/v1/telemetry", params={"start_time": T[2], "end_time": T[1]})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "INVALID_TIME_RANGE"


def test_telemetry_pages_with_offset_and_order(g):
    whole = get(g, "/api/v1/telemetry", limit=10000)["data"]
    assert len(whole) == 4 * 247
    pages, offset = [], 0
    while offset is not None:
        page = get(g, "/api/v1/telemetry", limit=300, offset=offset)
        pages += page["data"]
        offset = page["next_offset"]
    assert pages == whole
    newest = get(g, "/api/v1/telemetry", order="desc", limit=10000)["data"]
    assert [s["timestamp"] for s in newest] == sorted((s["timestamp"] for s in whole), reverse=True)
    assert sorted(map(str, newest)) == sorted(map(str, whole))


def test_order_desc_limit_1_is_the_latest_sample(g):
    series = get(g, f"/api/v1/gpus/{UUID}/telemetry")["data"]
    latest = get(g, f"/api/v1/gpus/{UUID}/telemetry", order="desc", limit=1)["data"]
    assert latest == [series[-1]] and latest[0]["timestamp"] == T[3]
    two = get(g, f"/api/v1/gpus/{UUID}/telemetry", order="desc", limit=2, offset=1)["data"]
    assert two == series[-3:-1][::-1]
    old = get(g, f"/api/v1/gpus/{UUID}/telemetry", limit=1)["data"]
    assert old == [series[0]] and old[0]["timestamp"] == T[0]


def test_metric_filters_return_only_those_fields(g):
    ident = {"timestamp", "gpu_id", "uuid", "device", "model_name", "hostname"}
    d = get(g, f"/api/v1/gpus/{UUID}/telemetry", metric=["gpu_utilization", "temperature"])["data"]
    assert [s["timestamp"] for s in d] == T[:2]
    assert set(d[0]) == ident | {"gpu_utilization"} and set(d[1]) == ident | {"temperature"}
    same = get(g, f"/api/v1/gpus/{UUID}/telemetry", metric_name="DCGM_FI_DEV_GPU_UTIL,GPU_TEMP")["data"]
    assert same == d
    all_temps = get(g, "/api/v1/telemetry", metric="temperature", limit=10000)
    assert all_temps["count"] == 247 and all(set(s) == ident | {"temperature"} for s in all_temps["data"])
    latest = get(g, "/api/v1/telemetry/latest", metric="power_draw")
    assert latest["total"] == 247 and all(set(s) == ident | {"power_draw"} for s in latest["data"])
    one = get(g, f"/api/v1/gpus/{UUID}", metric="sm_clock_mhz")["data"]["latest"]
    assert set(one) == ident | {"sm_clock_mhz"}
    r = requests.get(g.url + f"/api/v1/gpus/{UUID}/telemetry", params={"metric": "watts"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID_PARAMETER"
    assert "watts" in r.json()["error"]["message"]


def test_unknown_parameters_are_refused_on_every_route(g):
    """Every route of /openapi.json, with its path parameters filled in,
    answers 400 INVALID_PARAMETER naming a parameter it does not take."""
    doc = get(g, "/openapi.json")
    fill = {"cluster_id": "default", "host_id": HOST, "gpu_id": "0", "uuid": UUID, "hostname": HOST,
            "worker_id": HOST, "id": HOST, "version": "x", "file": "swagger-init.js"}
    checked = 0
    for path, item in doc["paths"].items():
        for method in item:
            url = path
            for k, v in fill.items():
                url = url.replace("{" + k + "}", v)
            for name in ("offest", "page_size"):
                r = requests.request(method.upper(), g.url + url, params={name: "1"}, timeout=10)
                assert r.status_code == 400, (method, path, r.status_code, r.text)
                err = r.json()["error"]
                assert err["code"] == "INVALID_PARAMETER" and err["parameter"] == name, (path, err)
                assert f"'{name}'" in err["message"]
            checked += 1
    assert checked == sum(len(v) for v in doc["paths"].values()) >= 45
    r = requests.get(g.url + "/swagger/", params={"x": "1"}, timeout=10)    # not in the document
    assert r.status_code == 400 and r.json()["error"]["parameter"] == "x"
    # what a route does take is still taken, access_token everywhere
    assert get(g, "/api/v1/gpus", limit=1, access_token="x")["count"] == 1
