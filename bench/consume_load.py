"""Local API under consume load: resident memory and throughput of valid consumes.

Starts the release `local-api` (memory store, console mailer) with N seed users and a server
key, then:
  1. 16 connections for --seconds: each loops "issue a code for its own user (server caller,
     return_code, no mail), consume it with a new password"; prints consumes/s and the
     server's VmHWM (peak) and VmRSS (steady, after the load) from /proc/<pid>/status;
  2. 1 connection, the same loop --sequential times (default 1,000); prints consumes/s and
     VmRSS before and after (growth across the run), and VmHWM.
Only the consume calls are timed into the throughput (issuing a code costs microseconds of
server time but a Python round trip here, so it is excluded). Prints figures, asserts nothing
but the answers (every call must be 200).

Usage: python bench/consume_load.py --local-api PATH [--seconds 6] [--sequential 1000]
"""

import argparse
import hashlib
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time

SERVER_KEY = "consume-load-server-key-0123456789abcdef"
PASSWORD = "an old passphrase"
CONNECTIONS = 16


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


class Client:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def post(self, path, body, server=False):
        headers = {"content-type": "application/json"}
        if server:
            headers["authorization"] = f"Bearer {SERVER_KEY}"
        self.conn.request("POST", path, json.dumps(body), headers)
        r = self.conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise RuntimeError(f"{path} answered {r.status}: {data[:200]!r}")
        return json.loads(data)

    def one_consume(self, email, n):
        code = self.post(
            "/password-reset/request",
            {"email": email, "return_code": True, "send_email": False},
            server=True,
        )["code"]
        t = time.perf_counter()
        self.post("/password-reset/consume", {"code": code, "password": f"new passphrase {n}"})
        return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--local-api", required=True)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--sequential", type=int, default=1000)
    args = ap.parse_args()

    users = [f"load{i}@example.com" for i in range(CONNECTIONS)]
    env = dict(os.environ)
    env.update(
        {
            "RUST_LOG": "warn",
            "SERVER_KEY_SHA256": hashlib.sha256(SERVER_KEY.encode()).hexdigest(),
            "RATE_LIMIT_REQUEST": "1000000000/600",
            "RATE_LIMIT_CHECK": "1000000000/600",
            "RATE_LIMIT_CONSUME": "1000000000/600",
            "MIN_REQUEST_RESPONSE_MS": "0",
            "NOTIFY_PASSWORD_CHANGED": "false",
        }
    )
    cmd = [args.local_api, "--port", "0"]
    for u in users:
        cmd += ["--user", f"{u}:{PASSWORD}"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        port = None
        for line in proc.stdout:
            # local-api's readiness line (local_api::READY_PREFIX).
            m = re.match(r"^ready http://127\.0\.0\.1:(\d+)$", line.strip())
            if m:
                port = int(m.group(1))
                break
        if port is None:
            sys.exit("local API did not start")
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        pid = proc.pid
        started_kib = status_kib(pid, "VmRSS")
        cores = os.cpu_count()

        # 1. 16 connections
        stop = time.monotonic() + args.seconds
        counts = [0] * CONNECTIONS
        busy = [0.0] * CONNECTIONS
        errors = []

        def worker(i):
            try:
                c = Client(port)
                n = 0
                while time.monotonic() < stop:
                    busy[i] += c.one_consume(users[i], n)
                    counts[i] += 1
                    n += 1
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        t0 = time.monotonic()
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(CONNECTIONS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - t0
        if errors:
            sys.exit(f"errors under load: {errors[:3]}")
        total = sum(counts)
        peak16 = status_kib(pid, "VmHWM")
        steady16 = status_kib(pid, "VmRSS")
        mean_ms = 1e3 * sum(busy) / max(total, 1)
        print(f"    server: {cores} cores seen by this machine; VmRSS at start {started_kib} KiB")
        print(
            f"    16 connections, {wall:.1f} s: {total} consumes, {total / wall:.1f} consumes/s, "
            f"mean consume latency {mean_ms:.0f} ms"
        )
        print(
            f"    after 16 connections: VmHWM (peak) {peak16} KiB ({peak16 / 1024:.0f} MiB), "
            f"VmRSS (steady) {steady16} KiB ({steady16 / 1024:.0f} MiB)"
        )

        # 2. sequential
        c = Client(port)
        before = status_kib(pid, "VmRSS")
        spent = 0.0
        t0 = time.monotonic()
        for n in range(args.sequential):
            spent += c.one_consume(users[n % CONNECTIONS], n)
        wall = time.monotonic() - t0
        after = status_kib(pid, "VmRSS")
        peak = status_kib(pid, "VmHWM")
        print(
            f"    1 connection, {args.sequential} sequential consumes: "
            f"{args.sequential / spent:.1f} consumes/s (consume calls only; {wall:.1f} s in all), "
            f"mean {1e3 * spent / args.sequential:.1f} ms"
        )
        print(
            f"    across them: VmRSS {before} -> {after} KiB ({(after - before) / 1024:+.1f} MiB), "
            f"VmHWM {peak} KiB ({peak / 1024:.0f} MiB)"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
