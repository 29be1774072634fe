"""create_app's extension points, served by a real uvicorn: extra pages at the same origin, nav links,
a per-message "related" link (e.g. the Workflows page's "View execution") and an extra lifespan."""

from __future__ import annotations

import contextlib

import pytest
import requests
from mailcatcher_support import served_app
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from mailcatcher.app import create_app
from mailcatcher.store import Store

APPROVAL_MAIL = (
    b"Subject: Approval needed\r\nFrom: sandbox@example.com\r\nTo: approver@example.com\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n\r\n"
    b'<a href="http://127.0.0.1:9/decision?token=tok-1&amp;execution=exec-1&amp;action=approve">Approve</a>\r\n'
)


@pytest.fixture
def served(tmp_path):
    store = Store(str(tmp_path / "mail.sqlite"))
    lifespan_log: list[str] = []

    @contextlib.asynccontextmanager
    async def workflows_lifespan(app):
        lifespan_log.append("start")
        yield
        lifespan_log.append("stop")

    def related(detail: dict) -> list[dict[str, str]]:
        for link in detail["Links"]:
            if "execution" in link["Query"]:
                return [{"Label": "View execution", "URL": f"/workflows/executions/{link['Query']['execution']}"}]
        return []

    workflows = Starlette(routes=[Route("/", lambda request: PlainTextResponse("workflows page"))])
    app = create_app(
        store,
        routes=[Mount("/workflows", app=workflows)],
        nav_links=[("Workflows", "/workflows/")],
        message_links=related,
        lifespan=workflows_lifespan,
    )
    try:
        with served_app(app) as url:
            yield url, store, lifespan_log
    finally:
        store.close()
    assert lifespan_log == ["start", "stop"]


def test_extra_page_nav_and_related_links(served):
    url, store, lifespan_log = served
    assert lifespan_log == ["start"]
    message_id = store.add(APPROVAL_MAIL, "sandbox@example.com", ["approver@example.com"])["ID"]

    assert requests.get(f"{url}/workflows/", timeout=10).text == "workflows page"
    assert 'href="/workflows/">Workflows</a>' in requests.get(f"{url}/", timeout=10).text

    approval = requests.get(f"{url}/api/v1/message/{message_id}/approval", timeout=10).json()
    assert approval["Related"] == [{"Label": "View execution", "URL": "/workflows/executions/exec-1"}]
    assert approval["Approve"][0]["Query"]["token"] == "tok-1"

    page = requests.get(f"{url}/view/{message_id}", timeout=10).text
    assert 'href="/workflows/executions/exec-1">View execution</a>' in page
