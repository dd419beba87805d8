"""A single-threaded moto server for the integration tests.

Stock ``moto_server`` answers on threads, and moto's conditional writes are not atomic across
threads (two winners of one DynamoDB condition were measured under thread switching). Here one
thread answers every request in turn, so each request is atomic, as DynamoDB's are. And
``TransactWriteItems`` honours ``ClientRequestToken`` as DynamoDB does (see
``IdempotentTransactions``).

Usage: ``python tests/moto/server.py [--threaded]``. Listens on 127.0.0.1 on a free port,
prints that port on one line of stdout, and serves until stdin closes (the test process that
started it died or let go of it) or it gets SIGTERM/SIGINT.

``--threaded`` is for the cold-start benchmark, where nothing races: threaded werkzeug speaks
HTTP/1.1 with keep-alive, so connections primed during a function's init are reused by its
first invocation, as on DynamoDB and SES.
"""

import hashlib
import io
import json
import signal
import sys
import threading
import time

from werkzeug.serving import BaseWSGIServer, make_server

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


class QuietHandler(MotoRequestHandler):
    """Moto's handler without the access log: errors still go to stderr."""

    # A client's connection pool may open a connection and leave it idle (two calls at once,
    # one served by another connection first). One thread blocked reading it would stall every
    # other client; the socket timeout bounds that wait.
    timeout = 5

    def log_request(self, code="-", size="-") -> None:
        pass


class IdempotentTransactions:
    """DynamoDB's ``TransactWriteItems`` is idempotent by ``ClientRequestToken`` for 10 minutes:
    a call repeating the token of one that succeeded answers as it did and changes nothing, and
    the same token with other parameters is ``IdempotentParameterMismatchException``. Moto
    ignores the token. The AWS SDK fills it and keeps it across retries, so on moto a retry
    after an attempt that timed out but was applied failed its own conditions (a consume that
    changed the password answered INVALID_CODE under load); on DynamoDB it succeeds."""

    WINDOW_SECONDS = 600

    def __init__(self, app) -> None:
        self.app = app
        self.done: dict[str, tuple[str, str, list, list[bytes], float]] = {}

    def __call__(self, environ, start_response):
        if not environ.get("HTTP_X_AMZ_TARGET", "").endswith(".TransactWriteItems"):
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            token = json.loads(body or b"{}").get("ClientRequestToken")
        except ValueError:
            token = None
        digest = hashlib.sha256(body).hexdigest()
        now = time.monotonic()
        seen = self.done.get(token) if token else None
        if seen and now - seen[4] < self.WINDOW_SECONDS:
            if seen[0] != digest:
                error = json.dumps({
                    "__type": "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                    "message": "the token was used with other parameters",
                }).encode()
                start_response("400 Bad Request", [
                    ("Content-Type", "application/x-amz-json-1.0"),
                    ("Content-Length", str(len(error))),
                ])
                return [error]
            start_response(seen[1], seen[2])
            return seen[3]
        answer: dict = {}

        def capture(status, headers, exc_info=None):
            answer["status"], answer["headers"] = status, headers
            return start_response(status, headers, exc_info)

        chunks = list(self.app(environ, capture))
        if token and answer.get("status", "").startswith("200"):
            self.done[token] = (digest, answer["status"], answer["headers"], chunks, now)
        return chunks


def main() -> None:
    # Races open dozens of connections at once; the default listen backlog (5) would make the
    # kernel drop SYNs and the clients wait a second per retry.
    BaseWSGIServer.request_queue_size = 256
    app = IdempotentTransactions(DomainDispatcherApplication(create_backend_app))
    threaded = "--threaded" in sys.argv[1:]
    server = make_server(
        "127.0.0.1", 0, app, threaded=threaded, request_handler=QuietHandler
    )
    # One thread serves (unless --threaded): requests are handled one after another.
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    print(server.server_port, flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def watch_stdin() -> None:
        # read() returns at EOF: the parent closed the pipe or exited.
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    stop.wait()
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
