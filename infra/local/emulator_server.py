"""The AWS emulator (moto server) for the local stack and the tests, one request at a time.

moto applies a TransactWriteItems without isolation from requests running beside it, and a
cancelled one restores its tables from a copy taken before it began, undoing what other
requests wrote meanwhile. DynamoDB isolates transactions. Serving one request at a time
(connections are still accepted concurrently) keeps the emulator's answers DynamoDB's.

Usage: emulator_server.py <host> <port>
"""

import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    one_at_a_time = threading.Lock()

    def serialised(environ, start_response):
        with one_at_a_time:
            response = app(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                close = getattr(response, "close", None)
                if close:
                    close()

    run_simple(host, port, serialised, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
