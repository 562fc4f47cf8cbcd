"""Fixtures: a private redis-server and gantryd per test, torn down even
when the test fails; on failure their logs are printed."""
import os

import pytest

import harness


# In CI (CI=true, as .ci/run is run) everything a test needs is installed
# by scripts/deps.sh and the data is in place, so a skip there means a test
# that did not run: it fails instead. Only the docs' marked examples
# (`<!-- docs-test: skip (...) -->`, test_docs.py) may skip.
STRICT = os.environ.get("CI") == "true"
ALLOWED_SKIP = "docs-test skip: "


def _no_skip_in_ci(rep):
    if not (STRICT and rep.skipped) or hasattr(rep, "wasxfail"):
        return
    reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
    if not reason.startswith("Skipped: " + ALLOWED_SKIP):
        rep.outcome = "failed"
        rep.longrepr = f"skipped in CI, where nothing may be missing: {reason}"


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    _no_skip_in_ci(rep)
    setattr(item, "rep_" + rep.when, rep)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _no_skip_in_ci(outcome.get_result())


@pytest.fixture(autouse=True)
def _process_logs(request):
    harness.STARTED.clear()
    yield
    failed = any(getattr(request.node, "rep_" + w, None) is not None and
                 getattr(request.node, "rep_" + w).failed for w in ("setup", "call"))
    if failed:
        for p in harness.STARTED:
            print(f"\n----- {p.name} (pid {p.pid}) log: {p.log_path}\n{p.tail(80)}")
    for p in reversed(harness.STARTED):
        p.kill()
    harness.kill_strays({os.path.dirname(p.log_path) for p in harness.STARTED})
    harness.STARTED.clear()


@pytest.fixture
def redis_server(tmp_path):
    r = harness.Redis(str(tmp_path))
    yield r
    r.stop()


@pytest.fixture
def gantryd_factory(tmp_path, redis_server):
    """Starts gantryd instances against the test's redis-server, each in a
    database of its own (the first in 0): gantryd on one database are one
    group with one leader (test_ha.py), these are independent."""
    made = []

    def make(**kw):
        wd = tmp_path / f"gantryd{len(made)}"
        wd.mkdir()
        if made:
            kw["conf"] = dict(kw.get("conf") or {})
            kw["conf"]["redis"] = {"url": f"{redis_server.url}/{len(made)}",
                                   **kw["conf"].get("redis", {})}
        g = harness.Gantryd(str(wd), redis=redis_server, **kw)
        made.append(g)
        return g

    yield make
    for g in made:
        g.proc.kill()


@pytest.fixture
def gantryd(gantryd_factory):
    return gantryd_factory()


@pytest.fixture
def agent_factory(tmp_path):
    made = []

    def make(gantryd, worker_id, **kw):
        a = harness.Agent(str(tmp_path), gantryd, worker_id, **kw)
        made.append(a)
        return a

    yield make
    for a in made:
        a.proc.kill()
