"""Mailpit API v1 over one message: the message, its source, headers, parts, link check and the plain
``/view/{ID}.html|.txt`` renderings; plus ours: ``/approval``."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from .api_messages import store_of
from .approval import approval_view
from .errors import ApiError
from .linkcheck import check_links
from .parse import part_bytes
from .stored import StoredMessage
from .views import headers_view, load_message, message_detail
from .work import heavy

# The raw HTML of a mail, served for tests that read it: no script runs, nothing is fetched but our own parts.
RAW_HTML_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'; "
    "frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox"
)


async def _load(request: Request) -> StoredMessage:
    return await heavy(request, load_message, store_of(request), request.path_params["id"])


async def get_message(request: Request) -> Response:
    store = store_of(request)
    stored = await _load(request)
    detail = message_detail(stored)
    if not stored.read:  # like Mailpit: fetching a message marks it read
        await run_in_threadpool(store.set_read, [stored.id])
        detail["Read"] = True
    return await heavy(request, JSONResponse, detail)  # a 10 MB body takes a while to serialise


async def get_raw(request: Request) -> Response:
    stored = await _load(request)
    raw = await run_in_threadpool(store_of(request).raw, stored.id)
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"}
    if request.query_params.get("dl"):
        headers["Content-Disposition"] = f'attachment; filename="message-{stored.id}.eml"'
    return Response(raw or b"", media_type="text/plain; charset=utf-8", headers=headers)


async def get_headers(request: Request) -> Response:
    return JSONResponse(headers_view(await _load(request)))


def find_part(stored: StoredMessage, part_id: str) -> dict[str, Any] | None:
    for part in stored.view["Inline"] + stored.view["Attachments"]:
        if part["PartID"] == part_id:
            return part
    return None


async def get_part(request: Request) -> Response:
    stored = await _load(request)
    part = find_part(stored, request.path_params["part_id"])
    if part is None:
        raise ApiError(404, "part not found")
    raw = await run_in_threadpool(store_of(request).raw, stored.id)
    data = part_bytes(raw or b"", part["Span"])
    headers = {
        "X-Content-Type-Options": "nosniff",
        # Mail content is untrusted: never let a part run as a page on this origin.
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    media_type = part["ContentType"]
    if not (media_type.startswith("image/") and media_type != "image/svg+xml"):
        filename = (part["FileName"] or f"part-{part['PartID']}").replace('"', "").replace("\r", "").replace("\n", "")
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename, safe='')}"
    return Response(data, media_type=media_type, headers=headers)


def approval_of(request: Request, stored: StoredMessage) -> dict[str, Any]:
    state = request.app.state
    return approval_view(str(stored.id), stored.summary["Subject"], stored.view["Links"],
                         trusted=state.trusted_decision_links, route=state.route_link,
                         message_links=state.message_links, detail=message_detail(stored))


async def get_approval(request: Request) -> Response:
    stored = await _load(request)
    return JSONResponse(await heavy(request, approval_of, request, stored))


async def link_check(request: Request) -> Response:
    stored = await _load(request)
    follow = request.query_params.get("follow", "false").lower() in ("true", "1", "yes")
    urls = [link["URL"] for link in stored.view["Links"]]
    result = await run_in_threadpool(check_links, urls, follow, request.app.state.link_check_any_host,
                                     request.app.state.route_link)
    return JSONResponse(result)


async def view_html(request: Request) -> Response:
    """GET /view/{ID}.html: the mail's HTML as sent (Mailpit's, for UI tests), under a CSP that runs nothing."""
    stored = await _load(request)
    if not stored.view["HTML"]:
        raise ApiError(404, "this message has no HTML part")
    return HTMLResponse(stored.view["HTML"], headers={"Content-Security-Policy": RAW_HTML_CSP,
                                                      "X-Content-Type-Options": "nosniff"})


async def view_text(request: Request) -> Response:
    stored = await _load(request)
    return PlainTextResponse(stored.view["Text"], headers={"X-Content-Type-Options": "nosniff"})
