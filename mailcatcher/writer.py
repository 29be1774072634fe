"""The one thread that stores what the SMTP sessions receive, a batch at a time.

Messages that arrive while the previous batch is being stored are parsed one by one and then committed together
in one transaction; each session gets its reply only after that commit. Under load this saves a commit per
message and, more, the thread hand-offs: one wake-up of the writer and one of the event loop per batch instead
of per message. Alone, a message is a batch of one, stored at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass
from typing import Any

from .record import Record
from .store import Store

log = logging.getLogger("mailcatcher.smtp")

# Bounds the work (and the reply latency) of one transaction; beyond it the next batch takes the rest.
MAX_BATCH = 64


@dataclass
class _Incoming:
    raw: bytes
    sender: str
    recipients: list[str]
    done: asyncio.Future[dict[str, Any]]


class StoreWriter:
    def __init__(self, store: Store, loop: asyncio.AbstractEventLoop) -> None:
        self.store = store
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

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            outcomes = self._store(batch)
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits for the replies
                self._loop.call_soon_threadsafe(_settle, batch, outcomes)

    def _store(self, batch: list[_Incoming]) -> list[dict[str, Any] | BaseException]:
        """Each message's summary, or why it could not be stored (a parse failure costs only its own message)."""
        parsed: list[tuple[Record, bytes]] = []
        failed: dict[int, BaseException] = {}
        for index, item in enumerate(batch):
            try:
                parsed.append((self.store.parse(item.raw, item.sender, item.recipients), item.raw))
            except Exception as exc:
                log.exception("could not parse the message from %s", item.sender)
                failed[index] = exc
        try:
            stored = iter(self.store.add_parsed(parsed) if parsed else [])
        except Exception as exc:
            log.exception("could not store %d message(s)", len(parsed))
            return [failed.get(index, exc) for index in range(len(batch))]
        return [failed[index] if index in failed else next(stored) for index in range(len(batch))]


def _settle(batch: list[_Incoming], outcomes: list[dict[str, Any] | BaseException]) -> None:
    for item, outcome in zip(batch, outcomes, strict=True):
        if item.done.done():  # cancelled: the session is gone
            continue
        if isinstance(outcome, BaseException):
            item.done.set_exception(outcome)
        else:
            item.done.set_result(outcome)
