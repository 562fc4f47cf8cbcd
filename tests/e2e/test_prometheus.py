"""A real Prometheus (Debian's) scraping gantryd with the scrape config of
conf/prometheus.yml, the one docs/api.md shows: with the DCGM file
replayed, the GPU series carry the instance of their own host (31 of
them), as the stock dcgm-exporter dashboards select them, while gantryd's
own series keep gantryd's instance."""
import os
import shutil
import subprocess

import pytest
import requests
import yaml

import harness
from harness import BUILD, free_port, wait_until

PROMETHEUS = shutil.which("prometheus")
DATA_DIR = os.environ.get("GANTRY_DATA") or os.path.join(harness.ROOT, "..", "shared", "data")
DATA = os.path.join(DATA_DIR, "dcgm_metrics_20250718_134233.csv")
pytestmark = [
    pytest.mark.skipif(not PROMETHEUS, reason="prometheus is not installed (scripts/deps.sh)"),
    pytest.mark.skipif(not os.environ.get("GANTRY_DATA") and not os.path.exists(DATA),
                       reason=f"{DATA} not found and GANTRY_DATA not set"),
]


def query(port, q):
    r = requests.get(f"http://127.0.0.1:{port}/api/v1/query", params={"query": q}, timeout=5)
    r.raise_for_status()
    return r.json()["data"]["result"]


def test_documented_relabelling_gives_each_gpu_its_hosts_instance(gantryd_factory, tmp_path):
    g = gantryd_factory(conf={"agents": {"heartbeat_timeout": "10m"}})
    out = subprocess.run([os.path.join(BUILD, "gantry-replay"), DATA, "--master", g.agent_addr,
                          "--interval", "20ms", "--keep-timestamps"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    with open(os.path.join(harness.ROOT, "conf", "prometheus.yml")) as f:
        conf = yaml.safe_load(f)
    conf["global"]["scrape_interval"] = "1s"
    conf["scrape_configs"][0]["static_configs"][0]["targets"] = [f"127.0.0.1:{g.http_port}"]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(conf))
    port = free_port()
    p = harness.Proc("prometheus", [PROMETHEUS, f"--config.file={path}",
                                    f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                    f"--web.listen-address=127.0.0.1:{port}"], str(tmp_path))
    try:
        wait_until(lambda: query(port, "count(DCGM_FI_DEV_GPU_UTIL)") and
                   query(port, "count(DCGM_FI_DEV_GPU_UTIL)")[0]["value"][1] == "247", 60,
                   what="prometheus to scrape the 247 GPUs")
        per_host = query(port, "count by (instance) (DCGM_FI_DEV_GPU_UTIL)")
        assert len(per_host) == 31
        assert {r["metric"]["instance"] for r in per_host} == \
            {f"mtv5-dgx1-hgpu-{n:03d}:9400" for n in range(1, 33) if n != 2}
        one = query(port, 'DCGM_FI_DEV_GPU_TEMP{instance="mtv5-dgx1-hgpu-031:9400", gpu="0"}')
        assert len(one) == 1 and one[0]["metric"]["UUID"] == "GPU-5fd4f087-86f3-7a43-b711-4771313afc50"
        assert one[0]["metric"]["Hostname"] == "mtv5-dgx1-hgpu-031" and one[0]["value"][1] == "63"
        own = query(port, "gantry_heartbeats_total")
        assert [r["metric"]["instance"] for r in own] == [f"127.0.0.1:{g.http_port}"]
    finally:
        p.stop()
