"""Mailpit API v1 tags: list, set on messages, rename, delete."""

from __future__ import annotations

from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from .api_messages import store_of
from .bodies import Field, fields
from .errors import ApiError
from .record import MAX_TAG_LENGTH
from .views import parse_id


async def list_tags(request: Request) -> Response:
    return JSONResponse(await run_in_threadpool(store_of(request).all_tags))


async def set_tags(request: Request) -> Response:
    """PUT /api/v1/tags ``{"IDs": [...], "Tags": [...]}``: replaces those messages' tags ([] removes them)."""
    body = await fields(request, Field("IDs", list), Field("Tags", list))
    if not body or "IDs" not in body or "Tags" not in body:
        raise ApiError(400, "send 'IDs' and 'Tags' (an empty 'Tags' list removes every tag)")
    if any(len(tag) > MAX_TAG_LENGTH for tag in body["Tags"]):
        raise ApiError(400, f"tags are at most {MAX_TAG_LENGTH} characters")
    ids = [i for i in (parse_id(v) for v in body["IDs"]) if i is not None]
    await run_in_threadpool(store_of(request).set_tags, ids, body["Tags"])
    return PlainTextResponse("ok")


def _tag(request: Request) -> str:
    name = unquote(request.path_params["tag"]).strip()
    if not name or len(name) > MAX_TAG_LENGTH:
        raise ApiError(400, "not a tag name")
    return name


async def rename_tag(request: Request) -> Response:
    old = _tag(request)
    body = await fields(request, Field("Name", str))
    if not body or not body.get("Name", "").strip():
        raise ApiError(400, "send the new name as {\"Name\": \"...\"}")
    try:
        renamed = await run_in_threadpool(store_of(request).rename_tag, old, body["Name"])
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    if not renamed:
        raise ApiError(404, f"no message has the tag {old!r}")
    return PlainTextResponse("ok")


async def delete_tag(request: Request) -> Response:
    await run_in_threadpool(store_of(request).delete_tag, _tag(request))
    return PlainTextResponse("ok")
