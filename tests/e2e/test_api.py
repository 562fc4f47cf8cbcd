"""The HTTP API of SPEC section 4: every route's fields, every error code,
tokens and roles, pipelining, slow clients, malformed floods, /metrics with
promtool, and the OpenAPI document."""
import json
import concurrent.futures
import os
import re
import socket
import threading
import time

import requests

import harness
from harness import parse_responses, promtool_problems, raw_http, submit, task, wait_task, wait_until

FAST = {"agents": {"heartbeat_timeout": "2s", "lost_after": "30s"}}


def err(r, status, code):
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body


def gpu_agent(g, worker_id, host, ngpu=2):
    """A scripted agent with GPUs, over the real protocol."""
    s = socket.create_connection(("127.0.0.1", g.agent_port))
    f = s.makefile("rwb")
    gpus = [{"index": i, "uuid": f"GPU-{host}-{i}", "model": "NVIDIA H100 80GB HBM3",
             "memory_mib": 81559} for i in range(ngpu)]
    f.write((json.dumps({"type": "hello", "version": 1, "worker_id": worker_id, "hostname": host,
                         "capacity": {"cpu": 32, "memory_mib": 262144, "gpus": gpus}}) + "\n").encode())
    f.flush()
    assert json.loads(f.readline())["type"] == "welcome"
    return s, f


def beat(f, samples):
    f.write((json.dumps({"type": "heartbeat", "seq": 1, "cpu_usage": 10, "gpus": samples}) + "\n").encode())
    f.flush()


def test_worker_routes_fields_and_admin_actions(gantryd_factory, agent_factory):
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "a1", args=["--labels", "zone=a,disk=ssd"])
    ws = g.get("/api/workers").json()["workers"]
    w = ws[0]
    for k in ("worker_id", "address", "state", "is_active", "total_resources", "allocated_resources",
              "available_resources", "labels", "last_heartbeat", "registered_at", "cpu_usage",
              "memory_usage", "gpu_usage", "running_tasks_count"):
        assert k in w, k
    assert set(w["total_resources"]) == {"cpu", "memory", "storage", "gpu"}
    assert w["labels"] == {"zone": "a", "disk": "ssd"}
    tid = submit(g, {"command": ["sleep", "30"], "cpu_required": 1, "labels": {"zone": "a"}})
    wait_task(g, tid, "running", 10)
    d = g.get("/api/workers/a1").json()
    assert d["allocated_resources"]["cpu"] == 1
    assert d["available_resources"]["cpu"] == d["total_resources"]["cpu"] - 1
    assert [t["task_id"] for t in d["running_tasks"]] == [tid]
    assert d["gpus"] == []
    wt = g.get("/api/workers/a1/tasks").json()
    assert wt["worker_id"] == "a1" and wt["count"] == 1 and wt["tasks"][0]["task_id"] == tid
    err(g.get("/api/workers/nope"), 404, "WORKER_NOT_FOUND")
    err(g.get("/telemetry/nope"), 404, "WORKER_NOT_FOUND")
    # a task needing another label waits, saying why
    other = submit(g, {"command": ["true"], "labels": {"zone": "b"}})
    wait_until(lambda: "labels" in (task(g, other).get("reason") or ""), 5,
               what="the reason naming labels")
    # drain: no new tasks; undrain
    r = g.post("/api/workers/a1/drain")
    assert r.status_code == 200 and r.json()["state"] == "draining"
    t2 = submit(g, {"command": ["true"]})
    time.sleep(0.3)
    assert task(g, t2)["status"] == "queued"
    r = g.post("/api/workers/a1/drain", {"drain": False})
    assert r.json()["state"] == "active"
    assert wait_task(g, t2)["status"] == "completed"
    err(g.post("/api/workers/a1/drain", {"drain": "maybe"}), 422, "VALIDATION_FAILED")
    # unregister: the running task goes back to the queue
    r = g.delete("/api/workers/a1")
    assert r.status_code == 200 and r.json()["removed"] is True
    assert task(g, tid)["status"] == "queued"
    assert "a1" not in g.get("/workers").json() or g.get("/workers").json()["a1"]["state"] != "active"


def test_pre_registration(gantryd_factory, agent_factory):
    g = gantryd_factory(conf={**FAST, "agents": {**FAST["agents"], "require_registration": "true"}})
    r = g.post("/api/workers", {"worker_id": "r1", "labels": {"rack": "7"}})
    assert r.status_code == 201 and r.json() == {"worker_id": "r1", "registered": True, "state": "offline"}
    err(g.post("/api/workers", {"worker_id": "r1"}), 409, "WORKER_EXISTS")
    err(g.post("/api/workers", {"worker_id": "bad id"}), 422, "VALIDATION_FAILED")
    err(g.post("/api/workers", {"worker_id": "r2", "labels": {"x": 1}}), 422, "VALIDATION_FAILED")
    agent_factory(g, "r1")
    assert g.get("/api/workers/r1").json()["labels"] == {"rack": "7"}


def test_task_routes_list_filters_and_cursor(gantryd_factory, agent_factory):
    g = gantryd_factory(conf=FAST)
    ids = [submit(g, {"command": ["true"], "tag": f"n{i}"}) for i in range(7)]
    page = g.get("/api/tasks?limit=3").json()
    assert [t["task_id"] for t in page["tasks"]] == ids[::-1][:3]
    page2 = g.get(f"/api/tasks?limit=3&cursor={page['next_cursor']}").json()
    assert [t["task_id"] for t in page2["tasks"]] == ids[::-1][3:6]
    page3 = g.get(f"/api/tasks?limit=3&cursor={page2['next_cursor']}").json()
    assert [t["task_id"] for t in page3["tasks"]] == ids[:1] and page3["next_cursor"] is None
    assert len(g.get("/api/tasks?status=queued").json()["tasks"]) == 7
    agent_factory(g, "a1")
    for t in ids:
        wait_task(g, t)
    assert g.get("/api/tasks?status=queued").json()["tasks"] == []
    done = g.get("/api/tasks?status=completed&worker_id=a1").json()["tasks"]
    assert len(done) == 7
    t = task(g, ids[0])
    for k in ("task_id", "docker_image", "command", "env", "cpu_required", "memory_required",
              "gpu_required", "gpu_model", "storage_required", "priority", "user_id", "tag",
              "labels", "max_attempts", "timeout", "status", "worker_id", "attempts", "exit_code",
              "reason", "created_at", "assigned_at", "started_at", "finished_at", "assignment",
              "result"):
        assert k in t, k
    assert t["assignment"]["worker_id"] == "a1" and t["result"]["status"] == "completed"
    err(g.get("/api/tasks?status=sleeping"), 400, "INVALID_PARAMETER")
    err(g.get("/api/tasks?limit=0"), 400, "INVALID_PARAMETER")
    err(g.get("/api/tasks/t-nope"), 404, "TASK_NOT_FOUND")
    err(g.delete(f"/api/tasks/{ids[0]}"), 409, "TASK_ALREADY_FINISHED")


def test_submission_errors(gantryd_factory):
    g = gantryd_factory(conf={"tasks": {"max_queued": "2"}})
    url = g.url + "/api/tasks"
    err(requests.post(url, data="{bad json", headers={"Content-Type": "application/json"}),
        400, "INVALID_JSON")
    err(requests.post(url, data="command=x"), 415, "UNSUPPORTED_MEDIA_TYPE")
    err(requests.post(url, json={"command": "x", "cpu_required": 0}), 422, "VALIDATION_FAILED")
    body = err(requests.post(url, json={"command": "x", "memory_required": 17 * 2**20}),
               422, "VALIDATION_FAILED")
    assert body["error"]["field"] == "memory_required"
    body = err(requests.post(url, json={"docker_image": "Not/Valid:"}), 422, "VALIDATION_FAILED")
    assert body["error"]["field"] == "docker_image"
    body = err(requests.post(url, json={"command": "x", "surprise": 1}), 422, "VALIDATION_FAILED")
    assert body["error"]["field"] == "surprise"
    assert requests.post(url, json={"command": ["true"], "cpu_required": "0.5",
                                    "gpu_required": "0"}).status_code == 201
    # a chunked body works like any other
    def chunks():
        yield b'{"command":'
        yield b' ["true"]}'
    r = requests.post(url, data=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 201
    err(requests.post(url, json={"command": ["true"]}), 429, "QUEUE_FULL")


TOKENS = "read:reader-token-1,admin:admin-token-1"


def test_tokens_and_roles(gantryd_factory):
    g = gantryd_factory(conf={"http": {"tokens": TOKENS}})
    assert g.get("/health").status_code == 200          # public
    body = err(g.get("/api/tasks"), 401, "UNAUTHORIZED")
    assert "Authorization" in body["error"]["message"]
    err(g.get("/api/tasks", headers={"Authorization": "Bearer wrong-token"}), 401, "UNAUTHORIZED")
    read = {"Authorization": "Bearer reader-token-1"}
    admin = {"Authorization": "Bearer admin-token-1"}
    assert g.get("/api/tasks", headers=read).status_code == 200
    assert g.get("/metrics", headers=read).status_code == 200
    err(g.post("/api/tasks", {"command": ["true"]}, headers=read), 403, "FORBIDDEN")
    err(g.post("/api/workers", {"worker_id": "x"}, headers=read), 403, "FORBIDDEN")
    assert g.post("/api/tasks", {"command": ["true"]}, headers=admin).status_code == 201
    assert g.get("/api/tasks", headers=admin).status_code == 200
    # A token in the query counts only on a WebSocket upgrade: anywhere
    # else it would land in proxy logs and shell history.
    err(g.get("/api/tasks?access_token=reader-token-1"), 401, "UNAUTHORIZED")
    r = g.get("/api/tasks")
    assert r.headers.get("www-authenticate") == "Bearer"


def test_tokens_from_environment_and_reload(gantryd_factory):
    g = gantryd_factory(env={"GANTRY_HTTP_TOKENS": TOKENS})
    assert g.get("/api/tasks").status_code == 401
    assert g.get("/api/tasks", headers={"Authorization": "Bearer admin-token-1"}).status_code == 200


def test_cors_off_by_default_and_on_for_listed_origins(gantryd_factory):
    g = gantryd_factory()
    r = g.get("/health", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    g2 = gantryd_factory(conf={"http": {"cors_origins": "http://ok.example"}})
    r = g2.get("/health", headers={"Origin": "http://ok.example"})
    assert r.headers["access-control-allow-origin"] == "http://ok.example"
    assert "access-control-allow-origin" not in g2.get("/health", headers={"Origin": "http://x"}).headers
    r = requests.options(g2.url + "/api/tasks", headers={"Origin": "http://ok.example",
                                                         "Access-Control-Request-Method": "POST"})
    assert r.status_code == 204 and "POST" in r.headers["access-control-allow-methods"]


def test_two_hundred_pipelined_gets_in_order(gantryd):
    reqs, expect = b"", []
    for i in range(200):
        if i % 2:
            reqs += b"GET /api/tasks/t-missing%d HTTP/1.1\r\nHost: x\r\n\r\n" % i
            expect.append(404)
        else:
            reqs += b"GET /workers HTTP/1.1\r\nHost: x\r\n\r\n"
            expect.append(200)
    reqs += b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    expect.append(200)
    got = parse_responses(raw_http(gantryd.http_port, reqs, timeout=20))
    assert [s for s, _, _ in got] == expect
    for i in range(1, 200, 2):
        assert f"t-missing{i}".encode() in got[i][2]


def test_slowloris_is_cut_at_header_timeout(gantryd_factory):
    g = gantryd_factory(conf={"http": {"header_timeout": "1500ms"}})
    s = socket.create_connection(("127.0.0.1", g.http_port))
    s.settimeout(0.5)
    t0 = time.monotonic()
    data = b""
    for ch in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
        try:
            s.sendall(bytes([ch]))
        except OSError:
            break
        try:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        except socket.timeout:
            pass
        if time.monotonic() - t0 > 10:
            break
    elapsed = time.monotonic() - t0
    assert 1.0 < elapsed < 4, elapsed
    assert b"408" in data.split(b"\r\n")[0]
    assert g.get("/health").status_code == 200


MALFORMED = [
    b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", b"\x00\x01\x02\x03\r\n\r\n",
    b"POST /api/tasks HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET http://absolute/ HTTP/1.1\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
]


def test_ten_thousand_malformed_requests_leave_it_serving(gantryd):
    errors = []

    def spray(n):
        for i in range(n):
            try:
                with socket.create_connection(("127.0.0.1", gantryd.http_port), timeout=5) as s:
                    s.sendall(MALFORMED[i % len(MALFORMED)])
                    s.recv(4096)
            except OSError as e:
                errors.append(e)
    threads = [threading.Thread(target=spray, args=(500,)) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) < 10, errors[:3]
    assert gantryd.get("/health").status_code == 200
    r = raw_http(gantryd.http_port, b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert r.startswith(b"HTTP/1.1 400") and b"BAD_REQUEST" in r


def test_gpu_api(gantryd_factory):
    g = gantryd_factory(conf=FAST)
    s1, f1 = gpu_agent(g, "host-b", "host-b", 2)
    s2, f2 = gpu_agent(g, "host-a", "host-a", 3)
    beat(f1, [{"index": 0, "utilization": 55, "temperature_c": 61, "timestamp": 1752871354.0},
              {"index": 1, "utilization": 0}])
    beat(f2, [{"index": 2, "power_w": 301.5, "memory_used_mib": 1024}])
    wait_until(lambda: g.get("/api/v1/telemetry/latest").json()["count"] == 3, 5)
    gp = g.get("/api/v1/gpus").json()
    assert gp["success"] is True and gp["total"] == 5 and gp["count"] == 5
    assert [(d["hostname"], d["id"]) for d in gp["data"]] == \
        [("host-a", 0), ("host-a", 1), ("host-a", 2), ("host-b", 0), ("host-b", 1)]
    assert set(gp["data"][0]) >= {"id", "uuid", "hostname", "name", "device", "status"}
    assert g.get("/api/v1/gpus?limit=2&offset=3").json()["data"][0]["uuid"] == "GPU-host-b-0"
    assert g.get("/api/v1/gpus?hostname=host-b").json()["total"] == 2
    one = g.get("/api/v1/gpus/GPU-host-b-0").json()["data"]
    assert one["latest"]["gpu_utilization"] == 55 and one["latest"]["temperature"] == 61
    assert "power_draw" not in one["latest"]
    err(g.get("/api/v1/gpus/GPU-none"), 404, "GPU_NOT_FOUND")
    err(g.get("/api/v1/gpus/GPU-none/telemetry"), 404, "GPU_NOT_FOUND")
    err(g.get("/api/v1/gpus/GPU-host-b-0/telemetry?start_time=noon"), 400, "INVALID_TIME_RANGE")
    tel = wait_until(lambda: (t := g.get("/api/v1/gpus/GPU-host-b-0/telemetry").json())["count"] and t, 5)
    assert tel["data"][0]["timestamp"] == "2025-07-18T20:42:34Z"
    assert tel["data"][0]["gpu_utilization"] == 55 and "power_draw" not in tel["data"][0]
    hosts = g.get("/api/v1/hosts").json()["data"]
    assert {h["hostname"]: h["gpu_count"] for h in hosts} == {"host-a": 3, "host-b": 2}
    assert g.get("/api/v1/hosts/host-a/gpus").json()["count"] == 3
    err(g.get("/api/v1/hosts/nohost/gpus"), 404, "HOST_NOT_FOUND")
    m = g.get("/metrics").text
    assert re.search(r'DCGM_FI_DEV_GPU_UTIL\{gpu="0",UUID="GPU-host-b-0",device="nvidia0",'
                     r'modelName="NVIDIA H100 80GB HBM3",Hostname="host-b"\} 55', m)
    s1.close()
    s2.close()


def test_telemetry_document_is_shared_yet_current_and_in_order(gantryd_factory):
    """GET /telemetry is built once per change and shared by replies: it
    must still show every heartbeat at once, keep pipelined replies in
    order around it, and send no body for HEAD."""
    g = gantryd_factory(conf=FAST)
    agents = [gpu_agent(g, f"w{i}", f"host-{i}", 4) for i in range(30)]
    for k, (_, f) in enumerate(agents):
        f.write((json.dumps({"type": "heartbeat", "seq": 1, "cpu_usage": k}) + "\n").encode())
        f.flush()
    wait_until(lambda: g.get("/telemetry").json()["w29"]["cpu_usage"] == 29, 5)
    first = g.get("/telemetry").content
    assert g.get("/telemetry").content == first           # nothing changed: same bytes
    for cpu in (61.25, 62.5):                             # each change shows at once
        agents[7][1].write((json.dumps({"type": "heartbeat", "seq": 2, "cpu_usage": cpu}) + "\n").encode())
        agents[7][1].flush()
        wait_until(lambda: g.get("/telemetry").json()["w7"]["cpu_usage"] == cpu, 5)
    assert g.get("/telemetry").json()["w3"]["cpu_usage"] == 3
    reqs = (b"GET /telemetry HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /telemetry HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /telemetry/w5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    got = parse_responses(raw_http(g.http_port, reqs, timeout=10))
    assert [st for st, _, _ in got] == [200] * 4
    assert set(json.loads(got[0][2])) == {f"w{i}" for i in range(30)}
    assert json.loads(got[1][2])["status"] == "healthy"
    assert got[2][2] == got[0][2]
    assert json.loads(got[3][2])["cpu_usage"] == 5
    head = raw_http(g.http_port, b"HEAD /telemetry HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    hdr, _, rest = head.partition(b"\r\n\r\n")
    assert rest == b"" and f"Content-Length: {len(got[0][2])}".encode() in hdr
    for s, _ in agents:
        s.close()


def test_metrics_pass_promtool(gantryd_factory, agent_factory):
    g = gantryd_factory(conf=FAST)
    agent_factory(g, "a1")
    submit(g, {"command": ["true"]})
    g.get("/nope")
    text = g.get("/metrics").text
    assert promtool_problems(text) == []
    for name in ("gantry_workers{state=\"active\"} 1", "gantry_heartbeats_total",
                 "gantry_tasks{status=\"queued\"}", "gantry_queue_depth",
                 "gantry_worker_cpu_usage{worker_id=\"a1\"}", "gantry_redis_up 1",
                 "gantry_redis_backlog_bytes", "gantry_http_requests_total{code=\"404\"}"):
        assert name in text, name
    # the loop-turn histogram: cumulative buckets ending in +Inf == count
    buckets = [(le, int(v)) for le, v in
               re.findall(r'^gantry_loop_turn_seconds_bucket\{le="([^"]+)"\} (\d+)$', text, re.M)]
    count = int(re.search(r"^gantry_loop_turn_seconds_count (\d+)$", text, re.M).group(1))
    assert buckets[-1] == ("+Inf", count) and count > 10
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:]))
    assert float(re.search(r"^gantry_loop_turn_max_seconds (\S+)$", text, re.M).group(1)) > 0


SPEC_ROUTES = [
    ("GET", "/health"), ("GET", "/telemetry"), ("GET", "/telemetry/{worker_id}"),
    ("GET", "/workers"), ("GET", "/api/workers"), ("GET", "/api/workers/{id}"),
    ("GET", "/api/workers/{id}/metrics"), ("GET", "/api/workers/{id}/tasks"),
    ("POST", "/api/workers"), ("POST", "/api/workers/{id}/drain"), ("DELETE", "/api/workers/{id}"),
    ("POST", "/api/tasks"), ("GET", "/api/tasks"), ("GET", "/api/tasks/{id}"),
    ("DELETE", "/api/tasks/{id}"), ("GET", "/api/tasks/{id}/logs"), ("GET", "/api/events"),
    ("GET", "/metrics"), ("GET", "/openapi.json"), ("GET", "/"),
    ("GET", "/api/v1/gpus"), ("GET", "/api/v1/gpus/{uuid}"), ("GET", "/api/v1/gpus/{uuid}/telemetry"),
    ("GET", "/api/v1/hosts"), ("GET", "/api/v1/hosts/{hostname}/gpus"),
    ("GET", "/api/v1/telemetry/latest"), ("GET", "/ws/telemetry"), ("GET", "/ws/telemetry/{worker_id}"),
    ("GET", "/api/v1/telemetry"), ("GET", "/api/v1/clusters"), ("GET", "/api/v1/clusters/{cluster_id}"),
    ("GET", "/api/v1/clusters/{cluster_id}/stats"), ("GET", "/api/v1/clusters/{cluster_id}/hosts"),
    ("GET", "/api/v1/clusters/{cluster_id}/hosts/{host_id}"),
    ("GET", "/api/v1/clusters/{cluster_id}/hosts/{host_id}/gpus"),
    ("GET", "/api/v1/clusters/{cluster_id}/hosts/{host_id}/gpus/{gpu_id}"),
    ("GET", "/api/v1/clusters/{cluster_id}/hosts/{host_id}/gpus/{gpu_id}/metrics"),
    ("GET", "/swagger/index.html"), ("GET", "/swagger/swagger.json"), ("GET", "/swagger/swagger.yaml"),
    ("GET", "/docs"),
    ("GET", "/ws/tasks/{id}/logs"), ("GET", "/ws/events"), ("GET", "/ws"),
]


def test_openapi_lists_every_route_and_docs_show_them(gantryd):
    doc = gantryd.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    listed = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert set(SPEC_ROUTES) <= listed, set(SPEC_ROUTES) - listed
    api_md = open(os.path.join(harness.ROOT, "docs", "api.md")).read()
    for method, path in sorted(listed):
        assert f"`{method} {path}`" in api_md, f"docs/api.md lacks {method} {path}"
    for method, path in listed:
        url = re.sub(r"\{[^}]+\}", "x", path)
        r = requests.request(method, gantryd.url + url, timeout=5)
        assert r.status_code not in (404, 405) or r.json()["error"]["code"] not in \
            ("NOT_FOUND", "METHOD_NOT_ALLOWED"), (method, path)
    assert gantryd.get("/").text.startswith("<!doctype html>")


def test_upgrade_required_on_plain_get_of_ws_route(gantryd):
    err(gantryd.get("/ws/telemetry"), 426, "UPGRADE_REQUIRED")


def test_history_routes_need_redis(redis_server, gantryd_factory, agent_factory):
    g = gantryd_factory(conf={**FAST, "redis": {"connect_timeout": "300ms"}})
    agent_factory(g, "a1")
    redis_server.stop()
    wait_until(lambda: g.get("/health").json()["redis"] == "down", 5)
    err(g.get("/api/events"), 503, "REDIS_UNAVAILABLE")
    err(g.get("/api/workers/a1/metrics"), 503, "REDIS_UNAVAILABLE")


def test_every_documented_error_code_is_produced(redis_server, gantryd_factory):
    """Each code of docs/api.md's error table, produced here by one request
    (the rest of this file checks them in context)."""
    g = gantryd_factory(conf={"http": {"tokens": TOKENS, "max_header_size": "2KiB",
                                       "max_body_size": "4KiB", "max_connections": "50",
                                       "header_timeout": "1s"},
                              "tasks": {"max_queued": "1"},
                              "redis": {"connect_timeout": "300ms", "backlog": "64KiB"}})
    adm = {"Authorization": "Bearer admin-token-1"}
    rd = {"Authorization": "Bearer reader-token-1"}
    seen = set()

    def check(r, status, code):
        err(r, status, code)
        seen.add(code)
    u = g.url
    check(requests.get(u + "/nope", headers=adm), 404, "NOT_FOUND")
    check(requests.put(u + "/health"), 405, "METHOD_NOT_ALLOWED")
    check(requests.get(u + "/api/tasks"), 401, "UNAUTHORIZED")
    check(requests.post(u + "/api/tasks", json={}, headers=rd), 403, "FORBIDDEN")
    check(requests.post(u + "/api/tasks", data="{", headers={**adm, "Content-Type": "application/json"}),
          400, "INVALID_JSON")
    check(requests.post(u + "/api/tasks", data="x", headers=adm), 415, "UNSUPPORTED_MEDIA_TYPE")
    check(requests.post(u + "/api/tasks", json={"command": ""}, headers=adm), 422, "VALIDATION_FAILED")
    check(requests.get(u + "/api/tasks?limit=x", headers=adm), 400, "INVALID_PARAMETER")
    check(requests.get(u + "/api/tasks/t-x", headers=adm), 404, "TASK_NOT_FOUND")
    check(requests.get(u + "/api/workers/w-x", headers=adm), 404, "WORKER_NOT_FOUND")
    check(requests.get(u + "/api/v1/gpus/GPU-x", headers=adm), 404, "GPU_NOT_FOUND")
    check(requests.get(u + "/api/v1/hosts/h-x/gpus", headers=adm), 404, "HOST_NOT_FOUND")
    check(requests.get(u + "/api/v1/clusters/c-x", headers=adm), 404, "CLUSTER_NOT_FOUND")
    check(requests.get(u + "/swagger/x.js"), 404, "ASSET_NOT_FOUND")
    check(requests.get(u + "/api/workers/w-x/metrics?start_time=soon", headers=adm), 400,
          "INVALID_TIME_RANGE")
    check(requests.get(u + "/api/events?since=x", headers=adm), 400, "INVALID_PARAMETER")
    check(requests.get(u + "/ws/telemetry", headers=adm), 426, "UPGRADE_REQUIRED")
    requests.post(u + "/api/workers", json={"worker_id": "dup"}, headers=adm)
    check(requests.post(u + "/api/workers", json={"worker_id": "dup"}, headers=adm), 409, "WORKER_EXISTS")
    t = requests.post(u + "/api/tasks", json={"command": ["true"]}, headers=adm).json()["task_id"]
    check(requests.post(u + "/api/tasks", json={"command": ["true"]}, headers=adm), 429, "QUEUE_FULL")
    requests.delete(u + f"/api/tasks/{t}", headers=adm)
    check(requests.delete(u + f"/api/tasks/{t}", headers=adm), 409, "TASK_ALREADY_FINISHED")
    (st, _, body), = parse_responses(raw_http(g.http_port, b"GET /health HTTP/1.1\r\nX: " +
                                              b"y" * 3000 + b"\r\n\r\n"))
    assert st == 431 and b"HEADERS_TOO_LARGE" in body
    seen.add("HEADERS_TOO_LARGE")
    (st, _, body), = parse_responses(raw_http(g.http_port, b"POST /api/tasks HTTP/1.1\r\n"
                                              b"Content-Length: 9000\r\n\r\n"))
    assert st == 413 and b"PAYLOAD_TOO_LARGE" in body
    seen.add("PAYLOAD_TOO_LARGE")
    r = raw_http(g.http_port, b"NONSENSE\r\n\r\n")
    assert b"400" in r.split(b"\r\n")[0] and b"BAD_REQUEST" in r
    seen.add("BAD_REQUEST")
    s = socket.create_connection(("127.0.0.1", g.http_port))
    s.sendall(b"GET /health HTTP/1.1\r\n")
    s.settimeout(15)
    assert b"REQUEST_TIMEOUT" in s.recv(4096)
    seen.add("REQUEST_TIMEOUT")
    held = [socket.create_connection(("127.0.0.1", g.http_port)) for _ in range(50)]
    time.sleep(0.3)
    assert b"TOO_MANY_CONNECTIONS" in raw_http(g.http_port, b"GET /health HTTP/1.1\r\n\r\n")
    seen.add("TOO_MANY_CONNECTIONS")
    for h in held:
        h.close()
    # Redis stalls (CLIENT PAUSE) while clients keep submitting: task writes
    # that Redis has not confirmed fill the backlog, and the submissions
    # past its bound are refused at once instead of piling up.
    g2 = gantryd_factory(conf={"http": {"tokens": TOKENS},
                               "redis": {"backlog": "64KiB", "reply_timeout": "20s"}})
    big = {"command": ["echo", "x" * 3000]}
    wait_until(lambda: g2.get("/health").json()["redis"] == "up", 10)
    assert redis_server.cli("CLIENT", "PAUSE", "4000", "ALL") == "OK"
    with concurrent.futures.ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(lambda _: requests.post(g2.url + "/api/tasks", json=big,
                                                        headers=adm, timeout=30), range(40)))
    full = [r for r in answers if r.status_code == 503]
    assert full and all(r.status_code == 201 for r in answers if r not in full)
    check(full[0], 503, "REDIS_BACKLOG_FULL")
    redis_server.stop()
    wait_until(lambda: requests.get(u + "/health").json()["redis"] == "down", 5)
    check(requests.get(u + "/api/events", headers=adm), 503, "REDIS_UNAVAILABLE")
    err(requests.post(u + "/api/tasks", json=big, headers=adm), 503, "REDIS_UNAVAILABLE")
    api_md = open(os.path.join(harness.ROOT, "docs", "api.md")).read()
    table = api_md.split("## Errors", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"\| `([A-Z_]+)` \|", table))
    assert documented == seen, (sorted(documented - seen), sorted(seen - documented))
