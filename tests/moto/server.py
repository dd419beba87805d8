"""A single-threaded moto server for the integration tests.

Stock ``moto_server`` answers on threads, and moto's conditional writes are not atomic across
threads (two winners of one DynamoDB condition were measured under thread switching). Here one
thread answers every request in turn, so each request is atomic, as DynamoDB's are.

Usage: ``python tests/moto/server.py [--threaded]``. Listens on 127.0.0.1 on a free port,
prints that port on one line of stdout, and serves until stdin closes (the test process that
started it died or let go of it) or it gets SIGTERM/SIGINT.

``--threaded`` is for the cold-start benchmark, where nothing races: threaded werkzeug speaks
HTTP/1.1 with keep-alive, so connections primed during a function's init are reused by its
first invocation, as on DynamoDB and SES.
"""

import signal
import sys
import threading

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


def main() -> None:
    # Races open dozens of connections at once; the default listen backlog (5) would make the
    # kernel drop SYNs and the clients wait a second per retry.
    BaseWSGIServer.request_queue_size = 256
    app = DomainDispatcherApplication(create_backend_app)
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
