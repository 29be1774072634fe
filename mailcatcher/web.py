"""Web UI: a message list with live updates and a message view. Reads from the store only.

Mail HTML is shown only through ``/view/{id}/html``: sanitised with nh3 and served with a CSP that forbids
scripts and outside requests and sandboxes the document; the page embeds it in an iframe sandboxed the same
way. The server never requests any URL found in a mail (a background GET could approve a request). Links to
AWS execute-api hosts are shown routed to the local gateway, with the original beside them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.templating import Jinja2Templates

from .api_message import approval_of
from .errors import ApiError
from .links import urls_in_text
from .sanitize import sanitize_html
from .stored import StoredMessage
from .views import headers_view, load_message, message_detail
from .work import heavy

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
SOURCE_SHOWN = 256 * 1024  # the Source tab shows this much; the rest is one click away (raw download)

# The catcher's own pages: scripts and styles only from our static files, frames only from us.
UI_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)
# A caught mail's HTML: no scripts at all, no requests except our own (inline images), no forms, sandboxed
# even when opened directly. allow-popups lets links open in a new tab, escaping the sandbox there.
MAIL_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; font-src 'none'; form-action 'none'; "
    "base-uri 'none'; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _page(request: Request, template: str, context: dict, status: int = 200) -> Response:
    response = templates.TemplateResponse(
        request,
        template,
        {
            "nav_links": request.app.state.nav_links,
            "smtp_address": request.app.state.smtp_address,
            **context,
        },
        status_code=status,
    )
    response.headers.update({"Content-Security-Policy": UI_CSP, **SECURITY_HEADERS})
    return response


def index(request: Request) -> Response:
    return _page(request, "index.html", {})


def text_segments(text: str, route) -> list[dict[str, Any]]:
    """The text body as segments: plain text, and links (routed where the gateway router says so)."""
    segments: list[dict[str, Any]] = []
    position = 0
    for start, end, url in urls_in_text(text):
        if start > position:
            segments.append({"Text": text[position:start]})
        routed = route(url) if route is not None else None
        segments.append({"Text": url, "URL": routed or url, "RoutedFrom": url if routed else None})
        position = end
    if position < len(text):
        segments.append({"Text": text[position:]})
    return segments


def _message_context(request: Request, stored: StoredMessage) -> dict[str, Any]:
    raw = request.app.state.store.raw(stored.id) or b""
    return {
        "message": message_detail(stored),
        "headers": [(name, value) for name, values in headers_view(stored).items() for value in values],
        "approval": approval_of(request, stored),
        "text": text_segments(stored.view["Text"], request.app.state.route_link),
        "raw": raw[:SOURCE_SHOWN].decode("utf-8", "replace"),
        "raw_cut": max(0, len(raw) - SOURCE_SHOWN),
    }


async def view_message(request: Request) -> Response:
    store = request.app.state.store
    try:
        stored = await heavy(request, load_message, store, request.path_params["id"])
    except ApiError as exc:
        return _page(request, "error.html", {"message": exc.message}, status=exc.status)
    if not stored.read:
        await heavy(request, store.set_read, [stored.id])
    context = await heavy(request, _message_context, request, stored)
    return await heavy(request, _page, request, "message.html", context)


def _sanitised_document(request: Request, stored: StoredMessage) -> str:
    cid_urls = {
        part["ContentID"]: f"/api/v1/message/{stored.id}/part/{part['PartID']}"
        for part in stored.view["Inline"] + stored.view["Attachments"]
        if part["ContentID"]
    }
    body = sanitize_html(stored.view["HTML"], cid_urls, request.app.state.route_link)
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        "<style>body{font-family:system-ui,sans-serif;margin:12px;color:#222;word-wrap:break-word}</style>"
        f"</head><body>{body}</body></html>"
    )


async def view_message_html(request: Request) -> Response:
    """The sanitised HTML body, meant to be shown in the sandboxed iframe of the message page."""
    try:
        stored = await heavy(request, load_message, request.app.state.store, request.path_params["id"])
    except ApiError as exc:
        return Response(exc.message, status_code=exc.status, media_type="text/plain")
    document = await heavy(request, _sanitised_document, request, stored)
    return HTMLResponse(document, headers={"Content-Security-Policy": MAIL_CSP, **SECURITY_HEADERS})
