"""The one thread that stores what the SMTP sessions receive, a batch at a time.

Messages that arrive while the previous batch is being stored are parsed together (in the parser's child
process, on another core) and then committed together in one transaction; each session gets its reply only after
that commit. Under load this saves a commit per message and thread hand-offs: one wake-up of the writer and one
call back into the event loop for the replies per batch (the store's change events still cross once each).
Alone, a message is a batch of one, stored at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from .parser_process import Item, ParseFailed, ParserGone, ParserProcess
from .record import Record
from .store import Store

log = logging.getLogger("mailcatcher.smtp")

# Bound the work (and the reply latency) of one batch, and what one pipe write to the parser holds; beyond
# them the next batch takes the rest (a message bigger than MAX_BATCH_BYTES is a batch of its own).
MAX_BATCH = 64
MAX_BATCH_BYTES = 8 << 20


class Parser(Protocol):
    def start(self) -> None: ...
    def parse_many(self, items: list[Item]) -> list[Record | ParseFailed]: ...
    def close(self) -> None: ...


@dataclass
class _Incoming:
    raw: bytes
    sender: str
    recipients: list[str]
    done: asyncio.Future[dict[str, Any]]


class StoreWriter:
    def __init__(self, store: Store, loop: asyncio.AbstractEventLoop, parser: Parser | None = None) -> None:
        self.store = store
        self.parser: Parser = parser or ParserProcess()
        self._loop = loop
        self._queue: list[_Incoming] = []
        self._ready = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="mailcatcher-store", daemon=True)
        self._thread.start()

    def store_message(self, raw: bytes, sender: str, recipients: list[str]) -> asyncio.Future[dict[str, Any]]:
        """Queue a message (from the loop); the future gets its summary once it is committed."""
        done: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        with self._ready:
            if self._closed:
                done.set_exception(RuntimeError("the store is closing"))
                return done
            self._queue.append(_Incoming(raw, sender, recipients, done))
            self._ready.notify()
        return done

    def close(self) -> None:
        """Store what is queued, then stop the thread."""
        with self._ready:
            self._closed = True
            self._ready.notify()
        self._thread.join(10)
        self.parser.close()

    def _run(self) -> None:
        self.parser.start()
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return
                batch = self._take()
            outcomes = self._store(batch)
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits for the replies
                self._loop.call_soon_threadsafe(_settle, batch, outcomes)

    def _take(self) -> list[_Incoming]:
        """The next batch (lock held)."""
        size, count = 0, 0
        for item in self._queue[:MAX_BATCH]:
            if count and size + len(item.raw) > MAX_BATCH_BYTES:
                break
            size, count = size + len(item.raw), count + 1
        batch, self._queue = self._queue[:count], self._queue[count:]
        return batch

    def _store(self, batch: list[_Incoming]) -> list[dict[str, Any] | BaseException]:
        """Each message's summary, or why it could not be stored (a parse failure costs only its own message)."""
        try:
            found = self.parser.parse_many([(item.raw, item.sender, item.recipients) for item in batch])
        except ParserGone as exc:
            log.error("%s: %d message(s) refused with 451", exc, len(batch))
            return [exc] * len(batch)
        parsed: list[tuple[Record, bytes]] = []
        for item, result in zip(batch, found, strict=True):
            if isinstance(result, ParseFailed):
                log.error("could not parse the message from %s: %s", item.sender, result)
            else:
                parsed.append((result, item.raw))
        try:
            stored = iter(self.store.add_parsed(parsed) if parsed else [])
        except Exception as exc:
            log.exception("could not store %d message(s)", len(parsed))
            return [result if isinstance(result, ParseFailed) else exc for result in found]
        return [result if isinstance(result, ParseFailed) else next(stored) for result in found]


def _settle(batch: list[_Incoming], outcomes: list[dict[str, Any] | BaseException]) -> None:
    for item, outcome in zip(batch, outcomes, strict=True):
        if item.done.done():  # cancelled: the session is gone
            continue
        if isinstance(outcome, BaseException):
            item.done.set_exception(outcome)
        else:
            item.done.set_result(outcome)
