"""A small AWS Lambda Runtime API server, one per execution environment.

The function process runs AWS's own runtime interface client (awslambdaric), which long-polls
`GET /2018-06-01/runtime/invocation/next` and posts results, errors and init errors back. This module speaks
that API on 127.0.0.1 (a free port per environment) and hands invocations over through a `Mailbox`.
Standard library only; no LocalStack imports.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = logging.getLogger(__name__)

API_PREFIX = "/2018-06-01/runtime"
_RESULT_PATH = re.compile(rf"{API_PREFIX}/invocation/(?P<id>[^/]+)/(?P<kind>response|error)")


@dataclass
class Invocation:
    request_id: str
    payload: bytes
    invoked_function_arn: str
    trace_id: str
    deadline_ms: int
    done: threading.Event = field(default_factory=threading.Event)
    delivered: bool = False  # the runtime took it (GET /invocation/next answered with it)
    result: bytes = b""
    is_error: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def finish(self, result: bytes, is_error: bool) -> bool:
        """Complete the invocation; only the first completion counts (response, crash or timeout)."""
        with self._lock:
            if self.done.is_set():
                return False
            self.result, self.is_error = result, is_error
            self.done.set()
            return True


class Mailbox:
    """State shared by the Runtime API handlers and the environment that drives one runtime process."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.generation = 0  # bumped for every new runtime process; stale long-polls then give up
        self.pending: Invocation | None = None
        self.current: Invocation | None = None
        self.ready = False  # the runtime asked for its first invocation: init is complete
        self.init_error: bytes | None = None
        self.exited = False
        self.returncode: int | None = None
        self.closed = False

    def reset(self) -> int:
        with self.changed:
            self.generation += 1
            self.pending = self.current = None
            self.ready = self.exited = False
            self.init_error = self.returncode = None
            self.changed.notify_all()
            return self.generation

    def submit(self, invocation: Invocation) -> bool:
        """Queue the invocation for the runtime; False when the runtime process has already ended."""
        with self.changed:
            if self.exited:
                return False
            self.pending = invocation
            self.changed.notify_all()
            return True

    def next_invocation(self) -> Invocation | None:
        with self.changed:
            generation = self.generation
            self.ready = True
            self.changed.notify_all()
            while self.pending is None and not self.closed and generation == self.generation:
                self.changed.wait()
            if self.pending is None or generation != self.generation:
                return None
            self.current, self.pending = self.pending, None
            self.current.delivered = True
            return self.current

    def complete(self, request_id: str, result: bytes, is_error: bool) -> bool:
        with self.changed:
            invocation = self.current
            if invocation is None or invocation.request_id != request_id:
                return False
            self.current = None
        return invocation.finish(result, is_error)

    def report_init_error(self, body: bytes) -> None:
        with self.changed:
            self.init_error = body
            self.changed.notify_all()

    def report_exit(self, generation: int, returncode: int, error_for: Callable[[str, int], bytes]) -> None:
        """The runtime process ended: whatever invocation it had (or was about to get) fails at once."""
        with self.changed:
            if generation != self.generation:
                return
            self.exited, self.returncode = True, returncode
            orphans = [i for i in (self.current, self.pending) if i is not None]
            self.current = self.pending = None
            self.changed.notify_all()
        for invocation in orphans:
            invocation.finish(error_for(invocation.request_id, returncode), True)

    def close(self) -> None:
        with self.changed:
            self.closed = True
            self.changed.notify_all()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: RuntimeApiServer

    def setup(self) -> None:
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature of the base class
        pass  # the runtime polls constantly; access logs would drown LocalStack's log

    def do_GET(self) -> None:
        if self.path != f"{API_PREFIX}/invocation/next":
            self._reply(HTTPStatus.NOT_FOUND, b'{"errorType":"NotFound"}')
            return
        invocation = self.server.mailbox.next_invocation()
        if invocation is None:
            self._reply(HTTPStatus.GONE, b'{"errorType":"Runtime.Shutdown"}', close=True)
            return
        self._reply(
            HTTPStatus.OK,
            invocation.payload,
            {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": invocation.invoked_function_arn,
                "Lambda-Runtime-Trace-Id": invocation.trace_id,
            },
        )

    def do_POST(self) -> None:
        body = self._read_body()
        mailbox = self.server.mailbox
        if self.path == f"{API_PREFIX}/init/error":
            mailbox.report_init_error(
                self.server.normalize_error(body, self.headers.get("Lambda-Runtime-Function-Error-Type"))
            )
            self._reply(HTTPStatus.ACCEPTED, b'{"status":"OK"}')
            return
        match = _RESULT_PATH.fullmatch(self.path)
        if match is None:
            self._reply(HTTPStatus.NOT_FOUND, b'{"errorType":"NotFound"}')
            return
        is_error = match["kind"] == "error"
        if is_error:
            body = self.server.normalize_error(body, self.headers.get("Lambda-Runtime-Function-Error-Type"))
        if mailbox.complete(match["id"], body, is_error):
            self._reply(HTTPStatus.ACCEPTED, b'{"status":"OK"}')
        else:
            self._reply(HTTPStatus.BAD_REQUEST, b'{"errorType":"InvalidRequestID"}')

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: HTTPStatus, body: bytes, headers: dict[str, str] | None = None, close: bool = False):
        # Status line, headers and body in a single write: with separate small writes, Nagle's algorithm
        # meets the client's delayed ACK and every response waits ~40 ms.
        lines = [
            f"{self.protocol_version} {status.value} {status.phrase}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            *(f"{name}: {value}" for name, value in (headers or {}).items()),
        ]
        if close:
            lines.append("Connection: close")
            self.close_connection = True
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


class RuntimeApiServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, mailbox: Mailbox, normalize_error: Callable[[bytes, str | None], bytes]) -> None:
        self.mailbox = mailbox
        self.normalize_error = normalize_error
        super().__init__(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="lambda-runtime-api", daemon=True
        )

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"{host if isinstance(host, str) else host.decode()}:{port}"

    def start(self) -> None:
        self._thread.start()

    def handle_error(self, request: object, client_address: object) -> None:
        # A runtime process that is killed mid-request resets its connection; that is expected, not an error.
        LOG.debug("Runtime API connection from %s ended abruptly", client_address, exc_info=True)

    def stop(self) -> None:
        self.mailbox.close()
        self.shutdown()
        self.server_close()
