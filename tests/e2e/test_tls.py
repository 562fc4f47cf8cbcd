"""TLS on the agent port and the API (docs/tls.md), with real certificates
made by the openssl command here: a CA, gantryd's certificate (SAN
127.0.0.1), a second one for rotation, and client certificates: good,
expired, from another CA, and none. Agents join over TLS and mutual TLS and
run tasks; refusals are logged; plain text to a TLS port is refused while
TLS agents keep heartbeating; curl, requests, gantryctl and a WSS
subscription over HTTPS; SIGHUP swaps certificates for new connections
only; random bytes, truncated and stalled handshakes cost bounded memory
while a good client is served."""
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pytest
import requests
import websocket

import harness
from harness import BUILD, submit, wait_task, wait_until
from test_bounds import Watch, settle_rss


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


class PKI:
    """Certificates for one test module, made with the openssl command."""
    EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def __init__(self, d):
        self.d = d
        self.serial = 100
        self.ca = self.make_ca("ca", "Gantry test CA")
        self.other_ca = self.make_ca("other", "Some other CA")
        server = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"
        self.server = self.issue("server", "gantryd", server)
        self.server2 = self.issue("server2", "gantryd-rotated", server)
        self.elsewhere = self.issue("elsewhere", "elsewhere",
                                    "subjectAltName=DNS:elsewhere.example")
        client = "extendedKeyUsage=clientAuth"
        self.good = self.issue("good", "w-good", client)
        self.san = self.issue("san", "someone", client + "\nsubjectAltName=DNS:w-san")
        self.expired = self.issue("expired", "w-expired", client, days=-1)
        self.foreign = self.issue("foreign", "w-foreign", client, ca="other")

    def path(self, name):
        return os.path.join(self.d, name)

    def make_ca(self, name, cn):
        openssl("req", "-x509", *self.EC, "-keyout", f"{name}.key", "-out", f"{name}.pem",
                "-days", "2", "-subj", f"/CN={cn}", cwd=self.d)
        return self.path(f"{name}.pem")

    def issue(self, name, cn, ext, days=2, ca="ca"):
        """(cert, key) for cn, signed by ca."""
        openssl("req", *self.EC, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={cn}", cwd=self.d)
        with open(self.path(f"{name}.ext"), "w") as f:
            f.write(ext + "\n")
        self.serial += 1
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                "-set_serial", str(self.serial), "-days", str(days), "-extfile", f"{name}.ext",
                "-out", f"{name}.pem", cwd=self.d)
        return self.path(f"{name}.pem"), self.path(f"{name}.key")

    def client_args(self, pair=None):
        args = ["--tls-ca", self.ca]
        if pair:
            args += ["--tls-cert", pair[0], "--tls-key", pair[1]]
        return args


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return PKI(str(tmp_path_factory.mktemp("pki")))


class TlsGantryd(harness.Gantryd):
    """gantryd whose API may speak HTTPS: the helpers verify against the
    test CA."""

    def __init__(self, workdir, ca=None, https=False, **kw):
        self.ca, self.https = ca, https
        super().__init__(workdir, **kw)

    @property
    def url(self):
        return f"{'https' if self.https else 'http'}://127.0.0.1:{self.http_port}"

    def get(self, path, **kw):
        kw.setdefault("verify", self.ca if self.https else True)
        return super().get(path, **kw)

    def post(self, path, body=None, **kw):
        kw.setdefault("verify", self.ca if self.https else True)
        return super().post(path, body, **kw)

    def wait_healthy(self, timeout=15):
        def up():
            if not self.proc.alive():
                raise harness.Fatal(f"gantryd exited {self.proc.p.returncode}:\n{self.proc.tail()}")
            r = self.get("/health", timeout=1)
            return r.status_code == 200 and r.json()["store"]["state"] in ("up", "down")
        wait_until(up, timeout, what="gantryd /health")

    def log(self):
        return self.proc.text()


def tls_conf(pki, workdir, http=False, agents=True, mutual=False, bind=False, extra=None,
             server=None):
    """A config with gantryd's certificate copied into workdir (so a test
    can replace it on disk)."""
    cert, key = (os.path.join(workdir, n) for n in ("cert.pem", "key.pem"))
    shutil.copy((server or pki.server)[0], cert)
    shutil.copy((server or pki.server)[1], key)
    conf = {"http": {}, "agents": {"heartbeat_timeout": "30s"}}
    if http:
        conf["http"].update({"tls_cert": cert, "tls_key": key})
    if agents:
        conf["agents"].update({"tls_cert": cert, "tls_key": key})
    if mutual:
        conf["agents"]["tls_ca"] = pki.ca
    if bind:
        conf["agents"]["tls_bind_id"] = "true"
    for section, keys in (extra or {}).items():
        conf.setdefault(section, {}).update(keys)
    return conf


@pytest.fixture
def tls_gantryd(tmp_path, redis_server, pki):
    made = []

    def make(build=None, **kw):
        wd = tmp_path / f"g{len(made)}"
        wd.mkdir()
        conf = tls_conf(pki, str(wd), **kw)
        if made:    # a database of its own: one database is one HA group
            conf.setdefault("redis", {})["url"] = f"{redis_server.url}/{len(made)}"
        g = TlsGantryd(str(wd), ca=pki.ca, https=bool(kw.get("http")), redis=redis_server,
                       conf=conf, build=build)
        made.append(g)
        return g
    yield make
    for g in made:
        g.proc.kill()


def heartbeats(g):
    m = re.search(r"^gantry_heartbeats_total (\d+)$", g.get("/metrics").text, re.M)
    return int(m.group(1))


def refused(agent, gantryd_log_line, g, timeout=15):
    """The agent never joins and gantryd logs why (once)."""
    wait_until(lambda: gantryd_log_line in g.log(), timeout,
               what=f"gantryd to log {gantryd_log_line!r}")
    assert agent.state() is None
    assert agent.proc.alive()


def test_agents_join_over_tls_and_run_tasks(tls_gantryd, agent_factory, pki):
    g = tls_gantryd()
    assert "agents on 127.0.0.1:%d (TLS)" % g.agent_port in g.log()
    a = agent_factory(g, "w-tls", args=pki.client_args())
    tid = submit(g, {"command": ["sh", "-c", "echo secret-$((6*7))"], "cpu_required": 0.1,
                     "memory_required": 16})
    t = wait_task(g, tid)
    assert t["status"] == "completed" and t["worker_id"] == "w-tls"
    logs = g.get(f"/api/tasks/{tid}/logs").json()["logs"]
    assert any("secret-42" in line["data"] for line in logs)
    # On the wire, nothing of it in clear text: the agent's own capture of
    # the port would show only TLS records; here, the agent's connection is
    # TLS because a plain agent is refused on the same port.
    plain = agent_factory(g, "w-plain", wait=False)
    wait_until(lambda: "TLS_REQUIRED" in plain.proc.text(), 10, what="the plain agent told")
    assert "not TLS: the client spoke plain text" in g.log()
    assert plain.state() is None
    assert a.state() == "active"
    # The metrics count the handshakes on the agent port, and the plain one.
    m = g.get("/metrics").text
    assert re.search(r'^gantry_tls_handshakes_total\{port="agents",outcome="completed"\} [1-9]', m, re.M)
    assert re.search(r'^gantry_tls_handshakes_total\{port="agents",outcome="plain"\} [1-9]', m, re.M)
    assert 'port="http"' not in m


def test_agent_verifies_the_master(tls_gantryd, agent_factory, pki, tmp_path):
    g = tls_gantryd()
    # Verified against another CA: the master's certificate is not trusted.
    a = agent_factory(g, "w-distrust", args=["--tls-ca", pki.other_ca], wait=False)
    wait_until(lambda: "certificate verify failed" in a.proc.text(), 10,
               what="the agent to refuse the master's certificate")
    assert a.state() is None
    # Signed by the right CA, but for another name than the one dialled.
    g2 = tls_gantryd(server=pki.elsewhere)
    b = agent_factory(g2, "w-wrongname", args=pki.client_args(), wait=False)
    wait_until(lambda: "certificate verify failed" in b.proc.text(), 10,
               what="the agent to refuse a certificate for another name")
    assert "IP address mismatch" in b.proc.text()
    assert b.state() is None


def test_mutual_tls_refuses_bad_certificates(tls_gantryd, agent_factory, pki):
    g = tls_gantryd(mutual=True)
    good = agent_factory(g, "w-good", args=pki.client_args(pki.good))
    tid = submit(g, {"command": ["true"], "cpu_required": 0.1, "memory_required": 16})
    assert wait_task(g, tid)["status"] == "completed"
    none = agent_factory(g, "w-none", args=pki.client_args(), wait=False)
    refused(none, "TLS handshake failed: peer did not return a certificate", g)
    wait_until(lambda: "certificate required" in none.proc.text(), 10,
               what="the agent to say why")
    expired = agent_factory(g, "w-expired", args=pki.client_args(pki.expired), wait=False)
    refused(expired, "certificate verify failed: certificate has expired", g)
    foreign = agent_factory(g, "w-foreign", args=pki.client_args(pki.foreign), wait=False)
    refused(foreign, "certificate verify failed: unable to get local issuer certificate", g)
    # Each refusal is logged once, however often the agents retry.
    for a in (none, expired, foreign):
        wait_until(lambda: a.proc.text().count("master 127.0.0.1") >= 1, 10)
    assert g.log().count("peer did not return a certificate") == 1
    assert good.state() == "active"
    assert [w for w in g.get("/workers").json()] == ["w-good"]


def test_worker_id_bound_to_certificate(tls_gantryd, agent_factory, pki):
    g = tls_gantryd(mutual=True, bind=True)
    agent_factory(g, "w-good", args=pki.client_args(pki.good))       # CN=w-good
    agent_factory(g, "w-san", args=pki.client_args(pki.san))         # DNS:w-san
    thief = agent_factory(g, "w-other", args=pki.client_args(pki.good), wait=False)
    wait_until(lambda: "CERT_MISMATCH" in thief.proc.text(), 10, what="the agent refused")
    assert "CERT_MISMATCH" in g.log()
    assert thief.state() is None
    assert sorted(g.get("/workers").json()) == ["w-good", "w-san"]


def test_plain_tcp_refused_while_a_tls_agent_heartbeats(tls_gantryd, agent_factory, pki):
    g = tls_gantryd(http=True)
    agent_factory(g, "w-tls", args=pki.client_args())
    before = heartbeats(g)
    with socket.create_connection(("127.0.0.1", g.agent_port), timeout=5) as s:
        s.sendall(b'{"type":"hello","version":1,"worker_id":"x","token":""}\n')
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
    assert b'"code":"TLS_REQUIRED"' in answer
    answer = harness.raw_http(g.http_port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    status, _, body = harness.parse_responses(answer)[0]
    assert status == 400 and b"HTTPS only" in body
    log = g.log()
    assert "agents 127.0.0.1:" in log and "not TLS: the client spoke plain text" in log
    assert re.search(r"http 127\.0\.0\.1:\d+: not TLS: the client spoke plain text "
                     r'\("GET /health HTTP/1\.1"\)', log)
    # The TLS agent went on heartbeating meanwhile, on the same connection.
    wait_until(lambda: heartbeats(g) >= before + 5, 10, what="heartbeats to go on")
    assert log.count("worker w-tls joined") == 1


def test_https_with_curl_requests_gantryctl_and_wss(tls_gantryd, agent_factory, pki):
    g = tls_gantryd(http=True)
    assert f"HTTP on https://127.0.0.1:{g.http_port}" in g.log()
    agent_factory(g, "w-wss", args=pki.client_args())
    out = subprocess.run(["curl", "-sS", "--cacert", pki.ca, g.url + "/health"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 0 and '"status":' in out.stdout, out.stderr
    out = subprocess.run(["curl", "-sS", g.url + "/health"], capture_output=True, text=True,
                         timeout=10)
    assert out.returncode == 60, out              # not verified without the CA
    r = requests.get(g.url + "/workers", verify=pki.ca, timeout=5)
    assert r.status_code == 200 and "w-wss" in r.json()
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(g.url + "/health", timeout=5)
    ctl = [os.path.join(BUILD, "gantryctl"), "--server", g.url, "--cacert", pki.ca]
    out = subprocess.run(ctl + ["workers"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0 and "w-wss" in out.stdout, out.stderr
    out = subprocess.run(ctl[:3] + ["workers"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 3, out
    ws = websocket.create_connection(f"wss://127.0.0.1:{g.http_port}/ws",
                                     sslopt={"ca_certs": pki.ca}, timeout=10)
    try:
        ws.send('{"type":"subscribe","topic":"telemetry","filters":{"worker_id":"w-wss"}}')
        deadline = time.monotonic() + 10
        seen = False
        while not seen and time.monotonic() < deadline:
            seen = "w-wss" in ws.recv()
        assert seen
    finally:
        ws.close()
    tid = submit(g, {"command": ["sh", "-c", "echo over-wss"], "cpu_required": 0.1,
                     "memory_required": 16})
    out = subprocess.run(ctl + ["logs", tid, "-f"], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0 and "over-wss" in out.stdout, out


def peer_serial(sock):
    return int(sock.getpeercert()["serialNumber"], 16)


def tls_socket(port, ca, host="127.0.0.1"):
    ctx = ssl.create_default_context(cafile=ca)
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5),
                           server_hostname=host)


def http_over(sock, path="/health"):
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    data = b""
    while True:
        data += sock.recv(65536)
        parsed = harness.parse_responses(data)
        if parsed and len(parsed[0][2]) == int(parsed[0][1]["content-length"]):
            return parsed[0][0]


def test_sighup_swaps_certificates_for_new_connections_only(tls_gantryd, agent_factory, pki):
    g = tls_gantryd(http=True)
    agent_factory(g, "w-stay", args=pki.client_args())
    old = tls_socket(g.http_port, pki.ca)
    assert http_over(old) == 200
    old_serial = peer_serial(old)
    shutil.copy(pki.server2[0], os.path.join(g.workdir, "cert.pem"))
    shutil.copy(pki.server2[1], os.path.join(g.workdir, "key.pem"))
    g.proc.signal(signal.SIGHUP)
    wait_until(lambda: "agents: TLS certificate reloaded" in g.log(), 10, what="the reload")
    assert "CN=gantryd-rotated" in g.log()
    new = tls_socket(g.http_port, pki.ca)
    assert new.getpeercert()["subject"] == ((("commonName", "gantryd-rotated"),),)
    assert peer_serial(new) != old_serial
    assert http_over(new) == 200
    # The open connection keeps the certificate it started with, and works.
    assert peer_serial(old) == old_serial
    assert http_over(old) == 200
    old.close()
    new.close()
    # The agent's connection stayed: it joined once, and heartbeats go on.
    before = heartbeats(g)
    wait_until(lambda: heartbeats(g) >= before + 3, 10, what="heartbeats after the reload")
    assert g.log().count("worker w-stay joined") == 1
    # A broken file on disk: the reload keeps what is in use, and says why.
    with open(os.path.join(g.workdir, "key.pem"), "w") as f:
        f.write("not a key\n")
    g.proc.signal(signal.SIGHUP)
    wait_until(lambda: "reload refused" in g.log(), 10, what="the refused reload")
    assert "http.tls_key" in g.log()
    s = tls_socket(g.http_port, pki.ca)
    assert s.getpeercert()["subject"] == ((("commonName", "gantryd-rotated"),),)
    s.close()


def client_hello(ca):
    """The first flight of a real TLS client, as bytes."""
    ctx = ssl.create_default_context(cafile=ca)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return out.read()


def abuse(port, payloads):
    """Sends each payload on a connection of its own and waits for the
    server to close it (or 5 s)."""
    for p in payloads:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            try:
                s.sendall(p)
                s.shutdown(socket.SHUT_WR)
                while s.recv(4096):
                    pass
            except (ConnectionResetError, socket.timeout, BrokenPipeError):
                pass


def test_random_bytes_and_truncated_handshakes(tls_gantryd, agent_factory, pki):
    g = tls_gantryd(http=True, mutual=True)
    agent_factory(g, "w-good", args=pki.client_args(pki.good))
    hello = client_hello(pki.ca)
    rnd = random.Random(19)
    payloads = [bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 3000)))
                for _ in range(60)]
    payloads += [b"\x16" + bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 600)))
                 for _ in range(30)]
    payloads += [hello[:rnd.randrange(1, len(hello))] for _ in range(30)]
    payloads += [hello + bytes(rnd.getrandbits(8) for _ in range(200)) for _ in range(10)]
    for port in (g.agent_port, g.http_port):
        abuse(port, payloads)
    assert g.proc.alive()
    assert requests.get(g.url + "/health", verify=pki.ca, timeout=5).status_code == 200
    assert g.get("/workers").json()["w-good"]["state"] == "active"
    refusals = [l for l in g.log().splitlines() if "connection refused" in l]
    # 260 bad connections on each port, logged at most once a minute per
    # port, address and kind of reason.
    assert 2 <= len(refusals) < 30, refusals
    assert sum("not TLS" in l for l in refusals) == 2, refusals
    before = g.settled_fd_count()
    assert before < 40


def stall(port, hello, n, whole=lambda i: True):
    """n connections that start a handshake and stall: a whole ClientHello
    (the server answers and waits for the client's Finished) or half of
    one (the server waits for the rest of the record)."""
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(hello if whole(i) else hello[:len(hello) // 2])
        socks.append(s)
    return socks


def test_stalled_handshakes_bounded_memory(tls_gantryd, agent_factory, pki, tmp_path):
    g = tls_gantryd(build=harness.OPT_BUILD, http=True, mutual=True,
                    extra={"agents": {"hello_timeout": "6s", "tls_max_handshakes": "300"},
                           "http": {"header_timeout": "6s"}})
    agent_factory(g, "w-good", args=pki.client_args(pki.good), build=harness.OPT_BUILD)
    hello = client_hello(pki.ca)
    before = settle_rss(g)
    fds0 = g.settled_fd_count()
    peaks = []
    for rnd in range(3):
        served = Watch(g)             # a good HTTPS client's /health, timed
        hb0 = heartbeats(g)
        stalled = stall(g.http_port, hello, 1000, whole=lambda i: i % 2 == 0)
        wait_until(lambda: g.fd_count() >= fds0 + 1000, 10, what="1,000 stalled handshakes")
        # On the agent port at most agents.tls_max_handshakes are held:
        # past it the oldest go, so a good agent still gets in.
        stalled += stall(g.agent_port, hello, 600)
        late = agent_factory(g, f"w-late{rnd}", args=pki.client_args(pki.good),
                             build=harness.OPT_BUILD)
        assert late.state() == "active"
        assert g.fd_count() <= fds0 + 1000 + 300 + 4 + rnd
        # Each stalled handshake holds OpenSSL's state and at most one
        # record's buffer (about 45 KiB), however long it stalls.
        peaks.append(g.rss_kib())
        assert peaks[0] - before < 1300 * 56, (before, peaks)
        served.done()
        assert heartbeats(g) > hb0
        # The handshake timeout (http.header_timeout, agents.hello_timeout)
        # closes them all.
        wait_until(lambda: g.fd_count() <= fds0 + 2 + rnd, 20, what="the stalled ones closed")
        for s in stalled:
            s.close()
    log = g.log()
    assert "TLS handshake dropped: 300 under way, the oldest go " \
           "(agents.tls_max_handshakes)" in log
    # One log line per address and reason and minute, not 3,200.
    assert 1 <= log.count("TLS handshake not complete within 6s") <= 4
    assert g.get("/workers").json()["w-good"]["state"] == "active"
    # Memory freed by one round serves the next (the allocator settles
    # after the first): nothing piles up.
    assert peaks[2] - peaks[1] < 4 * 1024, (before, peaks)


def test_configuration_errors(tmp_path, pki):
    gantryd = os.path.join(BUILD, "gantryd")

    def check(*sets):
        argv = [gantryd, "--check-config"]
        for s in sets:
            argv += ["--set", s]
        return subprocess.run(argv, capture_output=True, text=True, timeout=10)
    ok = check(f"agents.tls_cert={pki.server[0]}", f"agents.tls_key={pki.server[1]}",
               f"agents.tls_ca={pki.ca}", "agents.tls_bind_id=true")
    assert ok.returncode == 0, ok.stderr
    cases = [
        ((f"agents.tls_cert={pki.server[0]}",), "agents.tls_key: needed with agents.tls_cert"),
        ((f"http.tls_key={pki.server[1]}",), "http.tls_cert: needed with http.tls_key"),
        ((f"http.tls_cert={tmp_path}/nope.pem", f"http.tls_key={pki.server[1]}"),
         f"http.tls_cert = '{tmp_path}/nope.pem': cannot read: No such file or directory"),
        ((f"agents.tls_cert={pki.server[0]}", f"agents.tls_key={pki.good[1]}"),
         "does not match agents.tls_cert"),
        ((f"agents.tls_cert={pki.server[1]}", f"agents.tls_key={pki.server[1]}"),
         "not a PEM certificate"),
        (("agents.tls_bind_id=true",), "agents.tls_bind_id = true: needs agents.tls_ca"),
        ((f"agents.tls_ca={pki.ca}",), "agents.tls_cert and agents.tls_key: both needed"),
    ]
    for sets, line in cases:
        r = check(*sets)
        assert r.returncode == 2 and line in r.stderr, (sets, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1
    agent = [os.path.join(BUILD, "gantry-agent"), "--workdir", str(tmp_path)]
    for args, line in ((["--tls-cert", pki.good[0]], "--tls-key: needed with --tls-cert"),
                       (["--tls-ca", f"{tmp_path}/nope"], "--tls-ca = "),
                       (["--tls-key", pki.good[1]], "--tls-cert: needed with --tls-key")):
        r = subprocess.run(agent + args, capture_output=True, text=True, timeout=10)
        assert r.returncode == 2 and line in r.stderr, (args, r.stderr)


def test_clear_text_tokens_warned(tmp_path, redis_server, pki):
    tokens = {"tokens": "admin:secret-admin-token"}
    wd = tmp_path / "plain"
    wd.mkdir()
    port = harness.free_port()
    g = TlsGantryd(str(wd), redis=redis_server, http_port=port, wait=False,
                   conf={"http": dict(tokens, listen=f"0.0.0.0:{port}"),
                         "agents": {"token": "join-token"}})
    wait_until(lambda: "HTTP on http://" in g.log(), 10, what="gantryd to start")
    assert "API tokens cross the network in clear text" in g.log()
    g.proc.kill()
    wd = tmp_path / "tls"
    wd.mkdir()
    conf = tls_conf(pki, str(wd), http=True)
    conf["http"].update(tokens, listen=f"0.0.0.0:{port}")
    g = TlsGantryd(str(wd), redis=redis_server, http_port=port, ca=pki.ca, https=True,
                   conf=conf)
    assert "clear text" not in g.log()
    g.proc.kill()


def test_replay_over_tls(tls_gantryd, pki, tmp_path):
    g = tls_gantryd(mutual=True)
    csv = tmp_path / "two.csv"
    header = ("timestamp,metric_name,gpu_id,device,uuid,modelName,Hostname,container,pod,"
              "namespace,value,labels_raw\n")
    rows = "".join(f'"2025-07-18T20:42:3{i}Z","DCGM_FI_DEV_GPU_UTIL","0","nvidia0",'
                   f'"GPU-aaaaaaaa-0000-0000-0000-00000000000{h}","NVIDIA H100 80GB HBM3",'
                   f'"host-{h}","","","","{40 + i}",""\n' for i in range(2) for h in range(2))
    csv.write_text(header + rows)
    r = subprocess.run([os.path.join(BUILD, "gantry-replay"), str(csv), "--master",
                        g.agent_addr, "--interval", "50ms"] + pki.client_args(pki.good),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "2 joined" in r.stderr, r.stderr
    assert {h["hostname"] for h in g.get("/api/v1/hosts").json()["data"]} == {"host-0", "host-1"}
    # Without a client certificate: refused, and it says why (it retries).
    p = harness.Proc("replay", [os.path.join(BUILD, "gantry-replay"), str(csv), "--master",
                                g.agent_addr, "--tls-ca", pki.ca], str(tmp_path))
    wait_until(lambda: "certificate required" in p.text(), 10, what="replay to say why")
    p.kill()
