"""Cross-site protection of the Workflows page's actions (start, re-run, answer, take a task).

A hostile page in the approver's browser can make it send requests here. A browser marks a cross-site request
with ``Sec-Fetch-Site: cross-site`` (or ``same-site``) and an ``Origin`` of the other site, and sends JSON
(``Content-Type: application/json``) cross-site only after a CORS preflight this server never grants. So an
action must be JSON, and is refused (403) when the browser says it comes from elsewhere. Clients that send
neither header (curl, the tests, scripts) are not a browser acting for a stranger and are let through. The
catcher's Host allowlist (DNS rebinding) sits in front of all of this.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request

from sandbox.console.reader import Unavailable

MAX_BODY = 512 * 1024


def cross_site(request: Request) -> str | None:
    """Why a state-changing request must be refused as cross-site, or None."""
    site = request.headers.get("sec-fetch-site")
    if site and site not in ("same-origin", "none"):
        return f"a {site} request"
    origin = request.headers.get("origin")
    if origin:
        own = f"{request.url.scheme}://{request.headers.get('host', '')}"
        if origin == "null" or urlsplit(origin)._replace(path="").geturl() != own:
            return f"a request from {origin}"
    return None


async def json_body(request: Request) -> dict[str, Any]:
    why = cross_site(request)
    if why:
        raise Unavailable(403, "cross_site", f"Refused {why}: actions are taken from the Workflows page only.")
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise Unavailable(415, "json_only", "Send the action as JSON (Content-Type: application/json).")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise Unavailable(413, "too_large", "The request is larger than 512 KiB.")
    try:
        data = json.loads(body or b"{}")
    except (ValueError, RecursionError):
        raise Unavailable(400, "bad_json", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise Unavailable(400, "bad_json", "The request body must be a JSON object.")
    return data
