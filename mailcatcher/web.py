"""Web UI: a message list with live updates and a message view. Reads from the store only.

Mail HTML is shown only through ``/view/{id}/html``: sanitised with nh3 and served with a CSP that forbids
scripts and outside requests and sandboxes the document; the page embeds it in an iframe sandboxed the same
way. The server never requests any URL found in a mail (a background GET could approve a request).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from .api import ApiError, approval_view, load_message, message_detail
from .parse import parse_message, sanitize_html

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

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


def view_message(request: Request) -> Response:
    store = request.app.state.store
    try:
        stored = load_message(store, request.path_params["id"])
    except ApiError as exc:
        return _page(request, "error.html", {"message": exc.message}, status=exc.status)
    detail = message_detail(stored)
    if not stored.read:
        store.set_read([stored.id])
    headers = parse_message(stored.raw).headers
    approval = approval_view(detail, request.app.state.message_links)
    return _page(
        request,
        "message.html",
        {
            "message": detail,
            "headers": headers,
            "approval": approval,
            "raw": stored.raw.decode("utf-8", "replace"),
        },
    )


def view_message_html(request: Request) -> Response:
    """The sanitised HTML body, meant to be shown in the sandboxed iframe of the message page."""
    store = request.app.state.store
    try:
        stored = load_message(store, request.path_params["id"])
    except ApiError as exc:
        return Response(exc.message, status_code=exc.status, media_type="text/plain")
    detail = message_detail(stored)
    cid_urls = {
        part["ContentID"]: f"/api/v1/message/{stored.id}/part/{part['PartID']}"
        for part in detail["Inline"] + detail["Attachments"]
        if part["ContentID"]
    }
    body = sanitize_html(detail["HTML"], cid_urls)
    document = (
        '<!doctype html><html><head><meta charset="utf-8">'
        "<style>body{font-family:system-ui,sans-serif;margin:12px;color:#222;word-wrap:break-word}</style>"
        f"</head><body>{body}</body></html>"
    )
    return HTMLResponse(document, headers={"Content-Security-Policy": MAIL_CSP, **SECURITY_HEADERS})


def ui_routes() -> list[BaseRoute]:
    return [
        Route("/", index, methods=["GET"]),
        Route("/view/{id}", view_message, methods=["GET"]),
        Route("/view/{id}/html", view_message_html, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
