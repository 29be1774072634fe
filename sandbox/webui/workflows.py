"""The Workflows page mounted in the mail catcher (``python -m sandbox.webui``): every state machine in the
sandbox's account and region with its executions, each drawn as a graph with its history, the tasks they wait on
and how to answer them, live.

Modules: ``sandbox.console`` reads Step Functions and answers tasks (shared with the CLI); here ``views`` builds
what the pages show, ``live`` pushes changes to open pages, ``routes`` serves them; this module hands the catcher
its hooks.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

from lambdas.approval import execution_in_mail
from sandbox import workflow
from sandbox.config import Settings

from .live import DEFAULT_POLL_SECONDS
from .routes import LISTED_NAME, WorkflowsUI
from .views import PREFIX

__all__ = ["DEFAULT_POLL_SECONDS", "app_options", "execution_link"]


def execution_link(detail: Mapping[str, Any]) -> list[dict[str, str]]:
    """``message_links`` hook: a caught approval email links to its execution view."""
    name = execution_in_mail(detail.get("Text") or "")
    if name and LISTED_NAME.match(name):
        return [{"Label": "View execution", "URL": f"{PREFIX}/{quote(name, safe='')}"}]
    for link in detail.get("Links") or []:
        token = (link.get("Query") or {}).get("token")
        if link.get("Action") in ("approve", "reject") and token:
            token = token[0] if isinstance(token, list) else token
            return [{"Label": "View execution", "URL": f"{PREFIX}/lookup?token={quote(str(token), safe='')}"}]
    return []


def decision_prefixes(settings: Settings) -> list[str]:
    """The deployed decision API's URL (read per view: the pipeline is deployed after the UI starts)."""
    try:
        api_url = workflow.load_outputs(settings).get("api_url")
    except workflow.WorkflowError:
        return []
    return [api_url.rstrip("/") + "/"] if isinstance(api_url, str) and api_url else []


def app_options(settings: Settings, poll_interval: float = DEFAULT_POLL_SECONDS) -> dict[str, Any]:
    """``create_app`` arguments that mount the Workflows page in the catcher; approval buttons only for the
    deployed decision API's links, and execute-api links routed to the sandbox's LocalStack."""
    ui = WorkflowsUI(settings, poll_interval)

    @contextlib.asynccontextmanager
    async def lifespan(app) -> AsyncIterator[None]:
        try:
            yield
        finally:
            ui.poller.close()

    return {
        "routes": ui.routes(),
        "nav_links": [("Workflows", PREFIX)],
        "message_links": execution_link,
        "lifespan": lifespan,
        "brand": "Callback Sandbox",
        "trusted_decision_links": lambda: decision_prefixes(settings),
        "aws_gateway": settings.public_url,
    }
