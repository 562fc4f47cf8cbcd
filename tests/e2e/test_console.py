"""The console at / in a real browser: Debian's chromium driven headless by
python3-selenium against a real redis-server, gantryd, two agents and the
DCGM replay. The tests check what a person sees, save a screenshot of every
view (build/console-shots/, 1400x900 and 390x844), and fail on any error in
the browser's console. One browser and one cluster serve the whole module.
The last test checks the HTTP side: ETags, 304s, caching and gzip."""
import gzip
import os
import re
import shutil
import signal
import tempfile

import pytest
import requests

import harness
from harness import BUILD, submit, wait_task, wait_until

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.select import Select  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip("chromium and chromium-driver are not installed (scripts/deps.sh)", allow_module_level=True)

DATA_DIR = os.environ.get("GANTRY_DATA") or os.path.join(harness.ROOT, "..", "shared", "data")
DATA = os.path.join(DATA_DIR, "dcgm_metrics_20250718_134233.csv")
HAVE_DATA = bool(os.environ.get("GANTRY_DATA")) or os.path.exists(DATA)
needs_data = pytest.mark.skipif(not HAVE_DATA, reason=f"{DATA} not found and GANTRY_DATA not set")
SHOTS = os.path.join(harness.ROOT, "build", "console-shots")
DESKTOP, PHONE = (1400, 900), (390, 844)
TOKENS = "read:console-read-token,admin:console-admin-token"
CHROME_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync"]


class Cluster:
    """redis-server, gantryd (2 s heartbeat timeout), agents a1 and a2, and
    gantry-replay looping over the DCGM file (its 31 hosts as agents)."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.redis = harness.Redis(workdir)
        gdir = os.path.join(workdir, "gantryd")
        os.makedirs(gdir)
        self.g = harness.Gantryd(gdir, redis=self.redis, conf={
            "agents": {"heartbeat_timeout": "2s", "lost_after": "10m"},
            "tasks": {"cancel_grace": "2s"}})
        self.a1 = harness.Agent(workdir, self.g, "a1", interval="300ms", args=["--labels", "rack=r1,zone=z1"])
        self.a2 = harness.Agent(workdir, self.g, "a2", interval="300ms")
        self.procs = [self.redis.proc, self.g.proc, self.a1.proc, self.a2.proc]
        if HAVE_DATA:
            replay = harness.Proc("replay", [os.path.join(BUILD, "gantry-replay"), DATA, "--master",
                                             self.g.agent_addr, "--interval", "1s", "--loop"], workdir)
            self.procs.append(replay)
            wait_until(lambda: self.g.get("/api/v1/gpus?limit=1000").json()["total"] == 247, 30,
                       what="the replay's 247 GPUs")

    def stop(self):
        for p in reversed(self.procs):
            p.kill()
        harness.kill_strays([self.workdir])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(str(tmp_path_factory.mktemp("console")))
    yield c
    c.stop()


@pytest.fixture(scope="module")
def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        opts.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="gantry-chromium-")
    opts.add_argument(f"--user-data-dir={profile}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    d.console = []
    viewport(d, DESKTOP)
    os.makedirs(SHOTS, exist_ok=True)
    yield d
    d.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(autouse=True)
def no_console_errors(request, browser, cluster):
    """Every test ends with the browser's console read: an error there
    (SEVERE: an exception, a failed load, a refused WebSocket) fails it. On a
    failure, the tails of the module's process logs are printed."""
    yield
    entries = browser.get_log("browser")
    browser.console.extend(entries)
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed:
        for p in cluster.procs:
            print(f"\n----- {p.name} log: {p.log_path}\n{p.tail(40)}")
    severe = [e["message"] for e in entries if e["level"] == "SEVERE"]
    assert not severe, "errors in the browser console:\n" + "\n".join(severe)


def viewport(d, size):
    w, h = size
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": w < 600})


def shot(d, name):
    tag = "phone" if d.execute_script("return innerWidth") < 600 else "desktop"
    d.save_screenshot(os.path.join(SHOTS, f"{tag}-{name}.png"))


def wait(d, cond, timeout=20, what="the page"):
    """Waits for cond(d) to be true; elements replaced under us are retried."""
    def safe(drv):
        try:
            return cond(drv)
        except StaleElementReferenceException:
            return False
    return WebDriverWait(d, timeout, poll_frequency=0.1).until(safe, f"timed out waiting for {what}")


def css(d, selector):
    return d.find_elements(By.CSS_SELECTOR, selector)


def text(d, selector):
    els = css(d, selector)
    return els[0].text if els else ""


def open_view(d, cluster, hash_, ready, what):
    d.get(f"{cluster.g.url}/#/{hash_}")
    return wait(d, ready, what=what)


def worker_state(d, wid):
    els = css(d, f'tr[data-worker-id="{wid}"] .badge')
    return els[0].text if els else None


def y_axis_max(d, chart_index):
    """The largest value on a chart's y axis as the page draws it."""
    charts = css(d, ".chart")
    labels = charts[chart_index].find_elements(By.CSS_SELECTOR, ".dygraph-axis-label-y")
    values = [float(re.sub(r"[^0-9.]", "", l.text)) for l in labels if re.search(r"\d", l.text)]
    return max(values) if values else 0


def test_overview_shows_health_workers_and_live_charts(browser, cluster):
    d = browser
    expected = 33 if HAVE_DATA else 2
    open_view(d, cluster, "", lambda d: text(d, "#ov-workers") == str(expected), f"{expected} workers")
    assert text(d, "#ov-health") == "healthy"
    assert "redis up" in text(d, "#health")
    wait(d, lambda d: css(d, '[data-count="active"]') and
         css(d, '[data-count="active"]')[0].text.endswith(str(expected)), what="active count")
    # 2 agents at 300 ms and 31 replayed hosts at 1 s: well over 1 heartbeat/s
    wait(d, lambda d: y_axis_max(d, 0) > 2, 30, "the heartbeats chart to draw live rates")
    wait(d, lambda d: int(css(d, ".chart")[0].get_attribute("data-points")) >= 4 and
         int(css(d, ".chart")[2].get_attribute("data-points")) >= 4, 30, "a few seconds of live series")
    assert text(d, "#ov-queue") == "0"
    shot(d, "overview")


def test_workers_table_sorts_filters_and_shows_a_stopped_agent_inactive(browser, cluster):
    d = browser
    open_view(d, cluster, "workers", lambda d: len(css(d, "tr[data-worker-id]")) == (33 if HAVE_DATA else 2),
              "a row per worker")
    assert worker_state(d, "a1") == "active"
    css(d, 'th[data-sort="id"]')[0].click()          # descending by id
    wait(d, lambda d: css(d, "tr[data-worker-id]")[-1].get_attribute("data-worker-id") == "a1", what="a1 last")
    css(d, "input[type=search]")[0].send_keys("rack=r1")
    wait(d, lambda d: [r.get_attribute("data-worker-id") for r in css(d, "tr[data-worker-id]")
                       if r.is_displayed()] == ["a1"], what="only a1 to match its label")
    assert "sort=id" in d.current_url and "q=rack" in d.current_url
    d.get(f"{cluster.g.url}/#/workers")
    wait(d, lambda d: worker_state(d, "a1") == "active", what="a1 active")
    cluster.a1.proc.signal(signal.SIGSTOP)
    try:
        wait(d, lambda d: worker_state(d, "a1") == "inactive", 10, "a1 inactive on the page")
        assert worker_state(d, "a2") == "active"
        assert cluster.a1.state() == "inactive"
        shot(d, "workers")
    finally:
        cluster.a1.proc.signal(signal.SIGCONT)
    wait(d, lambda d: worker_state(d, "a1") == "active", 10, "a1 active again")


def test_worker_page_shows_resources_history_and_drains(browser, cluster):
    d = browser
    open_view(d, cluster, "workers/a1", lambda d: "rack=r1" in text(d, "#labels"), "a1's labels")
    wait(d, lambda d: y_axis_max(d, 0) > 0 and css(d, ".chart canvas"), what="the use chart")
    assert "cores" in text(d, ".cards .big")
    # The key beside the chart names each line in its colour.
    assert [e.text for e in css(d, ".chart .key span")] == ["CPU", "memory", "GPU"]
    swatches = [e.value_of_css_property("background-color") for e in css(d, ".chart .key i")]
    assert len(set(swatches)) == 3, swatches
    shot(d, "worker")
    d.find_element(By.ID, "drain").click()
    wait(d, lambda d: text(d, "h1 .badge") == "draining", what="draining on the page")
    assert cluster.g.get("/api/workers/a1").json()["draining"] is True
    d.find_element(By.ID, "drain").click()                # Resume
    wait(d, lambda d: text(d, "h1 .badge") == "active", what="active again")
    assert cluster.g.get("/api/workers/a1").json()["draining"] is False


def test_unregister_asks_then_removes_the_worker(browser, cluster):
    d = browser
    a3 = harness.Agent(cluster.workdir, cluster.g, "a3", interval="300ms")
    open_view(d, cluster, "workers/a3", lambda d: text(d, "h1 .badge") == "active", "a3 active")
    a3.proc.kill()              # a live agent would join again once removed
    wait(d, lambda d: text(d, "h1 .badge") == "offline", what="a3 offline on the page")
    button = d.find_element(By.ID, "unregister")
    button.click()
    assert button.text == "Really unregister?"
    assert "a3" in cluster.g.get("/workers").json()          # not yet: it asked first
    button.click()
    wait(d, lambda d: "not registered" in text(d, ".notice"), what="the worker gone from the page")
    assert "a3" not in cluster.g.get("/workers").json()
    open_view(d, cluster, "workers", lambda d: css(d, 'tr[data-worker-id="a1"]'), "the workers")
    assert not css(d, 'tr[data-worker-id="a3"]')


@needs_data
def test_gpu_heatmap_shows_the_whole_fleet_on_one_screen(browser, cluster):
    d = browser
    open_view(d, cluster, "gpus", lambda d: len(css(d, "[data-gpu-uuid]")) == 247, "247 GPU cells")
    assert len(css(d, ".host")) == 31
    assert text(d, "#gpu-count") == "247 GPUs on 31 hosts"
    counts = sorted(len(h.find_elements(By.CSS_SELECTOR, "[data-gpu-uuid]")) for h in css(d, ".host"))
    assert counts == [7] + [8] * 30
    wait(d, lambda d: d.execute_script(
        "return [...document.querySelectorAll('[data-gpu-uuid]')].filter(a => a.style.background).length") > 200,
        what="cells coloured by utilisation")
    bottom = d.execute_script(
        "return Math.max(...[...document.querySelectorAll('[data-gpu-uuid]')].map(a => a.getBoundingClientRect().bottom))")
    assert bottom <= DESKTOP[1], f"the last GPU cell ends at y={bottom}, below the screen"
    shot(d, "gpus")
    css(d, '[data-choice="temp"]')[0].click()
    wait(d, lambda d: "°C" in text(d, ".legend"), what="the temperature scale")
    uuid = "GPU-5fd4f087-86f3-7a43-b711-4771313afc50"
    cell = css(d, f'[data-gpu-uuid="{uuid}"]')[0]
    ActionChains(d).move_to_element(cell).perform()
    wait(d, lambda d: uuid in text(d, "#tip") and "temperature" in text(d, "#tip"), what="the hover card")
    assert "mtv5-dgx1-hgpu-031" in text(d, "#tip")
    shot(d, "gpus-hover")
    cell.click()
    wait(d, lambda d: uuid in text(d, "h1") and re.search(r"[1-9]\d* samples", text(d, ".bar-row .muted")),
         what="the GPU page with its samples")
    assert d.current_url.endswith(f"#/gpus/{uuid}")
    assert len(css(d, ".chart")) == 5
    wait(d, lambda d: text(d, '#gpu-latest [data-metric="gpu_utilization"]') not in ("", "–"), what="latest values")
    shot(d, "gpu")
    css(d, '[data-choice="60"]')[0].click()                # the last hour
    wait(d, lambda d: d.current_url.endswith("?window=1h") and
         css(d, '[data-choice="60"]')[0].get_attribute("aria-pressed") == "true" and
         re.search(r"[1-9]\d* samples", text(d, ".bar-row .muted")), what="the hour's samples")


def submit_from_form(d, cluster, command):
    open_view(d, cluster, "tasks", lambda d: css(d, "#submit-form"), "the submit form")
    box = css(d, '#submit-form [name="command"]')[0]
    box.clear()
    box.send_keys(command)
    css(d, "#submit-form button[type=submit]")[0].click()
    wait(d, lambda d: re.search(r"#/tasks/t-", d.current_url), what="the new task's page")
    return d.current_url.rsplit("/", 1)[1]


def test_task_submitted_from_the_form_completes_with_its_log(browser, cluster):
    d = browser
    tid = submit_from_form(d, cluster, "echo hello-from-console; sleep 0.5; echo second >&2")
    wait(d, lambda d: text(d, "#task-status") == "completed", 30, "completed on the page")
    wait(d, lambda d: "hello-from-console" in text(d, "#log") and "second" in text(d, "#log"),
         what="both log lines")
    assert "completed, exit code 0" in text(d, "#log")
    assert css(d, "#log .err")[0].text.strip() == "second"       # stderr shown apart
    assert harness.task(cluster.g, tid)["status"] == "completed"
    assert d.find_element(By.ID, "cancel").get_attribute("disabled") is not None
    shot(d, "task")
    open_view(d, cluster, "tasks", lambda d: css(d, f'tr[data-task-id="{tid}"]'), "the task in the list")
    Select(d.find_element(By.ID, "task-status-filter")).select_by_value("completed")
    wait(d, lambda d: css(d, f'tr[data-task-id="{tid}"]') and
         all(b.text == "completed" for b in css(d, "#tasks-table tbody .badge")), what="completed tasks only")
    shot(d, "tasks")


def test_cancel_stops_a_running_task(browser, cluster):
    d = browser
    tid = submit_from_form(d, cluster, "echo started; sleep 120")
    wait(d, lambda d: text(d, "#task-status") == "running" and "started" in text(d, "#log"), 30, "running")
    assert sleepers(cluster.workdir)
    button = d.find_element(By.ID, "cancel")
    button.click()
    assert harness.task(cluster.g, tid)["status"] == "running"    # the first click only asks
    button.click()
    wait(d, lambda d: text(d, "#task-status") == "cancelled", 20, "cancelled on the page")
    assert wait_task(cluster.g, tid)["status"] == "cancelled"
    wait(d, lambda d: "cancelled" in text(d, "#log"), what="the log's end")
    wait_until(lambda: not sleepers(cluster.workdir), 10, what="the task's process to end")


def sleepers(workdir):
    """Processes running `sleep 120` under workdir."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            if argv[:2] == [b"sleep", b"120"] and os.readlink(f"/proc/{pid}/cwd").startswith(workdir) \
                    and harness.pid_alive(int(pid)):
                found.append(pid)
        except OSError:
            pass
    return found


def test_a_waiting_task_shows_why(browser, cluster):
    d = browser
    tid = submit(cluster.g, {"command": "true", "gpu_required": 64})
    open_view(d, cluster, f"tasks/{tid}", lambda d: css(d, "#task-reason") and css(d, "#task-reason")[0].is_displayed(),
              "the waiting reason")
    assert text(d, "#task-status") == "queued"
    assert text(d, "#task-reason") == "Waiting: no worker with 64 free GPUs"
    shot(d, "task-waiting")
    button = d.find_element(By.ID, "cancel")
    button.click()
    button.click()
    wait(d, lambda d: text(d, "#task-status") == "cancelled" and not css(d, "#task-reason")[0].is_displayed(),
         what="cancelled, no longer waiting")


def test_deep_links_survive_a_reload(browser, cluster):
    d = browser
    tid = submit(cluster.g, {"command": "echo deep-link"})
    wait_task(cluster.g, tid)
    links = [(f"tasks/{tid}", lambda d: tid in text(d, "h1") and text(d, "#task-status") == "completed"),
             ("workers/a2", lambda d: text(d, "h1").startswith("a2"))]
    if HAVE_DATA:
        uuid = "GPU-5fd4f087-86f3-7a43-b711-4771313afc50"
        links.append((f"gpus/{uuid}", lambda d: uuid in text(d, "h1") and "mtv5-dgx1-hgpu-031" in text(d, ".sub")))
    for path, ready in links:
        open_view(d, cluster, path, ready, path)
        d.refresh()
        wait(d, ready, what=f"{path} after a reload")
        assert d.current_url.endswith(f"#/{path}")


def test_events_view_streams_and_filters(browser, cluster):
    d = browser
    open_view(d, cluster, "events?kind=task.", lambda d: css(d, "#events-table"), "the events")
    tid = submit(cluster.g, {"command": "true"})
    wait(d, lambda d: any(r.get_attribute("data-type") == "task.completed" for r in
                          css(d, f'#events-table tr[data-event-id]') if tid in r.text), what="the task's events live")
    assert all(r.get_attribute("data-type").startswith("task.") for r in css(d, "#events-table tr[data-event-id]"))
    search = css(d, "input[type=search]")[0]
    search.send_keys(tid)
    wait(d, lambda d: {r.get_attribute("data-type") for r in css(d, "#events-table tr[data-event-id]")} >=
         {"task.queued", "task.running", "task.completed"} and
         all(tid in r.text for r in css(d, "#events-table tr[data-event-id]")), what="only that task's events")
    shot(d, "events")


def test_every_view_fits_a_phone(browser, cluster):
    d = browser
    viewport(d, PHONE)
    try:
        views = [("", "overview", lambda d: text(d, "#ov-workers") not in ("", "0")),
                 ("workers", "workers", lambda d: css(d, "tr[data-worker-id]")),
                 ("workers/a1", "worker", lambda d: "rack=r1" in text(d, "#labels")),
                 ("tasks", "tasks", lambda d: css(d, "#tasks-table tr[data-task-id]")),
                 ("events", "events", lambda d: css(d, "#events-table tr[data-event-id]"))]
        if HAVE_DATA:
            views.append(("gpus", "gpus", lambda d: len(css(d, "[data-gpu-uuid]")) == 247))
            views.append(("gpus/GPU-5fd4f087-86f3-7a43-b711-4771313afc50", "gpu",
                          lambda d: re.search(r"[1-9]\d* samples", text(d, ".bar-row .muted"))))
        tid = submit(cluster.g, {"command": "echo on a phone"})
        wait_task(cluster.g, tid)
        views.append((f"tasks/{tid}", "task", lambda d: text(d, "#task-status") != ""))
        for path, name, ready in views:
            open_view(d, cluster, path, ready, name)
            wide = d.execute_script("return document.documentElement.scrollWidth")
            assert wide <= PHONE[0], f"{name} is {wide}px wide on a {PHONE[0]}px phone"
            shot(d, name)
    finally:
        viewport(d, DESKTOP)


def test_login_prompt_when_tokens_are_set(browser, gantryd_factory, agent_factory):
    d = browser
    g = gantryd_factory(conf={"http": {"tokens": TOKENS}})
    agent_factory(g, "t1", interval="300ms", wait=False)
    admin = {"Authorization": "Bearer console-admin-token"}
    wait_until(lambda: g.get("/workers", headers=admin).json().get("t1", {}).get("state") == "active", 15,
               what="t1 active")
    d.get(f"{g.url}/#/workers")
    wait(d, lambda d: css(d, "#login") and css(d, "#login")[0].is_displayed(), what="the sign-in form")
    shot(d, "login")
    viewport(d, PHONE)
    shot(d, "login")
    viewport(d, DESKTOP)
    box = d.find_element(By.ID, "login-token")
    box.send_keys("not-a-token\n")
    wait(d, lambda d: "not accepted" in text(d, "#login-error"), what="the refusal")
    box.clear()
    box.send_keys("console-read-token\n")
    wait(d, lambda d: not css(d, "#login")[0].is_displayed() and worker_state(d, "t1") == "active",
         what="the workers behind the sign-in")
    wait(d, lambda d: text(d, "#live") == "live", what="the WebSocket with the token")
    d.refresh()                                            # kept in the tab: not asked again
    wait(d, lambda d: worker_state(d, "t1") == "active", what="the workers after a reload")
    assert not css(d, "#login")[0].is_displayed()
    d.get(f"{g.url}/#/tasks")
    wait(d, lambda d: css(d, "#submit-form button[type=submit]"), what="the form")
    assert css(d, "#submit-form button[type=submit]")[0].get_attribute("disabled") is not None  # read only
    css(d, "#signout")[0].click()
    wait(d, lambda d: css(d, "#login")[0].is_displayed(), what="the sign-in form after signing out")


def test_page_and_assets_are_cached_and_compressed(cluster):
    g = cluster.g
    plain = requests.get(g.url + "/", headers={"Accept-Encoding": "identity"}, timeout=5)
    assert plain.status_code == 200 and plain.text.startswith("<!doctype html>")
    assert "Content-Encoding" not in plain.headers and plain.headers["Vary"] == "Accept-Encoding"
    assert plain.headers["Cache-Control"] == "no-cache"
    assert "default-src 'self'" in plain.headers["Content-Security-Policy"]
    etag = plain.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{20}"', etag)
    raw = requests.get(g.url + "/", headers={"Accept-Encoding": "gzip"}, stream=True, timeout=5)
    body = raw.raw.read()
    assert raw.headers["Content-Encoding"] == "gzip" and raw.headers["ETag"] != etag
    assert gzip.decompress(body) == plain.content and len(body) < len(plain.content)
    again = requests.get(g.url + "/", headers={"Accept-Encoding": "identity", "If-None-Match": etag}, timeout=5)
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
    assert requests.get(g.url + "/", headers={"Accept-Encoding": "identity", "If-None-Match": '"other"'},
                        timeout=5).status_code == 200
    # The page names its assets under the build's version; those are kept.
    version = re.search(r'/ui/([0-9a-f]{12})/app\.js', plain.text).group(1)
    for name, ctype in (("app.js", "text/javascript"), ("style.css", "text/css"), ("dygraph.min.js", "text/javascript")):
        url = f"{g.url}/ui/{version}/{name}"
        r = requests.get(url, timeout=5)                    # requests accepts gzip
        assert r.status_code == 200 and r.headers["Content-Type"].startswith(ctype)
        assert r.headers["Content-Encoding"] == "gzip"
        assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert requests.get(url, headers={"If-None-Match": r.headers["ETag"]}, timeout=5).status_code == 304
        head = requests.head(url, headers={"Accept-Encoding": "identity"}, timeout=5)
        assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(
            requests.get(url, headers={"Accept-Encoding": "identity"}, timeout=5).content)
    debian = "/usr/share/javascript/dygraphs/dygraph.min.js"
    with open(debian, "rb") as f:
        assert requests.get(f"{g.url}/ui/{version}/dygraph.min.js", timeout=5).content == f.read()
    old = requests.get(f"{g.url}/ui/000000000000/app.js", timeout=5)
    assert old.status_code == 200 and old.headers["Cache-Control"] == "no-cache"
    missing = requests.get(f"{g.url}/ui/{version}/nope.js", timeout=5)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ASSET_NOT_FOUND"
    assert requests.get(g.url + "/ui/session", timeout=5).json() == {"auth_required": False, "role": "admin"}
