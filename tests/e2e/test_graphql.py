"""POST /graphql, GET /graphql and the explorer against real processes, with
Debian's graphql-core 2.3.2 (the Python port of graphql-js) as the judge:
it builds a client schema from Gantry's introspection answer, every query
sent here must validate against that schema in graphql-core first (and every
query Gantry refuses, graphql-core refuses too), and each answer must equal
what the REST routes return for the same data: the replayed DCGM file's 247
GPUs on 31 hosts, workers, tasks, logs, events."""
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest
import requests
from graphql import introspection_query, parse, validate
from graphql.utils.build_client_schema import build_client_schema

import harness
from harness import BUILD, wait_until

DATA_DIR = os.environ.get("GANTRY_DATA") or os.path.join(harness.ROOT, "..", "shared", "data")
DATA = os.path.join(DATA_DIR, "dcgm_metrics_20250718_134233.csv")
HAVE_DATA = bool(os.environ.get("GANTRY_DATA")) or os.path.exists(DATA)
needs_data = pytest.mark.skipif(not HAVE_DATA, reason=f"{DATA} not found and GANTRY_DATA not set")
READ, ADMIN = "gql-read-token", "gql-admin-token"
TOKENS = f"read:{READ},admin:{ADMIN}"
UUID = "GPU-5fd4f087-86f3-7a43-b711-4771313afc50"
DOCS = os.path.join(harness.ROOT, "docs", "graphql.md")

SCHEMA = {}         # the client schema graphql-core built, once per module


def camel(name):
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def client_schema(g):
    if "schema" not in SCHEMA:
        r = g.post("/graphql", {"query": introspection_query}, headers=auth(READ))
        assert r.status_code == 200 and "errors" not in r.json(), r.text
        SCHEMA["schema"] = build_client_schema(r.json()["data"])
    return SCHEMA["schema"]


def auth(token):
    return {"Authorization": f"Bearer {token}"} if token else {}


def graphql_core_errors(g, query):
    try:
        return [e.message for e in validate(client_schema(g), parse(query))]
    except Exception as e:          # a syntax error
        return [str(e)]


def gql(g, query, variables=None, op=None, token=READ, status=200):
    """Checks query against graphql-core's client schema, then posts it;
    returns the answer's JSON."""
    assert graphql_core_errors(g, query) == [], query
    r = g.post("/graphql", {"query": query, "variables": variables, "operationName": op},
               headers=auth(token), timeout=30)
    assert r.status_code == status, r.text
    return r.json()


def data(g, query, variables=None, op=None, token=READ):
    answer = gql(g, query, variables, op, token)
    assert "errors" not in answer, answer
    return answer["data"]


def refused(g, query, variables=None, status=400, token=READ, core_refuses=True):
    """Posts a query Gantry refuses; returns its errors. graphql-core must
    refuse it too (core_refuses), unless variables are given (they are
    checked when the query runs), or it is refused for a limit."""
    if variables is None:
        assert bool(graphql_core_errors(g, query)) == core_refuses, query[:200]
    r = g.post("/graphql", {"query": query, "variables": variables}, headers=auth(token),
               timeout=30)
    assert r.status_code == status, r.text[:500]
    assert "data" not in r.json()
    return r.json()["errors"]


def rest(g, path):
    r = g.get(path, headers=auth(READ))
    assert r.status_code == 200, (path, r.text)
    return r.json()


def as_graphql(obj, fields, renames=None):
    """A REST object with the keys a GraphQL selection names (camelCase;
    absent members are null there)."""
    renames = renames or {}
    back = {camel(k): k for k in obj}
    back.update({v: k for k, v in renames.items()})
    return {f: obj.get(back.get(f, f)) for f in fields}


class Replayed:
    """redis-server, gantryd with read and admin tokens, and one pass of
    gantry-replay over the DCGM file with its own timestamps (its 31 hosts
    then stay, offline, so nothing changes under the comparisons)."""

    def __init__(self, workdir):
        self.redis = harness.Redis(workdir)
        gdir = os.path.join(workdir, "gantryd")
        os.makedirs(gdir)
        self.g = harness.Gantryd(gdir, redis=self.redis, conf={
            "http": {"tokens": TOKENS}, "agents": {"heartbeat_timeout": "60s"}})
        r = subprocess.run([os.path.join(BUILD, "gantry-replay"), DATA, "--master",
                            self.g.agent_addr, "--interval", "50ms", "--keep-timestamps"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and "GPUs 247" in r.stderr, r.stderr

    def stop(self):
        self.g.proc.kill()
        self.redis.stop()


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    if not HAVE_DATA:
        pytest.skip(f"{DATA} not found and GANTRY_DATA not set")
    c = Replayed(str(tmp_path_factory.mktemp("graphql")))
    yield c.g
    c.stop()


@needs_data
def test_introspection_builds_a_client_schema_and_the_sdl_is_documented(replayed):
    schema = client_schema(replayed)
    query = schema.get_query_type().fields
    assert set(query) == {"gpus", "gpu", "hosts", "host", "clusters", "cluster", "workers",
                          "worker", "tasks", "task", "events"}
    assert set(schema.get_mutation_type().fields) == {"submitTask", "cancelTask", "drainWorker"}
    assert set(query["gpus"].args) == {"hostname", "limit", "offset"}
    assert set(query["hosts"].args) == set(schema.get_type("Host").fields["gpus"].args) == {
        "limit", "offset"}
    assert set(query["tasks"].args) == {"status", "workerId", "limit"}
    gpu = schema.get_type("GPU").fields
    assert set(gpu["telemetry"].args) == {"startTime", "endTime", "limit", "order"}
    assert {"gpuUtilization", "memoryUtilization", "memoryUsedMb", "memoryFreeMb", "temperature",
            "powerDraw", "smClockMhz", "memoryClockMhz", "encoderUtilization",
            "decoderUtilization"} <= set(schema.get_type("GPUSample").fields)
    assert {"gpus", "runningTasks", "metrics"} <= set(schema.get_type("Worker").fields)
    assert "logs" in schema.get_type("Task").fields
    sdl = replayed.get("/graphql/schema.graphql")
    assert sdl.status_code == 200 and sdl.headers["content-type"].startswith("text/plain")
    with open(DOCS) as f:
        documented = re.search(r"```graphql\n(.*?)```", f.read(), re.S).group(1)
    assert documented == sdl.text


@needs_data
def test_the_seed_queries_answer_what_rest_answers(replayed):
    g = replayed
    fields = ["id", "uuid", "hostname", "name", "device", "status"]
    gpus = data(g, "{ gpus { id uuid hostname name device status } }")["gpus"]
    rest_gpus = rest(g, "/api/v1/gpus?limit=1000")["data"]
    assert len(gpus) == 247 and gpus == [as_graphql(x, fields) for x in rest_gpus]

    one = data(g, '{ gpu(uuid: "%s") { id uuid hostname name telemetry(limit: 10) { timestamp '
                  'gpuUtilization memoryUtilization temperature powerDraw } } }' % UUID)["gpu"]
    rest_one = [x for x in rest_gpus if x["uuid"] == UUID][0]
    samples = rest(g, f"/api/v1/gpus/{UUID}/telemetry?limit=10")["data"]
    assert len(samples) == 4
    assert {k: one[k] for k in ["id", "uuid", "hostname", "name"]} == as_graphql(rest_one, fields[:4])
    assert one["telemetry"] == [as_graphql(s, ["timestamp", "gpuUtilization", "memoryUtilization",
                                               "temperature", "powerDraw"]) for s in samples]

    clusters = data(g, "{ clusters { id hosts { hostname gpus { id uuid name status } } } }")
    [cluster] = clusters["clusters"]
    assert cluster["id"] == "default"
    hosts = sorted(h["hostname"] for h in rest(g, "/api/v1/hosts")["data"])
    assert len(hosts) == 31 and [h["hostname"] for h in cluster["hosts"]] == hosts
    for h in cluster["hosts"]:
        rest_host = rest(g, f"/api/v1/hosts/{h['hostname']}/gpus")["data"]
        assert h["gpus"] == [as_graphql(x, ["id", "uuid", "name", "status"]) for x in rest_host]


@needs_data
def test_every_sample_field_and_windows_equal_rest(replayed):
    g = replayed
    metrics = ["gpuUtilization", "memoryUtilization", "memoryUsedMb", "memoryFreeMb", "temperature",
               "powerDraw", "smClockMhz", "memoryClockMhz", "encoderUtilization", "decoderUtilization"]
    every = ["timestamp", "gpuId", "uuid", "device", "modelName", "hostname"] + metrics
    q = "query($u: String!, $s: String, $e: String, $o: Order) { gpu(uuid: $u) { " \
        "telemetry(startTime: $s, endTime: $e, order: $o) { %s } } }" % " ".join(every)
    full = data(g, q, {"u": UUID})["gpu"]["telemetry"]
    samples = rest(g, f"/api/v1/gpus/{UUID}/telemetry")["data"]
    assert full == [as_graphql(s, every) for s in samples]
    window = data(g, q, {"u": UUID, "s": "2025-07-18T20:42:35Z", "e": "2025-07-18T20:42:36Z"})
    rest_window = rest(g, f"/api/v1/gpus/{UUID}/telemetry?start_time=2025-07-18T20:42:35Z"
                          "&end_time=2025-07-18T20:42:36Z")["data"]
    assert [s["timestamp"] for s in window["gpu"]["telemetry"]] == \
        [s["timestamp"] for s in rest_window] == ["2025-07-18T20:42:35Z", "2025-07-18T20:42:36Z"]
    latest = data(g, "query($u: String!) { gpu(uuid: $u) { telemetry(limit: 2, order: DESC) "
                     "{ timestamp } } }", {"u": UUID})["gpu"]["telemetry"]
    assert [s["timestamp"] for s in latest] == [s["timestamp"] for s in samples[::-1][:2]]
    # the same answer by GET, variables and operation name in the query string
    r = g.get("/graphql", params={"query": "query A { hosts { id } } query B($u: String!) "
                                           "{ gpu(uuid: $u) { uuid } }",
                                  "variables": json.dumps({"u": UUID}), "operationName": "B"},
              headers=auth(READ))
    assert r.status_code == 200 and r.json() == {"data": {"gpu": {"uuid": UUID}}}


@needs_data
def test_the_language(replayed):
    g = replayed
    q = """
    query Pick($host: String!, $first: Int = 2, $withDevice: Boolean!, $skipName: Boolean = true) {
      __typename
      some: gpus(hostname: $host, limit: $first) { ...Ids ... on GPU { device @include(if: $withDevice) }
                                                   name @skip(if: $skipName) }
      other: gpus(hostname: $host, limit: 1, offset: 7) { uuid, __typename }
      host(hostname: $host) { gpuCount cluster { id } }
      nobody: gpu(uuid: "GPU-none") { uuid }
    }
    fragment Ids on GPU { gpuIndex: id uuid }
    query Unused { hosts { id } }
    """
    got = data(g, q, {"host": "mtv5-dgx1-hgpu-012", "withDevice": True}, op="Pick")
    rest_gpus = rest(g, "/api/v1/gpus?hostname=mtv5-dgx1-hgpu-012")["data"]
    assert got["__typename"] == "Query"
    assert got["some"] == [{"gpuIndex": x["id"], "uuid": x["uuid"], "device": x["device"]}
                           for x in rest_gpus[:2]]
    assert got["other"] == [] and len(rest_gpus) == 7
    assert got["host"] == {"gpuCount": 7, "cluster": {"id": "default"}} and got["nobody"] is None
    # literal arguments of the other kinds: ID (given as an Int), enums
    got = data(g, '{ a: gpus(limit: 1, offset: 0) { id } b: worker(id: 42) { id } '
                  'c: workers(state: offline) { id } d: tasks(status: queued, workerId: "w", '
                  'limit: 5) { id } }')
    assert len(got["a"]) == 1 and got["b"] is None and len(got["c"]) == 31 and got["d"] == []


@needs_data
def test_partial_results_keep_what_did_not_fail(replayed):
    g = replayed
    answer = gql(g, '{ hosts { id } gpu(uuid: "%s") { uuid telemetry(startTime: "yesterday") '
                    '{ timestamp } } }' % UUID)
    assert len(answer["data"]["hosts"]) == 31
    assert answer["data"]["gpu"] == {"uuid": UUID, "telemetry": None}
    [e] = answer["errors"]
    assert "RFC 3339" in e["message"] and e["path"] == ["gpu", "telemetry"]
    assert e["locations"] == [{"line": 1, "column": 77}]


@needs_data
def test_workers_and_events_equal_rest(replayed):
    g = replayed
    members = ["id", "hostname", "address", "state", "isActive", "labels", "lastHeartbeat",
               "registeredAt", "cpuUsage", "memoryUsage", "gpuUsage", "storageUsage",
               "runningTasksCount"]
    res = "{ cpu memory storage gpu }"
    workers = data(g, "{ workers { %s totalResources %s allocatedResources %s "
                      "availableResources %s } }" % (" ".join(members), res, res, res))["workers"]
    want = [as_graphql(w, members + ["totalResources", "allocatedResources", "availableResources"],
                       {"worker_id": "id"}) for w in rest(g, "/api/workers")["workers"]]
    assert len(workers) == 31 and workers == want
    one = data(g, '{ worker(id: "mtv5-dgx1-hgpu-031") { gpus { uuid } runningTasks { taskId } '
                  'metrics(limit: 3) { id timestamp cpuUsage gpuUsage seq } } }')["worker"]
    detail = rest(g, "/api/workers/mtv5-dgx1-hgpu-031")
    assert [x["uuid"] for x in one["gpus"]] == [x["uuid"] for x in detail["gpus"]]
    assert one["runningTasks"] == []
    history = rest(g, "/api/workers/mtv5-dgx1-hgpu-031/metrics?limit=3")["metrics"]
    assert len(history) == 3
    assert one["metrics"] == [as_graphql(m, ["id", "timestamp", "cpuUsage", "gpuUsage", "seq"])
                              for m in history]
    fields = ["id", "type", "time", "workerId", "taskId", "status", "attempts"]
    events = data(g, "{ events(limit: 40) { %s } }" % " ".join(fields))["events"]
    rest_events = rest(g, "/api/events?limit=40")["events"]
    assert len(events) == 40 and events == [as_graphql(e, fields) for e in rest_events]
    after = data(g, '{ events(since: "%s", limit: 5) { id } }' % events[34]["id"])["events"]
    assert [e["id"] for e in after] == [e["id"] for e in events[35:40]]


@needs_data
def test_auth(replayed):
    g = replayed
    q = {"query": "{ hosts { id } }"}
    assert g.post("/graphql", q).status_code == 401
    assert g.post("/graphql", q, headers=auth("wrong")).status_code == 401
    assert g.get("/graphql", params=q).status_code == 401
    assert g.get("/graphql", params=q, headers=auth(READ)).status_code == 200
    m = "mutation { drainWorker(id: \"mtv5-dgx1-hgpu-031\") { state } }"
    assert refused(g, m, {}, status=403)[0]["message"] == "Mutations need an admin token."
    r = g.get("/graphql", params={"query": m}, headers=auth(ADMIN))
    assert r.status_code == 405 and r.json()["errors"][0]["message"] == "Mutations are sent with POST."
    assert rest(g, "/api/workers/mtv5-dgx1-hgpu-031")["draining"] is False
    page = g.get("/graphql")          # the explorer and the SDL need no token
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert g.get("/graphql/schema.graphql").status_code == 200


def good_client(g, stop, results):
    """Asks a small query over and over, timing each answer, until stop."""
    s = requests.Session()
    s.headers.update(auth(READ))
    while not stop.is_set():
        t = time.monotonic()
        r = s.post(g.url + "/graphql", json={"query": "{ gpu(uuid: \"%s\") { uuid } }" % UUID},
                   timeout=30)
        results.append((r.status_code, r.json(), time.monotonic() - t))


@needs_data
def test_bad_documents_get_graphql_errors_and_cost_the_others_nothing(replayed):
    g = replayed
    stop, results = threading.Event(), []
    t = threading.Thread(target=good_client, args=(g, stop, results))
    t.start()
    try:
        [e] = refused(g, "{ gpus { id }")
        assert e["message"] == "Syntax Error: Expected Name, found <EOF>."
        assert e["locations"] == [{"line": 1, "column": 14}]
        [e] = refused(g, "query {\n  gpus { id\n    uuid\n  } }\n}")
        assert e["locations"] == [{"line": 5, "column": 1}] and "Syntax Error" in e["message"]
        [e] = refused(g, "{ gpus { nope } }")
        assert e["message"] == 'Cannot query field "nope" on type "GPU".'
        assert e["locations"] == [{"line": 1, "column": 10}]
        [e] = refused(g, '{ gpus(limit: "ten") { id } }')
        assert 'Argument "limit" has an invalid value' in e["message"]
        [e] = refused(g, "{ gpu(uuid: 7) { id } }")
        assert "Expected a value of type String" in e["message"]
        [e] = refused(g, "query($u: String!) { gpu(uuid: $u) { id } }", {})
        assert e["message"] == 'Variable "$u" of required type String! was not provided.'
        assert graphql_core_errors(g, "query($u: String!) { gpu(uuid: $u) { id } }") == []
        [e] = refused(g, "query($n: Int) { gpus(limit: $n) { id } }", {"n": "many"})
        assert "Int cannot represent" in e["message"]
        deep = "{ gpus " * 1000 + "}" * 1000
        errors = refused(g, deep)       # graphql-core: too deep for Python's recursion
        assert any("limit max_" in e["message"] for e in errors), errors
        [e] = refused(g, "{ gpus { ...A } } fragment A on GPU { host { gpus { ...B } } } "
                         "fragment B on GPU { ...A }")
        assert e["message"].startswith('Cannot spread fragment "A" within itself')
        huge = "{ gpus { id } }" + " " * (1 << 20)
        r = g.post("/graphql", {"query": huge}, headers=auth(READ))
        assert r.status_code == 413
        assert r.json() == {"errors": [{"message": "The request is larger than 1048576 bytes "
                                                   "(limit http.max_body_size)."}]}
        r = g.post("/graphql", {"query": "{ hosts { id } }", "variables": [1]}, headers=auth(READ))
        assert r.status_code == 400 and "errors" in r.json()
        r = requests.post(g.url + "/graphql", data="{nope", headers={
            **auth(READ), "Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["errors"][0]["message"].startswith("The body is not JSON")
    finally:
        stop.set()
        t.join()
    assert results and all(s == 200 and j == {"data": {"gpu": {"uuid": UUID}}} for s, j, _ in results)
    print(f"good client: {len(results)} answers meanwhile, the slowest in "
          f"{max(t for _, _, t in results) * 1000:.1f} ms")
    assert harness.pid_alive(g.proc.pid)


@needs_data
def test_limits_are_graphql_errors_naming_them(replayed):
    g = replayed
    def nested(pairs, leaf):            # gpus, then pairs x (host, gpus), then leaf
        return "{ gpus(limit: 1) " + "{ host { gpus(limit: 1) " * pairs + leaf + " } }" * pairs + " }"
    [e] = refused(g, nested(7, "{ id }"), core_refuses=False)          # 16 fields deep
    assert e["message"] == "The query nests fields deeper than 15 levels (limit max_depth)."
    assert data(g, nested(6, "{ host { id } }"))                      # 15 fields deep
    wide = "{ gpus { %s } }" % " ".join(f"a{i}: uuid" for i in range(100))   # 24,947 fields
    answer = gql(g, wide)
    assert any("(limit max_fields)" in e["message"] for e in answer["errors"])
    answer = gql(g, "{ gpus { uuid telemetry(limit: 1000) { timestamp } } }")
    errors = [e for e in answer["errors"] if "(limit max_points)" in e["message"]]
    assert len(errors) == 147            # 100 GPUs x 1,000 points fit in 100,000
    assert errors[0]["message"] == "The request asks for more than 100000 points (limit max_points)."
    [e] = refused(g, "{ " + " ".join(f"a{i}: hosts {{ id }}" for i in range(3000)) + " }",
                  core_refuses=False)
    assert "(limit max_tokens)" in e["message"]


@needs_data
def test_the_explorer_needs_no_network(replayed):
    g = replayed
    page = g.get("/graphql")
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    refs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert {r.rsplit("/", 1)[-1] for r in refs} >= {"explorer.js", "explorer.css"}
    for ref in refs:
        assert ref.startswith("/"), ref          # nothing from elsewhere
        assert g.get(ref).status_code == 200, ref
    script = g.get([r for r in refs if r.endswith("explorer.js")][0]).text
    assert "fetch('/graphql'" in script and "://" not in script


def test_docs_examples_run_as_written(gantryd_factory, agent_factory):
    """Every curl command of docs/graphql.md, run by a shell against a real
    gantryd (G set to its address, as the docs say), answers
    without errors."""
    g = gantryd_factory()
    agent_factory(g, "w1")
    with open(DOCS) as f:
        blocks = re.findall(r"```sh\n(.*?)```", f.read(), re.S)
    commands = [b for b in blocks if "curl" in b]
    assert len(commands) >= 5
    for cmd in commands:
        out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=30,
                             env=dict(os.environ, G=g.url))
        assert out.returncode == 0, (cmd, out.stderr)
        if out.stdout.lstrip().startswith("{"):
            assert "errors" not in json.loads(out.stdout), (cmd, out.stdout)
        else:
            assert "type Query" in out.stdout or "<!doctype html>" in out.stdout, (cmd, out.stdout)


TASK_FIELDS = ["id", "status", "dockerImage", "command", "env", "cpuRequired", "memoryRequired",
               "gpuRequired", "gpuModel", "storageRequired", "priority", "userId", "tag", "labels",
               "pinnedWorker", "maxAttempts", "timeout", "workerId", "attempts", "exitCode", "reason",
               "createdAt", "assignedAt", "startedAt", "finishedAt", "logDroppedBytes"]
TASK_QUERY = "%s assignment { workerId gpus assignedAt gpuShare } result { status exitCode reason " \
             "finishedAt }" % " ".join(TASK_FIELDS)


def rest_task(t):
    out = as_graphql(t, TASK_FIELDS, {"task_id": "id"})
    out["assignment"] = t["assignment"] and as_graphql(t["assignment"], ["workerId", "gpus",
                                                                         "assignedAt", "gpuShare"])
    out["result"] = t["result"] and as_graphql(t["result"], ["status", "exitCode", "reason",
                                                             "finishedAt"])
    return out


def submit(g, variables, token=ADMIN):
    q = "mutation Run($in: TaskInput!) { submitTask(input: $in) { taskId status } }"
    return gql(g, q, {"in": variables}, token=token)


def test_mutations_write_once_and_answer_as_rest_does(gantryd_factory, agent_factory, redis_server):
    g = gantryd_factory(conf={"tasks": {"cancel_grace": "1s"}})      # no tokens: loopback, open
    agent_factory(g, "w1")
    done = submit(g, {"command": ["sh", "-c", "echo hello; echo oops >&2"], "cpuRequired": 0.5,
                      "labels": {}, "tag": "gql"})["data"]["submitTask"]
    assert done["status"] == "queued" and redis_server.cli("EXISTS", f"gantry:task:{done['taskId']}") == "(integer) 1"
    two = gql(g, "mutation { a: submitTask(input: {command: [\"true\"], cpuRequired: 0.25}) { taskId } "
                 "b: submitTask(input: {command: \"sleep 30\", priority: 9}) { taskId task { id "
                 "command priority } } }", token=ADMIN)["data"]
    a, b = two["a"]["taskId"], two["b"]["taskId"]
    assert a != b and two["b"]["task"] == {"id": b, "command": "sleep 30", "priority": 9}
    tasks = rest(g, "/api/tasks?limit=1000")["tasks"]
    assert sorted(t["task_id"] for t in tasks) == sorted([done["taskId"], a, b])   # once each
    [e] = submit(g, {"command": ["true"], "cpuRequired": -1})["errors"]
    assert e["message"].startswith("input.cpuRequired: cpu_required must be greater than 0")
    assert e["path"] == ["submitTask"]
    ran = harness.wait_task(g, done["taskId"], "completed")
    q = "query($id: ID!) { task(id: $id) { %s logs { id ts stream data } worker { id } } }" % TASK_QUERY
    t = data(g, q, {"id": done["taskId"]})["task"]
    logs = rest(g, f"/api/tasks/{done['taskId']}/logs")["logs"]
    assert {k: v for k, v in t.items() if k not in ("logs", "worker")} == rest_task(ran)
    assert t["logs"] == logs and {(x["stream"], x["data"]) for x in logs} == {
        ("stdout", "hello\n"), ("stderr", "oops\n")}
    assert t["worker"] == {"id": "w1"}
    listed = data(g, "{ tasks(status: completed, workerId: \"w1\") { %s } }" % TASK_QUERY)["tasks"]
    assert listed == [rest_task(x) for x in rest(g, "/api/tasks?status=completed&worker_id=w1")["tasks"]]
    harness.wait_task(g, b, "running")
    cancel = "mutation($id: ID!) { cancelTask(id: $id, grace: \"1s\") { taskId status cancelRequested } }"
    got = gql(g, cancel, {"id": b}, token=ADMIN)["data"]["cancelTask"]
    assert got["taskId"] == b and got["cancelRequested"] is True
    harness.wait_task(g, b, "cancelled")
    [e] = gql(g, cancel, {"id": b}, token=ADMIN)["errors"]
    assert e["message"] == f"Task {b} is cancelled already."
    drain = "mutation { drainWorker(id: \"w1\") { workerId state draining runningTasksCount " \
            "worker { state draining } } }"
    got = gql(g, drain, token=ADMIN)["data"]["drainWorker"]
    assert got == {"workerId": "w1", "state": "draining", "draining": True, "runningTasksCount": 0,
                   "worker": {"state": "draining", "draining": True}}
    assert rest(g, "/api/workers/w1")["draining"] is True


def test_a_submission_answers_only_once_redis_holds_it(gantryd_factory, redis_server):
    g = gantryd_factory(conf={"http": {"tokens": TOKENS}})
    answers = []
    redis_server.proc.signal(signal.SIGSTOP)
    try:
        t = threading.Thread(target=lambda: answers.append(submit(g, {"command": ["true"]})))
        t.start()
        t.join(1.0)
        assert t.is_alive() and answers == []       # no answer while Redis cannot confirm
    finally:
        redis_server.proc.signal(signal.SIGCONT)
    t.join(30)
    task_id = answers[0]["data"]["submitTask"]["taskId"]
    assert redis_server.cli("EXISTS", f"gantry:task:{task_id}") == "(integer) 1"


def test_a_task_gone_from_memory_is_read_from_redis(gantryd_factory, agent_factory):
    g = gantryd_factory(conf={"tasks": {"keep_finished": "1"}})
    agent_factory(g, "w1")
    first = harness.submit(g, {"command": ["echo", "first"]})
    harness.wait_task(g, first, "completed")
    second = harness.submit(g, {"command": ["true"]})
    harness.wait_task(g, second, "completed")
    wait_until(lambda: first not in {t["task_id"] for t in g.get("/api/tasks").json()["tasks"]},
               what="the first task to leave memory")
    stored = rest(g, f"/api/tasks/{first}")
    q = "query($id: ID!) { task(id: $id) { %s logs { data } } none: task(id: \"t-none\") { id } }" \
        % TASK_QUERY
    got = data(g, q, {"id": first})
    assert got["none"] is None and got["task"]["logs"] == [{"data": "first\n"}]
    assert {k: v for k, v in got["task"].items() if k != "logs"} == rest_task(stored)


def test_history_fields_fail_alone_while_redis_is_away(gantryd_factory, agent_factory, redis_server):
    g = gantryd_factory(conf={"redis": {"reply_timeout": "500ms"}})
    agent_factory(g, "w1")
    redis_server.stop()
    wait_until(lambda: g.get("/health").json()["redis"] == "down", what="redis down")
    answer = gql(g, '{ worker(id: "w1") { id state metrics { timestamp } } events { id } }',
                 token=None)
    assert answer["data"] == {"worker": {"id": "w1", "state": "active", "metrics": None},
                              "events": None}
    assert [(e["message"], e["path"]) for e in answer["errors"]] == [
        ("History lives in redis, which is not connected.", ["worker", "metrics"]),
        ("Events live in redis, which is not connected.", ["events"])]
    assert data(g, '{ worker(id: "w1") { id state } }', token=None) == {
        "worker": {"id": "w1", "state": "active"}}


@needs_data
def test_the_explorer_runs_queries_in_a_browser(replayed, tmp_path):
    """The explorer in Debian's chromium, headless: it asks for the token
    the API needs, reads the schema, runs an example and shows the answer
    graphql-core's check and POST /graphql give; no error in its console."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("chromium and chromium-driver are not installed (scripts/deps.sh)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}"]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(driver), options=opts)

    def until(cond, what):
        return WebDriverWait(d, 20, poll_frequency=0.1).until(lambda _: cond(), what)

    try:
        d.get(replayed.url + "/graphql")
        until(lambda: "needs a token" in d.find_element(By.ID, "types").text, "a token asked for")
        d.find_element(By.ID, "token").send_keys(READ, Keys.TAB)
        until(lambda: d.find_elements(By.LINK_TEXT, "GPUSample"), "the schema's types")
        Select(d.find_element(By.ID, "examples")).select_by_visible_text("Clusters, hosts, GPUs")
        d.find_element(By.ID, "run").click()
        until(lambda: d.find_element(By.ID, "status").text.startswith("HTTP 200"), "an answer")
        query = d.find_element(By.ID, "query").get_attribute("value")
        shown = json.loads(d.find_element(By.ID, "result").text)
        assert shown == {"data": data(replayed, query)} and len(shown["data"]["clusters"][0]["hosts"]) == 31
        d.find_element(By.LINK_TEXT, "GPU").click()
        until(lambda: d.find_element(By.CSS_SELECTOR, "#type h2").text == "object GPU", "GPU's fields")
        assert "telemetry(startTime: String, endTime: String, limit: Int = 100, order: Order = ASC): " \
               "[GPUSample!]" in d.find_element(By.ID, "type").text
        editor = d.find_element(By.ID, "query")
        editor.clear()
        editor.send_keys("{ gpus { nope } }", Keys.CONTROL, Keys.ENTER)
        until(lambda: d.find_element(By.ID, "status").text.startswith("HTTP 400"), "a refusal")
        [e] = json.loads(d.find_element(By.ID, "result").text)["errors"]
        assert e["message"] == 'Cannot query field "nope" on type "GPU".'
        severe = [e["message"] for e in d.get_log("browser") if e["level"] == "SEVERE"
                  and "status of 400" not in e["message"]]
        assert severe == []
    finally:
        d.quit()
