"""A local web server for browser tests: answers every GET with the page the test sets and records the paths it
was asked for (a hostile site, a beacon that proves whether a script ran, a stand-in gateway)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class PageServer:
    def __init__(self, page: str = "") -> None:
        self.page = page
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's hook name
                server.hits.append(self.path)
                body = server.page.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def url(self, host: str = "127.0.0.1") -> str:
        """Its base URL under `host` (a browser told to resolve that name to 127.0.0.1 reaches it)."""
        return f"http://{host}:{self.port}"


@contextmanager
def serving(page: str = "") -> Iterator[PageServer]:
    pages = PageServer(page)
    thread = threading.Thread(target=pages.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield pages
    finally:
        pages.server.shutdown()
        pages.server.server_close()
