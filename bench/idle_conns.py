#!/usr/bin/env python3
"""Memory per idle connection: gantryd's RSS before and after N idle HTTP
connections, as bytes per connection. Usage: idle_conns.py BUILD [N]"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

from suite import free_port


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    port = free_port()
    log = tempfile.TemporaryFile()
    g = subprocess.Popen([os.path.join(build, "gantryd"), "--http", f"127.0.0.1:{port}",
                          "--listen", "127.0.0.1:0", "--set", "http.max_connections=100000",
                          "--set", "http.idle_timeout=1h"], stderr=log)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.3)
        before = rss_bytes(g.pid)
        socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
        time.sleep(1.0)
        after = rss_bytes(g.pid)
        per = (after - before) / n
        print(json.dumps({"idle_connections": n, "rss_before": before, "rss_after": after,
                          "bytes_per_idle_connection": round(per)}))
        for s in socks:
            s.close()
    finally:
        g.terminate()
        g.wait()


if __name__ == "__main__":
    main()
