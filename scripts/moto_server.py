"""moto's DynamoDB API on loopback, one request at a time.

Real DynamoDB checks a conditional write and performs it atomically. moto's own server runs
each request in a thread and does not: two threads can both pass `attribute_not_exists` and
both write, so a test of "exactly one claim wins" would pass or fail by luck. Serving one
request at a time gives the tests the atomicity the bridge relies on. (Throughput is no
concern: a request takes moto a millisecond or two.)

    python scripts/moto_server.py -H 127.0.0.1 -p 5000
"""

import argparse
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


class OneAtATime:
    """A WSGI wrapper that serves one request at a time, its body produced inside the lock."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            result = self.app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        OneAtATime(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
