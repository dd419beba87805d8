"""Cold starts of the Lambda bootstraps against a Lambda Runtime API stand-in on loopback.

For each function, RUNS times: exec a fresh ``bootstrap`` (x86_64) with Lambda's environment,
serve it one API Gateway v2 event (shaped like tests/events/) from a minimal Runtime API on
127.0.0.1, and time exec -> first ``GET /runtime/invocation/next`` (init: config, SDK clients,
the priming GetItem / GetAccount) and exec -> the posted response (init + first invocation).
Then the process is killed and the next one starts. Prints median and p95 (nearest rank).

DynamoDB and SES are moto (tests/moto/server.py --threaded: keep-alive) on loopback: tables are created and users
seeded by the local API (``--store dynamodb --create-tables``), which also issues one live code
per run (server caller, ``return_code``), so check answers ``is_valid: true`` and consume
really hashes and writes. Every run is a success path (status 200, asserted).

Standard library only. Every process started here is stopped on exit.

Usage: python bench/coldstart.py --bin-dir DIR --local-api PATH --moto-python PY [--runs N]
"""

import argparse
import hashlib
import json
import math
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "tests" / "events"
TOKEN_KEY = "cold-start-token-key-0123456789abcdef0123"
SERVER_KEY = "cold-start-server-key-0123456789abcdef"
CALLBACK = "https://app.example.com/reset-password"
PASSWORD = "cold-start-password"
FUNCTIONS = ("request", "check", "consume")
TEMPLATES = {
    "request": "request-ok.json",
    "check": "check-ok.json",
    "consume": "consume-invalid-code.json",
}
RUNTIME = "/2018-06-01/runtime"

children = []


def service_env(moto_port):
    """The service settings shared by the local API and the functions."""
    return {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "cold-start",
        "AWS_SECRET_ACCESS_KEY": "cold-start",
        "TOKEN_HMAC_KEY": TOKEN_KEY,
        "ALLOWED_CALLBACK_ORIGINS": "https://app.example.com",
        "DEFAULT_CALLBACK_URL": CALLBACK,
        "SERVER_KEY_SHA256": hashlib.sha256(SERVER_KEY.encode()).hexdigest(),
        # Many runs from one source address: the per-IP limits and the response-time floor
        # would measure themselves, not the function.
        "RATE_LIMIT_REQUEST": "1000000000/600",
        "RATE_LIMIT_CHECK": "1000000000/600",
        "RATE_LIMIT_CONSUME": "1000000000/600",
        "MIN_REQUEST_RESPONSE_MS": "0",
    }


def base_env():
    keep = ("PATH", "LANG", "TMPDIR")
    return {k: v for k, v in os.environ.items() if k in keep}


def start(cmd, env, **kw):
    proc = subprocess.Popen(cmd, env=env, **kw)
    children.append(proc)
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def start_moto(python):
    proc = start(
        [python, str(ROOT / "tests" / "moto" / "server.py"), "--threaded"],
        base_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline().strip()
    if not line.isdigit():
        sys.exit(f"moto did not print its port (got {line!r})")
    return proc, int(line)


def seed(local_api, moto_port, runs, log):
    """Tables, one user per run, one live code per run; then the local API is stopped."""
    users = [f"cold{i:02d}@example.com" for i in range(runs)]
    args = [local_api, "--port", "0", "--store", "dynamodb", "--create-tables"]
    args += ["--mailer", "ses", "--verify-sender"]
    for u in users:
        args += ["--user", f"{u}:{PASSWORD}"]
    env = base_env() | service_env(moto_port) | {"RUST_LOG": "warn"}
    proc = start(args, env, stdout=subprocess.PIPE, stderr=log, text=True)
    port = None
    deadline = time.monotonic() + 60
    while port is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            sys.exit("local API exited before listening (see the log)")
        if line.startswith("ready http://127.0.0.1:"):  # local_api::READY_PREFIX
            port = int(line.rsplit(":", 1)[1])
    if port is None:
        sys.exit("local API did not start within 60 s")
    codes = []
    for u in users:
        body = json.dumps({"email": u, "return_code": True, "send_email": False}).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/password-reset/request",
            data=body,
            headers={
                "content-type": "application/json",
                "authorization": f"Bearer {SERVER_KEY}",
            },
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            codes.append(json.load(r)["code"])
    stop(proc)
    return users, codes


class Run:
    """What one cold start saw, filled in by the Runtime API handlers."""

    def __init__(self, request_id, event):
        self.request_id = request_id
        self.event = event
        self.served = False
        self.t_next = None
        self.t_response = None
        self.response = None
        self.error = None
        self.finished = queue.Queue()
        self.release = threading.Event()


class RuntimeApi(BaseHTTPRequestHandler):
    """The four Runtime API routes a function uses; one invocation per process."""

    protocol_version = "HTTP/1.1"
    current = None  # the Run in progress

    def log_message(self, *_):
        pass

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the process was killed mid-call: expected after its first response

    def _body(self):
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("content-length", 0)))

    def _reply(self, status, payload, headers=()):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def do_GET(self):
        run = RuntimeApi.current
        if self.path != f"{RUNTIME}/invocation/next" or run is None:
            return self._reply(404, {"errorMessage": "not found"})
        if run.served:
            # The process asks for its second event: it is about to be killed. Hold the call.
            run.release.wait(30)
            self.close_connection = True
            return self._reply(500, {"errorMessage": "no more events"})
        run.t_next = time.perf_counter()
        run.served = True
        deadline = int(time.time() * 1000) + 10_000
        self._reply(
            200,
            run.event,
            [
                ("Lambda-Runtime-Aws-Request-Id", run.request_id),
                ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                (
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:bench",
                ),
                ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"),
            ],
        )

    def do_POST(self):
        now = time.perf_counter()
        body = self._body()
        run = RuntimeApi.current
        self._reply(202, {"status": "OK"})
        if run is None:
            return
        if self.path == f"{RUNTIME}/invocation/{run.request_id}/response":
            run.t_response = now
            run.response = json.loads(body or b"null")
        elif self.path.endswith("/error"):
            run.error = f"{self.path}: {body[:500]!r}"
        else:
            return
        run.finished.put(True)


def event_for(function, body):
    event = json.loads((EVENTS / TEMPLATES[function]).read_text())
    event["body"] = json.dumps(body)
    event["headers"]["content-length"] = str(len(event["body"]))
    return json.dumps(event).encode()


def cold_start(bootstrap, function, env, run, log):
    """One fresh process against a fresh Runtime API (its own port: a killed process's last
    call can never reach the next run)."""
    RuntimeApi.current = run
    server = ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = env | {"AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}"}
    t0 = time.perf_counter()
    proc = start([str(bootstrap)], env, stdout=log, stderr=log)
    try:
        run.finished.get(timeout=30)
    except queue.Empty:
        run.error = "no response within 30 s" + (
            " (the event was served)" if run.served else " (it never asked for an event)"
        )
    finally:
        stop(proc)
        run.release.set()
        server.shutdown()
        server.server_close()
    if run.error:
        sys.exit(f"{function}: {run.error} (log: {log.name})")
    status = run.response.get("statusCode")
    if status != 200:
        sys.exit(f"{function}: answered {status}: {run.response.get('body')} (log: {log.name})")
    return (run.t_next - t0) * 1e3, (run.t_response - t0) * 1e3


def p95(xs):
    s = sorted(xs)
    return s[math.ceil(0.95 * len(s)) - 1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin-dir", required=True, help="directory with request, check, consume")
    ap.add_argument("--local-api", required=True)
    ap.add_argument("--moto-python", required=True)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--memory-size", default="256")
    ap.add_argument("--functions", default=",".join(FUNCTIONS))
    a = ap.parse_args()

    logdir = Path(tempfile.mkdtemp(prefix="coldstart-"))
    moto, moto_port = start_moto(a.moto_python)
    try:
        with open(logdir / "local-api.log", "w") as log:
            users, codes = seed(a.local_api, moto_port, a.runs, log)
        bodies = {
            "request": [{"email": u, "callback_url": CALLBACK} for u in users],
            "check": [{"code": c} for c in codes],
            "consume": [{"code": c, "password": "a brand new passphrase"} for c in codes],
        }
        print(
            f"{a.runs} cold starts per function, x86_64 bootstrap from {a.bin_dir}, "
            f"a Runtime API stand-in on 127.0.0.1 per run, DynamoDB + SES on moto at 127.0.0.1:{moto_port}"
        )
        print(
            f"{'function':<9} {'init (exec -> GET /next)':>28}   "
            f"{'first response (exec -> POST)':>31}   {'first invocation':>18}"
        )
        print(f"{'':<9} {'median':>13} {'p95':>14}   {'median':>15} {'p95':>15}   {'median':>18}")
        for function in a.functions.split(","):
            env = base_env() | service_env(moto_port) | {
                "AWS_LAMBDA_FUNCTION_NAME": function,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": a.memory_size,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
                "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
                "AWS_LAMBDA_LOG_FORMAT": "JSON",
                "AWS_LAMBDA_LOG_LEVEL": os.environ.get("COLDSTART_LOG_LEVEL", "INFO"),
                "LAMBDA_TASK_ROOT": a.bin_dir,
                "_HANDLER": "bootstrap",
            }
            inits, firsts, invokes = [], [], []
            with open(logdir / f"{function}.log", "w") as log:
                for i, body in enumerate(bodies[function][: a.runs]):
                    run = Run(f"{function}-{i:02d}", event_for(function, body))
                    init, first = cold_start(
                        Path(a.bin_dir) / function, function, env, run, log
                    )
                    inits.append(init)
                    firsts.append(first)
                    invokes.append(first - init)
            print(
                f"{function:<9} {statistics.median(inits):>10.1f} ms {p95(inits):>11.1f} ms   "
                f"{statistics.median(firsts):>12.1f} ms {p95(firsts):>12.1f} ms   "
                f"{statistics.median(invokes):>15.1f} ms",
                flush=True,
            )
        print(f"(process logs: {logdir})")
    finally:
        for proc in children:
            stop(proc)
        moto.stdin.close()


if __name__ == "__main__":
    main()
