"""Fixtures of the feeds tests (helpers live in feed_helpers.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest
from feed_helpers import LocalServer, handler_class


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up early (a preview's early stop) is expected here


@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    state = LocalServer(port=0)
    httpd = _QuietServer(("127.0.0.1", 0), handler_class(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
