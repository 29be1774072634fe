"""Live updates for the Workflows pages: server-sent events fed by one poller per watched thing.

While a page is open its event stream subscribes to what it shows (a filtered list, or one execution); the poller
reads it every ``interval`` seconds, pushes it only when it changed, shares one poll among all pages showing the
same thing, and stops with the last of them: the cost follows the open pages, never the closed ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse

log = logging.getLogger("sandbox.webui")

DEFAULT_POLL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0


class Watch:
    """One thing being watched by one or more open pages."""

    def __init__(self, compute: Callable[[], str]) -> None:
        self.compute = compute
        self.queues: set[asyncio.Queue[str]] = set()
        self.latest: str | None = None
        self.task: asyncio.Task | None = None
        self.polls = 0


class Poller:
    """Polls LocalStack for what open pages show, one poll per watched thing however many pages show it."""

    def __init__(self, interval: float = DEFAULT_POLL_SECONDS) -> None:
        self.interval = interval
        self._watches: dict[str, Watch] = {}
        self.polls = 0  # every poll since start, for the bench and the tests

    def stats(self) -> dict[str, Any]:
        return {"watches": len(self._watches), "pages": sum(len(w.queues) for w in self._watches.values()),
                "polls": self.polls, "intervalSeconds": self.interval}

    @contextlib.asynccontextmanager
    async def subscribe(self, key: str, compute: Callable[[], str]) -> AsyncIterator[asyncio.Queue[str]]:
        watch = self._watches.get(key)
        if watch is None:
            watch = self._watches[key] = Watch(compute)
            watch.task = asyncio.create_task(self._run(watch), name=f"poll {key}")
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=4)
        if watch.latest is not None:
            queue.put_nowait(watch.latest)
        watch.queues.add(queue)
        try:
            yield queue
        finally:
            watch.queues.discard(queue)
            if not watch.queues and self._watches.get(key) is watch:
                del self._watches[key]
                if watch.task:
                    watch.task.cancel()

    @staticmethod
    def _publish(watch: Watch, payload: str) -> None:
        for queue in list(watch.queues):
            if queue.full():  # a slow page only needs the newest state
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(payload)

    async def _run(self, watch: Watch) -> None:
        while True:
            self.polls += 1
            watch.polls += 1
            try:
                payload = await run_in_threadpool(watch.compute)
            except Exception:  # keep polling; the page keeps its last state
                log.exception("polling for the Workflows page failed")
                payload = json.dumps({"problem": "internal_error", "message": "Reading the workflow failed; "
                                      "see the sandbox log."})
            if payload != watch.latest:
                watch.latest = payload
                self._publish(watch, payload)
            await asyncio.sleep(self.interval)

    def close(self) -> None:
        for watch in self._watches.values():
            if watch.task:
                watch.task.cancel()
        self._watches.clear()


async def _closed(hub_queue: asyncio.Queue) -> None:
    """Wait until the catcher's hub says it is closing (it sends None); mail events are ignored."""
    while await hub_queue.get() is not None:
        pass


async def _gone(request: Request) -> None:
    """Wait until the client disconnects (ASGI 2.4 servers report it only here, not on the next write)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def event_stream(request: Request, poller: Poller, key: str, compute: Callable[[], str]) -> StreamingResponse:
    """Server-sent events: ``update`` with the computed JSON whenever it changes, keep-alives in between. Ends
    as soon as the client goes (which unsubscribes it: a closed page stops its polling at once) or when the
    catcher's hub closes at shutdown."""
    hub = getattr(request.app.state, "hub", None)

    async def stream() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        closing = hub.listen() if hub is not None else contextlib.nullcontext(None)
        with closing as hub_queue, contextlib.ExitStack() as cleanup:
            ends = [asyncio.ensure_future(_gone(request))]
            if hub_queue is not None:
                ends.append(asyncio.ensure_future(_closed(hub_queue)))
            for end in ends:
                cleanup.callback(end.cancel)
            async with poller.subscribe(key, compute) as queue:
                while True:
                    update = asyncio.ensure_future(queue.get())
                    try:
                        await asyncio.wait({update, *ends}, timeout=KEEPALIVE_SECONDS,
                                           return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        arrived = update.done()
                        if not arrived:
                            update.cancel()
                    if any(end.done() for end in ends):
                        return
                    if not arrived:
                        yield ": keepalive\n\n"
                        continue
                    yield f"event: update\ndata: {update.result()}\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
