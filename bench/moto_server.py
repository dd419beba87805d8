"""moto for the cold-start benchmark: like tests/moto/server.py, but threaded (HTTP/1.1).

The tests' server answers on one thread with HTTP/1.0, for atomic conditions under races. Here
no two calls race, and one thread would hang: when two calls of one process run at once, the
SDK's connection pool may open a connection it then leaves idle, and a single-threaded server
that accepted it waits on it. Threaded werkzeug speaks HTTP/1.1 with keep-alive, so the
connections primed during init are reused by the first invocation, as on DynamoDB and SES.

Prints its port on one line; serves until stdin closes or SIGTERM/SIGINT.
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
    """Moto's handler without the access log."""

    def log_request(self, code="-", size="-") -> None:
        pass


def main() -> None:
    BaseWSGIServer.request_queue_size = 256
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_port, flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
