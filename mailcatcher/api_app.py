"""Mailpit API v1 about the catcher itself (info, web UI settings, what is not offered), health, and ours:
the long-poll ``/api/v1/wait``."""

from __future__ import annotations

import asyncio
import math
import resource
import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from . import __version__
from .api_messages import query_terms, store_of
from .errors import ApiError
from .events import EventHub, client_gone
from .views import message_detail, parse_id

DEFAULT_WAIT_SECONDS = 30.0
MAX_WAIT_SECONDS = 600.0
STARTED = time.time()
NOT_OFFERED = {
    "/api/v1/message/{id}/html-check": "HTML check",
    "/api/v1/message/{id}/sa-check": "SpamAssassin check",
    "/api/v1/message/{id}/part/{part_id}/thumb": "attachment thumbnails",
    "/api/v1/message/{id}/release": "message release (relaying)",
    "/api/v1/chaos": "Chaos",
}


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


def _info(request: Request) -> dict:
    store = store_of(request)
    total, unread = store.counts()
    stats = store.stats
    return {
        "Version": f"mailcatcher {__version__} (Mailpit API v1)",
        "LatestVersion": "",
        "Database": store.path,
        "DatabaseSize": store.size_on_disk(),
        "Messages": total,
        "Unread": unread,
        "Tags": store.tag_counts(),
        "RuntimeStats": {
            "Memory": _rss_bytes(),
            "MessagesDeleted": stats.get("deleted", 0),
            "SMTPAccepted": stats.get("accepted", 0),
            "SMTPAcceptedSize": stats.get("accepted_size", 0),
            "SMTPRejected": stats.get("rejected", 0),
            "SMTPIgnored": 0,
            "Uptime": int(time.time() - STARTED),
        },
    }


async def info(request: Request) -> Response:
    return JSONResponse(await run_in_threadpool(_info, request))


async def webui(request: Request) -> Response:
    return JSONResponse({
        "Label": request.app.state.brand,
        "MessageRelay": {"Enabled": False, "SMTPServer": "", "ReturnPath": "", "AllowedRecipients": "",
                         "BlockedRecipients": "", "OverrideFrom": "", "PreserveMessageIDs": False,
                         "RecipientAllowlist": ""},
        "SpamAssassin": False,
        "ChaosEnabled": False,
        "DuplicatesIgnored": False,
        "HideDeleteAllButton": False,
    })


def not_offered(what: str):
    async def answer(request: Request) -> Response:
        raise ApiError(501, f"{what} is not offered by this catcher (Mailpit has it; this sandbox does not)")

    return answer


async def livez(request: Request) -> Response:
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    try:
        ready = await asyncio.wait_for(run_in_threadpool(store_of(request).ping), 5)
    except Exception:
        ready = False
    return PlainTextResponse("ok") if ready else PlainTextResponse("store unavailable", status_code=503)


def _wait_params(request: Request) -> tuple[float, int]:
    raw_timeout = request.query_params.get("timeout", "")
    timeout = DEFAULT_WAIT_SECONDS
    if raw_timeout != "":
        try:
            timeout = float(raw_timeout)
        except ValueError:
            raise ApiError(400, "'timeout' must be a number of seconds") from None
        if not math.isfinite(timeout) or not 0 <= timeout <= MAX_WAIT_SECONDS:
            raise ApiError(400, f"'timeout' must be between 0 and {MAX_WAIT_SECONDS:g} seconds")
    raw_after = request.query_params.get("after", "")
    after = 0
    if raw_after != "":
        parsed = parse_id(raw_after)
        if parsed is None:
            raise ApiError(400, "'after' must be a message ID")
        after = parsed
    return timeout, after


async def wait(request: Request) -> Response:
    """Ours: the first message newer than ``after`` matching ``query``, waiting up to ``timeout`` seconds.

    Event-driven: a new message is matched once against each distinct waiting query. A caller that hangs up
    is forgotten at once.
    """
    terms = query_terms(request, request.query_params.get("query", ""))
    timeout, after = _wait_params(request)
    hub: EventHub = request.app.state.hub
    if hub.closed:
        raise ApiError(503, "mailcatcher is shutting down")
    gone = client_gone(request)
    try:
        found = await hub.waiters.wait(terms, after, timeout, gone)
    except asyncio.CancelledError:
        if gone.done() or hub.closed:
            return JSONResponse({"Error": "mailcatcher is shutting down"}, status_code=503)
        raise
    finally:
        gone.cancel()
    if found is None:
        return JSONResponse({"Error": f"no matching message within {timeout:g} seconds"}, status_code=408)
    stored = await run_in_threadpool(store_of(request).get, found)
    if stored is None:  # deleted between the match and the read
        raise ApiError(404, "message not found")
    return JSONResponse(message_detail(stored))
