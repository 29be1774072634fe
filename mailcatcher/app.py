"""The Starlette application: JSON API + web UI over one store, open to extra pages at the same origin."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute

from .api import ApiError, EventHub, MessageLinks, api_routes
from .store import Store
from .web import ui_routes

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
) -> Starlette:
    """Build the catcher's ASGI app.

    - ``brand``: the name in the header and page titles.
    - ``routes``: extra Starlette routes or ``Mount``s (e.g. a Workflows page at ``/workflows``), matched before
      the catcher's own, so another module can live at the same origin.
    - ``nav_links``: ``(label, href)`` pairs shown in the catcher's header, e.g. ``("Workflows", "/workflows/")``.
    - ``message_links``: called with a message detail dict (Mailpit fields plus ``Links``, the http(s) links found
      in the mail with ``Action`` approve/reject/None and their ``Query`` parameters); returns
      ``[{"Label": ..., "URL": ...}]`` shown on the message page and as ``Related`` in the approval API,
      e.g. "View execution". Errors in it are logged and ignored.
    - ``smtp_address``: shown in the UI so people know where to send mail.
    - ``lifespan``: an extra async context manager entered inside the catcher's own lifespan.
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
        routes=[*routes, *api_routes(), *ui_routes()],
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
        lifespan=app_lifespan,
    )
    app.state.store = store
    app.state.hub = hub
    app.state.nav_links = list(nav_links)
    app.state.message_links = message_links
    app.state.smtp_address = smtp_address
    app.state.brand = brand
    return app
