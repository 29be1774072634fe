"""The Starlette application: JSON API + web UI over one store, open to extra pages at the same origin, behind
the request guard (``guard.py``) that covers everything it serves."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute

from .approval import MessageLinks, TrustedPrefixes
from .errors import ApiError
from .events import EventHub
from .gateway import router
from .guard import Guard, HostAllowlist
from .routes import catcher_routes
from .store import Store
from .work import limiter

log = logging.getLogger("mailcatcher.app")

Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path in ("/livez", "/readyz")


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse({"Error": exc.message}, status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if _wants_json(request):
        return JSONResponse({"Error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    # Log the trace for the operator, never show it to the client.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"Error": "internal error"}, status_code=500)


def create_app(
    store: Store,
    *,
    routes: Sequence[BaseRoute] = (),
    nav_links: Sequence[tuple[str, str]] = (),
    message_links: MessageLinks | None = None,
    smtp_address: str = "",
    lifespan: Lifespan | None = None,
    brand: str = "Mailcatcher",
    bind: Sequence[str] = ("127.0.0.1",),
    allowed_hosts: Sequence[str] = (),
    allowed_hosts_hint: str = "--allowed-hosts",
    trusted_decision_links: TrustedPrefixes | None = None,
    aws_gateway: str | None = None,
    link_check_any_host: bool = False,
) -> Starlette:
    """Build the catcher's ASGI app.

    - ``brand``: the name in the header and page titles.
    - ``routes``: extra Starlette routes or ``Mount``s (e.g. a Workflows page at ``/workflows``), matched before
      the catcher's own, so another module can live at the same origin (and behind the same guard).
    - ``nav_links``: ``(label, href)`` pairs shown in the catcher's header, e.g. ``("Workflows", "/workflows/")``.
    - ``message_links``: called with a message detail dict (Mailpit fields plus ``Links``, the http(s) links found
      in the mail with ``Action`` approve/reject/None and their ``Query`` parameters); returns
      ``[{"Label": ..., "URL": ...}]`` shown on the message page and as ``Related`` in the approval API,
      e.g. "View execution". Errors in it are logged and ignored.
    - ``smtp_address``: shown in the UI so people know where to send mail.
    - ``lifespan``: an extra async context manager entered inside the catcher's own lifespan.
    - ``bind``: the addresses the server listens on; with the loopback names and ``allowed_hosts`` (exact names,
      ``.domain`` for a domain and its subdomains, ``*`` for any) they make the Host allowlist.
      ``allowed_hosts_hint`` is the option named in the refusal.
    - ``trusted_decision_links``: URL prefixes of the host app's own decision API (a list, or a function called
      per view, for an API deployed later). A mail carrying such a link shows only those links as buttons.
    - ``aws_gateway``: base URL of the local AWS gateway (``http://localhost:4566``); execute-api links in mail
      are shown routed to it (``gateway.py``). None: links are shown as written.
    - ``link_check_any_host``: let ``/link-check`` request hosts that are not loopback.
    """
    hub = EventHub(store)

    @contextlib.asynccontextmanager
    async def app_lifespan(app: Starlette) -> AsyncIterator[None]:
        hub.start()
        try:
            if lifespan is None:
                yield
            else:
                async with lifespan(app):
                    yield
        finally:
            hub.close()

    app = Starlette(
        routes=[*routes, *catcher_routes()],
        middleware=[Middleware(Guard, allowlist=HostAllowlist(bind, allowed_hosts), hint=allowed_hosts_hint)],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
        lifespan=app_lifespan,
    )
    app.state.store = store
    app.state.hub = hub
    app.state.heavy = limiter()
    app.state.nav_links = list(nav_links)
    app.state.message_links = message_links
    app.state.smtp_address = smtp_address
    app.state.brand = brand
    app.state.trusted_decision_links = trusted_decision_links
    app.state.route_link = router(aws_gateway)
    app.state.link_check_any_host = link_check_any_host
    return app
