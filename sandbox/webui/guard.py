"""The body of the Workflows page's actions (start, re-run, answer, take a task): JSON only.

A hostile page in the approver's browser can make it send requests here. The catcher's guard, in front of every
route, refuses other hosts (DNS rebinding) and requests the browser marks as cross-site (``Sec-Fetch-Site``,
``Origin``). What is left is a form or a `no-cors` fetch, which a browser sends without those marks only from old
browsers or privacy tools; neither can send ``Content-Type: application/json`` cross-site without a CORS
preflight this server never grants. So an action must be JSON (415 otherwise).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from sandbox.console.reader import Unavailable

MAX_BODY = 512 * 1024


async def json_body(request: Request) -> dict[str, Any]:
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
