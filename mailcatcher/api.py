"""JSON API with Mailpit's paths and field names, plus a long-poll wait, an approval view and server-sent events.

Every handler reads from the store only. Bad input answers 4xx with ``{"Error": "..."}``, never a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from .parse import extract_links, find_part, parse_message
from .store import Event, QueryError, Store, StoredMessage, Term, parse_query

log = logging.getLogger("mailcatcher.api")

DEFAULT_LIMIT = 50
MAX_LIMIT = 5000
DEFAULT_WAIT_SECONDS = 30.0
MAX_WAIT_SECONDS = 600.0
KEEPALIVE_SECONDS = 15.0
MAX_JSON_BODY = 1 << 20

MessageLinks = Callable[[dict[str, Any]], list[dict[str, str]]]


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"Error": message}, status_code=status)


class EventHub:
    """Fans store events out to asyncio queues (SSE streams, waiters) on the server's event loop."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._queues: set[asyncio.Queue[Event | None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = None
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

    @contextlib.contextmanager
    def listen(self) -> Iterator[asyncio.Queue[Event | None]]:
        queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=10000)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)


# --- helpers -------------------------------------------------------------------------------------------------


def _store(request: Request) -> Store:
    return request.app.state.store


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"'{name}' must be an integer") from None
    if not low <= value <= high:
        raise ApiError(400, f"'{name}' must be between {low} and {high}")
    return value


def _query_terms(raw: str) -> list[Term]:
    try:
        return parse_query(raw)
    except QueryError as exc:
        raise ApiError(400, f"bad query: {exc}") from None


def parse_id(value: str) -> int | None:
    """A message ID is a positive integer in a string; anything else is unknown (never an error)."""
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return int(value)


def load_message(store: Store, value: str) -> StoredMessage:
    """The stored message for an ID or 'latest', else ApiError 404."""
    message_id = store.latest_id() if value == "latest" else parse_id(value)
    stored = store.get(message_id) if message_id is not None else None
    if stored is None:
        raise ApiError(404, "message not found")
    return stored


def message_detail(stored: StoredMessage) -> dict[str, Any]:
    parsed = parse_message(stored.raw)
    return {
        "ID": str(stored.id),
        "MessageID": parsed.message_id,
        "Read": stored.read,
        "From": parsed.from_,
        "To": parsed.to,
        "Cc": parsed.cc,
        "Bcc": parsed.bcc,
        "ReplyTo": parsed.reply_to,
        "ReturnPath": parsed.return_path or stored.envelope_from,
        "Subject": parsed.subject,
        "Date": parsed.date or stored.created,
        "Created": stored.created,
        "Tags": [],
        "Text": parsed.text,
        "HTML": parsed.html,
        "Size": stored.size,
        "Inline": [part.to_api() for part in parsed.inline],
        "Attachments": [part.to_api() for part in parsed.attachments],
        "Envelope": {"From": stored.envelope_from, "To": stored.envelope_to},
    }


def approval_view(detail: dict[str, Any], message_links: MessageLinks | None) -> dict[str, Any]:
    """The approve/reject links found in a message (and any related links a host app adds, e.g. its execution)."""
    links = [link.to_api() for link in extract_links(detail["Text"], detail["HTML"])]
    related: list[dict[str, str]] = []
    if message_links is not None:
        try:
            related = list(message_links({**detail, "Links": links}))
        except Exception:
            log.exception("message_links hook failed for message %s", detail["ID"])
    return {
        "ID": detail["ID"],
        "Subject": detail["Subject"],
        "Approve": [link for link in links if link["Action"] == "approve"],
        "Reject": [link for link in links if link["Action"] == "reject"],
        "Links": links,
        "Related": related,
    }


def _listing(total: int, unread: int, count: int, start: int, messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "total": total,
        "unread": unread,
        "count": len(messages),
        "messages_count": count,
        "start": start,
        "tags": [],
        "messages": messages,
    }


# --- endpoints -----------------------------------------------------------------------------------------------


def list_messages(request: Request) -> Response:
    store = _store(request)
    start = _int_param(request, "start", 0, 0, 10**9)
    limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    count, messages = store.search((), start, limit)
    total, unread = store.counts()
    return JSONResponse(_listing(total, unread, count, start, messages))


async def _json_body(request: Request) -> Any:
    body = await request.body()
    if len(body) > MAX_JSON_BODY:
        raise ApiError(413, "request body too large")
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "request body is not valid JSON") from None


def _ids_from(payload: Any) -> list[int] | None:
    """IDs from {"IDs": [...]}; None when the body names no IDs."""
    if payload is None:
        return None
    if not isinstance(payload, dict):
        raise ApiError(400, 'expected a JSON object like {"IDs": ["1", "2"]}')
    ids = payload.get("IDs")
    if ids is None or ids == []:
        return None
    if not isinstance(ids, list) or not all(isinstance(i, str | int) and not isinstance(i, bool) for i in ids):
        raise ApiError(400, "'IDs' must be a list of message IDs")
    parsed = [parse_id(str(i)) for i in ids]
    return [i for i in parsed if i is not None]


async def delete_messages(request: Request) -> Response:
    store = _store(request)
    ids = _ids_from(await _json_body(request))
    if ids is None:
        await run_in_threadpool(store.delete_all)
    else:
        await run_in_threadpool(store.delete, ids)
    return PlainTextResponse("ok")


async def set_read_status(request: Request) -> Response:
    store = _store(request)
    payload = await _json_body(request)
    ids = _ids_from(payload)
    read = payload.get("Read", True) if isinstance(payload, dict) else True
    if not isinstance(read, bool):
        raise ApiError(400, "'Read' must be true or false")
    await run_in_threadpool(store.set_read, ids, read)  # ids None: all messages
    return PlainTextResponse("ok")


def get_message(request: Request) -> Response:
    store = _store(request)
    stored = load_message(store, request.path_params["id"])
    detail = message_detail(stored)
    if not stored.read:  # like Mailpit: fetching a message marks it read
        store.set_read([stored.id])
        detail["Read"] = True
    return JSONResponse(detail)


def get_raw(request: Request) -> Response:
    stored = load_message(_store(request), request.path_params["id"])
    headers = {"X-Content-Type-Options": "nosniff"}
    if request.query_params.get("dl"):
        headers["Content-Disposition"] = f'attachment; filename="message-{stored.id}.eml"'
    return Response(stored.raw, media_type="text/plain; charset=utf-8", headers=headers)


def get_headers(request: Request) -> Response:
    stored = load_message(_store(request), request.path_params["id"])
    headers: dict[str, list[str]] = {}
    for name, value in parse_message(stored.raw).headers:
        headers.setdefault(name, []).append(value)
    return JSONResponse(headers)


def get_part(request: Request) -> Response:
    stored = load_message(_store(request), request.path_params["id"])
    found = find_part(stored.raw, request.path_params["part_id"])
    if found is None:
        raise ApiError(404, "part not found")
    part, data = found
    headers = {
        "X-Content-Type-Options": "nosniff",
        # Mail content is untrusted: never let a part run as a page on this origin.
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    media_type = part.content_type
    if not (media_type.startswith("image/") and media_type != "image/svg+xml"):
        filename = (part.filename or f"part-{part.part_id}").replace('"', "").replace("\r", "").replace("\n", "")
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename, safe="")}"
    return Response(data, media_type=media_type, headers=headers)


def get_approval(request: Request) -> Response:
    stored = load_message(_store(request), request.path_params["id"])
    return JSONResponse(approval_view(message_detail(stored), request.app.state.message_links))


def search(request: Request) -> Response:
    store = _store(request)
    query = request.query_params.get("query", "")
    if not query.strip():
        raise ApiError(400, "'query' is required")
    terms = _query_terms(query)
    start = _int_param(request, "start", 0, 0, 10**9)
    limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    count, messages = store.search(terms, start, limit)
    total, unread = store.counts()
    return JSONResponse(_listing(total, unread, count, start, messages))


def _wait_params(request: Request) -> tuple[list[Term], float, int]:
    terms = _query_terms(request.query_params.get("query", ""))
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
    return terms, timeout, after


async def wait(request: Request) -> Response:
    """First message newer than ``after`` matching ``query``, waiting up to ``timeout`` seconds for it.

    Event-driven: the store notifies the hub on every insert, and only then is the query re-run.
    """
    terms, timeout, after = _wait_params(request)
    store = _store(request)
    hub: EventHub = request.app.state.hub
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    with hub.listen() as queue:  # subscribe before the first look, so nothing can slip between the two
        found = await run_in_threadpool(store.first_match_after, terms, after)
        while found is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return error(408, f"no matching message within {timeout:g} seconds")
            try:
                event = await asyncio.wait_for(queue.get(), remaining)
            except TimeoutError:
                return error(408, f"no matching message within {timeout:g} seconds")
            if event is None:
                return error(503, "mailcatcher is shutting down")
            if event.type == "new" and int(event.data["ID"]) > after:
                found = await run_in_threadpool(store.first_match_after, terms, after)
    stored = await run_in_threadpool(store.get, found)
    if stored is None:  # deleted between the match and the read
        return error(404, "message not found")
    return JSONResponse(message_detail(stored))


async def events(request: Request) -> Response:
    """Server-sent events: one ``data:`` line of JSON ``{"Type": ..., "Data": ...}`` per change.

    Types: ``new`` (Data: message summary), ``delete`` (Data: {"IDs": [...]}), ``truncate`` (all deleted),
    ``read`` (Data: {"IDs": [...], "Read": bool}).
    """
    hub: EventHub = request.app.state.hub

    async def stream():
        with hub.listen() as queue:
            yield "retry: 2000\n: connected\n\n"
            while not hub.closed:
                try:
                    event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if event is None:
                    return
                yield f"data: {json.dumps({'Type': event.type, 'Data': event.data})}\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def livez(request: Request) -> Response:
    return PlainTextResponse("ok")


def readyz(request: Request) -> Response:
    try:
        ready = _store(request).ping()
    except Exception:
        ready = False
    return PlainTextResponse("ok") if ready else PlainTextResponse("store unavailable", status_code=503)


def api_routes() -> list[Route]:
    return [
        Route("/api/v1/messages", list_messages, methods=["GET"]),
        Route("/api/v1/messages", delete_messages, methods=["DELETE"]),
        Route("/api/v1/messages", set_read_status, methods=["PUT"]),
        Route("/api/v1/message/{id}", get_message, methods=["GET"]),
        Route("/api/v1/message/{id}/raw", get_raw, methods=["GET"]),
        Route("/api/v1/message/{id}/headers", get_headers, methods=["GET"]),
        Route("/api/v1/message/{id}/part/{part_id}", get_part, methods=["GET"]),
        Route("/api/v1/message/{id}/approval", get_approval, methods=["GET"]),
        Route("/api/v1/search", search, methods=["GET"]),
        Route("/api/v1/wait", wait, methods=["GET"]),
        Route("/api/events", events, methods=["GET"]),
        Route("/livez", livez, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
