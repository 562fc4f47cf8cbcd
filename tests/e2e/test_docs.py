"""The examples of README.md and docs/*.md, run as written: every ```sh
and ```python block, in the order of its page, against a setup like
`make run REPLAY=1`: a real redis-server, gantryd, an agent named after the
host and the DCGM file replayed with its own times. A block after a
`<!-- docs-test: skip (reason) -->` line is not run (the few that build,
open an interactive shell or start make run itself). Shell blocks run with
`set -e -o pipefail`, curl failing on an HTTP error (--fail-with-body),
and redis-cli pointed at the test's Redis; the variables the docs name
(G, W, UUID, TID, TOKEN) are set as the docs say."""
import glob
import os
import re
import socket
import subprocess

import pytest

import harness
from harness import BUILD, submit, wait_task, wait_until

DATA_DIR = os.environ.get("GANTRY_DATA") or os.path.join(harness.ROOT, "..", "shared", "data")
DATA = os.path.join(DATA_DIR, "dcgm_metrics_20250718_134233.csv")
if not os.environ.get("GANTRY_DATA") and not os.path.exists(DATA):
    pytest.skip(f"{DATA} not found and GANTRY_DATA not set", allow_module_level=True)

PAGES = [os.path.join(harness.ROOT, "README.md")] + sorted(glob.glob(os.path.join(harness.ROOT, "docs", "*.md")))
SKIP = re.compile(r"<!-- docs-test: skip \((.+)\) -->")


def examples(page):
    """(language, code, line, skip reason or None) of each fenced block."""
    out, lines = [], open(page).read().splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^```(sh|python)\s*$", lines[i])
        if not m:
            i += 1
            continue
        skip = SKIP.match(lines[i - 1]) if i else None
        j = i + 1
        while not lines[j].startswith("```"):
            j += 1
        out.append((m.group(1), "\n".join(lines[i + 1:j]), i + 1, skip.group(1) if skip else None))
        i = j + 1
    return out


ALL = [(os.path.relpath(p, harness.ROOT), *e) for p in PAGES for e in examples(p)]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    wd = str(tmp_path_factory.mktemp("docs"))
    redis = harness.Redis(wd)
    gdir = os.path.join(wd, "gantryd")
    os.makedirs(gdir)
    g = harness.Gantryd(gdir, redis=redis, conf={"agents": {"heartbeat_timeout": "10m"}})
    agent = harness.Agent(wd, g, socket.gethostname(), interval="1s")
    out = subprocess.run([os.path.join(BUILD, "gantry-replay"), DATA, "--master", g.agent_addr,
                          "--interval", "20ms", "--keep-timestamps"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    tid = submit(g, {"command": ["echo", "hello from the docs"]})
    wait_task(g, tid)
    run_dir = os.path.join(wd, "checkout")            # `build/...` as in a checkout
    os.makedirs(run_dir)
    os.symlink(BUILD, os.path.join(run_dir, "build"))
    env = dict(os.environ, G=g.url, W=agent.worker_id, UUID="GPU-5fd4f087-86f3-7a43-b711-4771313afc50",
               TID=tid, TOKEN="unused-no-tokens-set", GANTRY_SERVER=g.url, REDIS_PORT=str(redis.port),
               PATH=BUILD + os.pathsep + os.environ["PATH"], ASAN_OPTIONS="detect_leaks=0")
    yield {"env": env, "dir": run_dir, "procs": [redis.proc, g.proc, agent.proc]}
    for p in (agent.proc, g.proc):
        p.kill()
    redis.stop()


@pytest.fixture(autouse=True)
def _process_logs():
    """The module's processes serve every example: keep them between tests."""
    yield


SH_PRELUDE = """set -e -o pipefail
curl() { command curl --fail-with-body "$@"; }
redis-cli() { command redis-cli -p "$REDIS_PORT" "$@"; }
"""
PY_PRELUDE = """import json, os, requests, websocket
G, W, UUID, TID, TOKEN = (os.environ[k] for k in ("G", "W", "UUID", "TID", "TOKEN"))
tid, uuid, token = TID, UUID, TOKEN
"""


def test_the_docs_have_examples_and_few_skips():
    assert len([e for e in ALL if e[1] == "sh"]) >= 30 and len([e for e in ALL if e[1] == "python"]) >= 25
    skipped = [e for e in ALL if e[4]]
    assert len(skipped) <= 3, skipped


@pytest.mark.parametrize("page,lang,code,line,skip", ALL, ids=[f"{e[0]}:{e[3]}" for e in ALL])
def test_example(setup, page, lang, code, line, skip):
    if skip:
        pytest.skip(f"docs-test skip: {page}:{line}: {skip}")   # conftest.ALLOWED_SKIP
    argv = ["bash", "-c", SH_PRELUDE + code] if lang == "sh" else ["/usr/bin/python3", "-c", PY_PRELUDE + code]
    r = subprocess.run(argv, cwd=setup["dir"], env=setup["env"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"{page}:{line} ({lang}) exited {r.returncode}\n{code}\n--- out\n{r.stdout[-2000:]}\n--- err\n{r.stderr[-2000:]}"
    for p in setup["procs"]:
        assert p.alive(), f"{p.name} died during {page}:{line}"
