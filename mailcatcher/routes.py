"""The catcher's one route table: Mailpit's API v1, ours (wait, approval, events, health) and the web UI.

More specific paths come first (``/view/{id}.html`` before ``/view/{id}``).
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from . import api_app, api_message, api_messages, api_send, api_tags, events, web

M = "/api/v1/message/{id}"


def catcher_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        # Mailpit API v1
        Route("/api/v1/info", api_app.info, methods=["GET"]),
        Route("/api/v1/webui", api_app.webui, methods=["GET"]),
        Route("/api/v1/messages", api_messages.list_messages, methods=["GET"]),
        Route("/api/v1/messages", api_messages.set_read_status, methods=["PUT"]),
        Route("/api/v1/messages", api_messages.delete_messages, methods=["DELETE"]),
        Route("/api/v1/search", api_messages.search, methods=["GET"]),
        Route("/api/v1/search", api_messages.delete_by_search, methods=["DELETE"]),
        Route("/api/v1/send", api_send.send, methods=["POST"]),
        Route("/api/v1/tags", api_tags.list_tags, methods=["GET"]),
        Route("/api/v1/tags", api_tags.set_tags, methods=["PUT"]),
        Route("/api/v1/tags/{tag:path}", api_tags.rename_tag, methods=["PUT"]),
        Route("/api/v1/tags/{tag:path}", api_tags.delete_tag, methods=["DELETE"]),
        Route(M, api_message.get_message, methods=["GET"]),
        Route(M + "/raw", api_message.get_raw, methods=["GET"]),
        Route(M + "/headers", api_message.get_headers, methods=["GET"]),
        Route(M + "/part/{part_id}", api_message.get_part, methods=["GET"]),
        Route(M + "/link-check", api_message.link_check, methods=["GET"]),
        Route("/view/{id}.html", api_message.view_html, methods=["GET"]),
        Route("/view/{id}.txt", api_message.view_text, methods=["GET"]),
        # Ours
        Route(M + "/approval", api_message.get_approval, methods=["GET"]),
        Route("/api/v1/wait", api_app.wait, methods=["GET"]),
        Route("/api/events", events.event_stream, methods=["GET"]),
        Route("/livez", api_app.livez, methods=["GET"]),
        Route("/readyz", api_app.readyz, methods=["GET"]),
        # Web UI
        Route("/", web.index, methods=["GET"]),
        Route("/view/{id}", web.view_message, methods=["GET"]),
        Route("/view/{id}/html", web.view_message_html, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=str(web.HERE / "static")), name="static"),
    ]
    # Mailpit's features this catcher does not offer: a clear 501 naming them, not a 404.
    methods = {"/api/v1/chaos": ["GET", "PUT"], M + "/release": ["POST"]}
    for path, what in api_app.NOT_OFFERED.items():
        routes.insert(0, Route(path, api_app.not_offered(what), methods=methods.get(path, ["GET"])))
    return routes
