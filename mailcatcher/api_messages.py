"""Mailpit API v1 over many messages: list, search, read status, delete (by IDs, by search or all)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from .bodies import Field, fields
from .errors import ApiError
from .query import QueryError, Term, parse_query, time_zone
from .store import Store
from .views import listing, parse_id

DEFAULT_LIMIT = 50
MAX_LIMIT = 5000


def store_of(request: Request) -> Store:
    return request.app.state.store


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
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


def query_terms(request: Request, raw: str) -> list[Term]:
    try:
        return parse_query(raw, time_zone(request.query_params.get("tz")))
    except QueryError as exc:
        raise ApiError(400, f"bad query: {exc}") from None


def _ids(values: list[str]) -> list[int]:
    """Message IDs from a body; strings that are not IDs name no message (never all of them)."""
    return [i for i in (parse_id(v) for v in values) if i is not None]


async def _page(request: Request, terms: list[Term]) -> Response:
    store = store_of(request)
    start = int_param(request, "start", 0, 0, 10**9)
    limit = int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    count, unread, messages = await run_in_threadpool(store.search_page, terms, start, limit)
    return JSONResponse(await run_in_threadpool(listing, store, count, unread, start, messages))


async def list_messages(request: Request) -> Response:
    return await _page(request, [])


async def search(request: Request) -> Response:
    query = request.query_params.get("query", "")
    if not query.strip():
        raise ApiError(400, "'query' is required")
    return await _page(request, query_terms(request, query))


async def delete_messages(request: Request) -> Response:
    """DELETE /api/v1/messages: ``{"IDs": [...]}`` deletes those; no body (or an empty one) deletes all."""
    store = store_of(request)
    body = await fields(request, Field("IDs", list))
    if body is None:
        await run_in_threadpool(store.delete_all)
    elif not body.get("IDs"):
        raise ApiError(400, "'IDs' names no message; to delete every message send no body")
    else:
        await run_in_threadpool(store.delete, _ids(body["IDs"]))
    return PlainTextResponse("ok")


async def delete_by_search(request: Request) -> Response:
    query = request.query_params.get("query", "")
    if not query.strip():
        raise ApiError(400, "'query' is required")
    terms = query_terms(request, query)
    await run_in_threadpool(store_of(request).delete_matching, terms)
    return PlainTextResponse("ok")


async def set_read_status(request: Request) -> Response:
    """PUT /api/v1/messages: ``Read`` (default false, as Mailpit) for ``IDs``, or for ``Search`` matches, or for
    every message when neither is given."""
    store = store_of(request)
    body = await fields(request, Field("IDs", list), Field("Read", bool), Field("Search", str)) or {}
    read = body.get("Read", False)
    if body.get("IDs") and body.get("Search"):
        raise ApiError(400, "give either 'IDs' or 'Search', not both")
    if body.get("IDs"):
        await run_in_threadpool(store.set_read, _ids(body["IDs"]), read)
    elif body.get("Search", "").strip():
        ids = await run_in_threadpool(store.matching_ids, query_terms(request, body["Search"]))
        await run_in_threadpool(store.set_read, ids, read)
    else:
        await run_in_threadpool(store.set_read, None, read)
    return PlainTextResponse("ok")
