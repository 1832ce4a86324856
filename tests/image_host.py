"""A tiny image host on 127.0.0.1 for featured-image tests: counts requests, answers with a
settable status (a host that is down, then back), or redirects elsewhere."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class CountingImageHost:
    def __init__(self, redirect: str | None = None, status: int = 200) -> None:
        self.hits = 0
        self.status = status
        host = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                host.hits += 1
                if redirect:
                    self.send_response(302)
                    self.send_header("Location", redirect)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(host.status)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", "4")
                self.end_headers()
                self.wfile.write(b"\x89PNG")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/img.png"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
