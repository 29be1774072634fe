"""Blocking work off the event loop, bounded: at most ``HEAVY_WORKERS`` message views at once.

A view of one huge message (megabytes of text, a thousand parts) costs real CPU; forty of them at once in
forty threads would hold the GIL for seconds and grow memory with every copy. Queued here instead, health
checks and other requests (which never wait for this limiter) keep answering.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

import anyio
import anyio.to_thread
from starlette.requests import Request

HEAVY_WORKERS = 2
P = ParamSpec("P")
T = TypeVar("T")


def limiter() -> anyio.CapacityLimiter:
    return anyio.CapacityLimiter(HEAVY_WORKERS)


async def heavy[**P, T](request: Request, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``function`` in a worker thread, at most HEAVY_WORKERS at a time across the app."""
    return await anyio.to_thread.run_sync(lambda: function(*args, **kwargs), limiter=request.app.state.heavy)
