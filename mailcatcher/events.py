"""Store changes on the server's event loop: the hub that fans them out, the long-poll waiters and the SSE stream.

Everything a client waits on is released the moment the client goes: each wait and each stream watches its
connection (``gone``) alongside what it waits for, so a disconnected caller costs nothing afterwards. Waiters are
matched against a new message once per distinct query, in one worker-thread call, not once per caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from .changes import Event
from .query import Term
from .store import Store

KEEPALIVE_SECONDS = 15.0


class EventHub:
    """Fans store events out to asyncio queues (SSE streams, other pages' streams) and to the waiters."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._queues: set[asyncio.Queue[Event | None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.waiters = Waiters(store)
        self.closed = False

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.closed = False
        self._unsubscribe = self.store.subscribe(self._from_store)

    def close(self) -> None:
        """End every stream and waiter (called on shutdown, from the loop thread)."""
        self.closed = True
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        for queue in list(self._queues):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)
        self.waiters.close()

    def close_threadsafe(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.close)

    def _from_store(self, event: Event) -> None:
        # Store writes happen in worker threads; hand the event to the loop that owns the queues.
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop shutting down
                loop.call_soon_threadsafe(self._publish, event)

    def _publish(self, event: Event) -> None:
        for queue in list(self._queues):
            with contextlib.suppress(asyncio.QueueFull):  # a stuck client misses events rather than eat memory
                queue.put_nowait(event)
        if event.type == "new":
            self.waiters.arrived(int(event.data["ID"]))

    @contextlib.contextmanager
    def listen(self) -> Iterator[asyncio.Queue[Event | None]]:
        queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=10000)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)


class Waiters:
    """Long-poll callers waiting for a message matching a query, grouped by query."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._waiting: dict[tuple[Term, ...], list[tuple[int, asyncio.Future[int | None]]]] = {}
        self._checking: asyncio.Task[None] | None = None
        self._arrived: list[int] = []

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._waiting.values())

    async def wait(self, terms: list[Term], after: int, timeout: float, gone: asyncio.Future[None]) -> int | None:
        """The first message newer than ``after`` matching ``terms``; None on timeout; CancelledError when the
        client went away or the server is closing."""
        key = tuple(terms)
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        entry = (after, future)
        self._waiting.setdefault(key, []).append(entry)  # before the first look: nothing slips between the two
        try:
            found = await run_in_threadpool(self.store.first_match_after, terms, after)
            if found is not None:
                return found
            waiting: set[asyncio.Future[Any]] = {future, gone}
            done, _ = await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if future in done:
                return future.result()
            if gone in done:
                raise asyncio.CancelledError
            return None
        finally:
            entries = self._waiting.get(key, [])
            if entry in entries:
                entries.remove(entry)
            if not entries:
                self._waiting.pop(key, None)

    def arrived(self, message_id: int) -> None:
        if not self._waiting:
            return
        self._arrived.append(message_id)
        if self._checking is None or self._checking.done():
            self._checking = asyncio.ensure_future(self._check())

    async def _check(self) -> None:
        while self._arrived and self._waiting:
            message_id = self._arrived.pop(0)
            keys = [key for key, entries in self._waiting.items() if any(after < message_id for after, _ in entries)]
            if not keys:
                continue
            answers = await run_in_threadpool(self.store.matches, message_id, [list(key) for key in keys])
            for key, matched in zip(keys, answers, strict=True):
                for after, future in list(self._waiting.get(key, [])):
                    if matched and after < message_id and not future.done():
                        future.set_result(message_id)
        self._arrived.clear()

    def close(self) -> None:
        for entries in self._waiting.values():
            for _, future in entries:
                if not future.done():
                    future.cancel()


def client_gone(request: Request) -> asyncio.Future[None]:
    """A future that completes when the client disconnects (cancel it when done with the request)."""

    async def watch() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    return asyncio.ensure_future(watch())


async def event_stream(request: Request) -> Response:
    """Server-sent events: one ``data:`` line of JSON ``{"Type": ..., "Data": ...}`` per change.

    Types: ``new`` (Data: message summary), ``delete`` (Data: {"IDs": [...]}), ``truncate`` (all deleted),
    ``read`` (Data: {"IDs": [...], "Read": bool}), ``tags``. The stream ends when the client goes or the server
    shuts down.
    """
    hub: EventHub = request.app.state.hub

    async def stream() -> AsyncIterator[str]:
        gone = client_gone(request)
        try:
            with hub.listen() as queue:
                yield "retry: 2000\n: connected\n\n"
                while not hub.closed and not gone.done():
                    getting = asyncio.ensure_future(queue.get())
                    pending: set[asyncio.Future[Any]] = {getting, gone}
                    done, _ = await asyncio.wait(pending, timeout=KEEPALIVE_SECONDS,
                                                 return_when=asyncio.FIRST_COMPLETED)
                    if getting not in done:
                        getting.cancel()
                        if gone in done:
                            return
                        yield ": keep-alive\n\n"
                        continue
                    event = getting.result()
                    if event is None:
                        return
                    yield f"data: {json.dumps({'Type': event.type, 'Data': event.data})}\n\n"
        finally:
            gone.cancel()

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
