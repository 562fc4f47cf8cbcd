"""The reactor core of gantryd: start and stop, signals, /health, JSON
errors, HTTP limits, connection bookkeeping, configuration errors."""
import os
import signal
import socket
import subprocess
import time

import requests

import harness
from harness import BUILD, parse_responses, raw_http, wait_until


def test_health_answers_json(gantryd):
    r = gantryd.get("/health")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    h = r.json()
    for field in ("status", "time", "uptime_s", "redis", "workers",
                  "active_workers", "active_clients"):
        assert field in h, field
    assert h["status"] == "healthy" and isinstance(h["time"], int)
    assert h["redis"] in ("up", "down")
    assert h["active_clients"] >= 1


def test_sigterm_exits_zero_and_frees_ports(gantryd):
    assert gantryd.get("/health").status_code == 200
    assert gantryd.stop(signal.SIGTERM) == 0
    assert "stopping" in gantryd.proc.text()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", gantryd.http_port)) != 0


def test_sigint_exits_zero_with_open_keepalive_connection(gantryd):
    s = socket.create_connection(("127.0.0.1", gantryd.http_port))
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"200 OK" in s.recv(4096)
    assert gantryd.stop(signal.SIGINT) == 0
    s.close()


def test_sighup_changes_log_level(gantryd):
    gantryd.get("/health")
    time.sleep(0.2)
    assert "GET /health 200" not in gantryd.proc.text()
    gantryd.sections["log"]["level"] = "debug"
    gantryd.write_conf()
    gantryd.proc.signal(signal.SIGHUP)
    wait_until(lambda: "configuration reloaded" in gantryd.proc.text(), 5,
               what="reload message")
    gantryd.get("/health")
    wait_until(lambda: "GET /health 200" in gantryd.proc.text(), 5,
               what="debug access line")


def test_sighup_with_bad_file_keeps_running(gantryd):
    gantryd.sections["log"]["level"] = "shouting"
    gantryd.write_conf()
    gantryd.proc.signal(signal.SIGHUP)
    wait_until(lambda: "reload refused" in gantryd.proc.text(), 5, what="refusal")
    assert "log.level" in gantryd.proc.text()
    assert gantryd.get("/health").status_code == 200


def test_unknown_route_is_json_404(gantryd):
    r = gantryd.get("/no/such/route")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "NOT_FOUND"


def test_wrong_method_is_json_405_with_allow(gantryd):
    r = requests.put(gantryd.url + "/health", timeout=5)
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in r.headers["allow"]


def test_head_has_no_body(gantryd):
    r = requests.head(gantryd.url + "/health", timeout=5)
    assert r.status_code == 200
    assert int(r.headers["content-length"]) > 0
    assert r.content == b""


def test_oversize_header_is_431(gantryd):
    big = b"x" * (20 * 1024)
    data = raw_http(gantryd.http_port,
                    b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + big + b"\r\n\r\n")
    (status, headers, body), = parse_responses(data)
    assert status == 431
    assert b"HEADERS_TOO_LARGE" in body
    assert gantryd.get("/health").status_code == 200


def test_oversize_body_is_413(gantryd):
    data = raw_http(gantryd.http_port,
                    b"POST /api/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 2000000\r\n\r\n" + b"{" * 1000)
    (status, headers, body), = parse_responses(data)
    assert status == 413
    assert b"PAYLOAD_TOO_LARGE" in body


def test_oversize_chunked_body_is_413(gantryd):
    chunk = b"x" * 65536
    req = b"POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    req += (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 20
    data = raw_http(gantryd.http_port, req)
    (status, _, body), = parse_responses(data)
    assert status == 413


def test_keepalive_and_pipelining_in_order(gantryd):
    reqs = b""
    expect = []
    for i in range(20):
        if i % 3 == 0:
            reqs += b"GET /nope%d HTTP/1.1\r\nHost: x\r\n\r\n" % i
            expect.append(404)
        else:
            reqs += b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
            expect.append(200)
    reqs += b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    expect.append(200)
    got = parse_responses(raw_http(gantryd.http_port, reqs))
    assert [s for s, _, _ in got] == expect
    assert b"/nope3" in got[3][2]


def test_malformed_request_is_400_and_server_keeps_serving(gantryd):
    data = raw_http(gantryd.http_port, b"BLAH / HTTP/9\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 400")
    assert gantryd.get("/health").status_code == 200


def test_thousand_connections_leave_fd_count_at_baseline(gantryd):
    gantryd.get("/health")
    base = gantryd.settled_fd_count()
    socks = []
    for _ in range(1000):
        socks.append(socket.create_connection(("127.0.0.1", gantryd.http_port)))
    wait_until(lambda: gantryd.fd_count() >= base + 1000, 10, what="1000 accepted")
    assert gantryd.get("/health").json()["active_clients"] >= 1000
    for s in socks:
        s.close()
    wait_until(lambda: gantryd.fd_count() == base, 10, what="fds back to baseline")
    assert gantryd.get("/health").status_code == 200


def test_idle_connection_is_closed_after_idle_timeout(gantryd_factory):
    g = gantryd_factory(conf={"http": {"idle_timeout": "500ms"}})
    s = socket.create_connection(("127.0.0.1", g.http_port))
    s.settimeout(5)
    t0 = time.monotonic()
    assert s.recv(1) == b""
    assert 0.3 < time.monotonic() - t0 < 3
    s.close()


def test_connection_cap_answers_503(gantryd_factory):
    g = gantryd_factory(conf={"http": {"max_connections": "3"}})
    held = [socket.create_connection(("127.0.0.1", g.http_port)) for _ in range(3)]
    wait_until(lambda: g.fd_count() >= 3, 5)
    time.sleep(0.2)
    data = raw_http(g.http_port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"503" in data.split(b"\r\n")[0]
    for s in held:
        s.close()
    wait_until(lambda: g.get("/health").status_code == 200, 5)


def run_gantryd(*args, env=None):
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run([os.path.join(BUILD, "gantryd")] + list(args),
                          capture_output=True, text=True, timeout=20, env=full)


def test_check_config_bad_file_exits_2_naming_key(tmp_path):
    bad = tmp_path / "bad.conf"
    bad.write_text("[agents]\nheartbeat_timeout = 30 parsecs\n")
    r = run_gantryd("--check-config", "--config", str(bad))
    assert r.returncode == 2
    assert "agents.heartbeat_timeout" in r.stderr
    assert ":2:" in r.stderr


def test_check_config_good_file_exits_0(tmp_path):
    r = run_gantryd("--check-config", "--config", os.path.join(harness.ROOT, "conf/gantry.conf"))
    assert r.returncode == 0, r.stderr


def test_bad_flag_and_env_exit_2(tmp_path):
    r = run_gantryd("--check-config", "--heartbeat-timeout", "soon")
    assert r.returncode == 2 and "agents.heartbeat_timeout" in r.stderr
    r = run_gantryd("--no-such-flag")
    assert r.returncode == 2 and "--no-such-flag" in r.stderr
    r = run_gantryd("--check-config", env={"GANTRY_HTTP_MAX_BODY_SIZE": "lots"})
    assert r.returncode == 2 and "GANTRY_HTTP_MAX_BODY_SIZE" in r.stderr
    r = run_gantryd("--check-config", "--set", "scheduler.policy=coinflip")
    assert r.returncode == 2 and "scheduler.policy" in r.stderr


def test_refuses_public_address_without_tokens():
    r = run_gantryd("--check-config", "--http", "0.0.0.0:8080")
    assert r.returncode == 2
    assert "http.tokens" in r.stderr
    r = run_gantryd("--check-config", "--http", "0.0.0.0:8080", "--set", "http.insecure=true")
    assert r.returncode == 0


def test_help_and_version():
    r = run_gantryd("--version")
    assert r.returncode == 0 and r.stdout.startswith("gantryd ")
    r = run_gantryd("--help")
    assert r.returncode == 0 and "--heartbeat-timeout" in r.stdout


def test_journal_stream_gives_priority_prefixes(tmp_path, redis_server):
    g = harness.Gantryd(str(tmp_path), redis=redis_server, env={"JOURNAL_STREAM": "8:1234"})
    assert g.stop() == 0
    lines = [l for l in g.proc.text().splitlines() if l.strip() and not l.startswith("=")]
    assert lines and all(l.startswith("<") for l in lines), lines[:5]
    assert any(l.startswith("<6>") for l in lines)
