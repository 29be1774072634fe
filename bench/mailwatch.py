"""The load phase's view of the mail catcher: every approval email of one load, read once, as it arrives.

The catcher's event stream (`/api/events`, server-sent events) announces each new message with its summary; a
small pool reads each message of the load (one `GET /api/v1/message/{ID}`: its text names the execution and holds
the Approve link) while the rest are still coming. So by the time the last email is caught, nearly all are read,
and the harness never lists the whole mailbox in a loop (a list call took 0.6 s at 1,000 messages) nor falls behind
the catcher's retention (MAILCATCHER_MAX_MESSAGES, default 1,000): a message is read seconds after it arrives,
long before newer mail could prune it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from bench.pipeline import parse_created
from lambdas.approval import execution_in_mail


@dataclass(frozen=True)
class Caught:
    message_id: str
    created: float  # the catcher's arrival time, epoch seconds
    execution: str | None
    approve_url: str | None
    error: str | None = None


def approve_link_pattern(api_url: str) -> re.Pattern[str]:
    """The Approve link of the deployed decision API, as it appears in a mail's text."""
    return re.compile(re.escape(api_url.rstrip("/")) + r"/approve\?token=[^\s\"'<>]+")


class MailWatch:
    """Follows the catcher's event stream from `start()` on; reads each message whose subject holds `tag`."""

    def __init__(self, mail_url: str, api_url: str, tag: str, readers: int = 4,
                 on_caught: Callable[[Caught], None] | None = None) -> None:
        self.mail_url = mail_url.rstrip("/")
        self.tag = tag
        self.approve_link = approve_link_pattern(api_url)
        self.on_caught = on_caught
        self._pool = ThreadPoolExecutor(readers, thread_name_prefix="bench-mail-read")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._seen: set[str] = set()
        self._pending = 0
        self.caught: dict[str, Caught] = {}  # message id -> what it says
        self.stream_error: str | None = None
        self._stream: http.client.HTTPConnection | None = None
        self._connected = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._follow, name="bench-mail-events", daemon=True)

    # --- lifecycle -------------------------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        if not self._connected.wait(timeout):
            raise RuntimeError(f"the catcher's event stream did not answer within {timeout:g} s: {self.stream_error}")

    def close(self) -> None:
        self._closing = True
        stream = self._stream
        if stream is not None and stream.sock is not None:
            with contextlib.suppress(OSError):  # wakes the reading thread at once (close() would wait for it)
                stream.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        self._pool.shutdown(wait=True, cancel_futures=True)

    # --- what the stream brings ----------------------------------------------------------------------------

    def _follow(self) -> None:
        address = urlsplit(self.mail_url)
        connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port or 80, timeout=60)
        try:
            connection.request("GET", "/api/events", headers={"Accept": "text/event-stream"})
            response = connection.getresponse()
            if response.status != 200:
                raise RuntimeError(f"GET /api/events answered {response.status}")
            self._stream = connection
            self._connected.set()
            while not self._closing:
                line = response.readline()
                if not line:
                    return
                if line.startswith(b"data:"):
                    event = json.loads(line[5:])
                    if event.get("Type") == "new":
                        self.offer(event["Data"])
        except Exception as error:  # noqa: BLE001 - reported by start() or by the load's catch-up search
            if not self._closing:
                self.stream_error = f"{type(error).__name__}: {error}"
        finally:
            self._connected.set()
            connection.close()

    def offer(self, summary: dict) -> None:
        """A message summary (from the stream or a search); read it once if it belongs to this load."""
        if self.tag not in (summary.get("Subject") or ""):
            return
        with self._lock:
            if summary["ID"] in self._seen:
                return
            self._seen.add(summary["ID"])
            self._pending += 1
        self._pool.submit(self._read, summary["ID"], parse_created(summary["Created"]))

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _read(self, message_id: str, created: float) -> None:
        caught: Caught
        try:
            response = self._session().get(f"{self.mail_url}/api/v1/message/{message_id}", timeout=30)
            if response.status_code == 404:
                raise LookupError("deleted before it was read (the catcher's retention, MAILCATCHER_MAX_MESSAGES?)")
            response.raise_for_status()
            text = response.json().get("Text") or ""
            link = self.approve_link.search(text)
            caught = Caught(message_id, created, execution_in_mail(text), link.group(0) if link else None)
        except (requests.RequestException, ValueError, LookupError) as error:
            caught = Caught(message_id, created, None, None, f"{type(error).__name__}: {error}")
        with self._changed:
            self.caught[message_id] = caught
            self._pending -= 1
            self._changed.notify_all()
        if self.on_caught is not None:
            self.on_caught(caught)

    # --- questions the load asks ----------------------------------------------------------------------------

    def executions(self) -> set[str]:
        with self._lock:
            return {c.execution for c in self.caught.values() if c.execution}

    def wait_read(self, timeout: float) -> bool:
        """Until every message offered so far is read; False when some are still being read at the deadline."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending == 0, timeout)

    def catch_up(self, search: Callable[[str, int], list[dict]], limit: int) -> None:
        """Offer whatever the stream may have missed (a dropped connection), by one search for the tag."""
        for summary in search(self.tag, limit):
            self.offer(summary)

    def per_execution(self) -> Counter[str]:
        with self._lock:
            return Counter(c.execution for c in self.caught.values() if c.execution)

    def unreadable(self) -> list[Caught]:
        with self._lock:
            return [c for c in self.caught.values() if c.error or not c.execution or not c.approve_url]
