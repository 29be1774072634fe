"""Generate task: turn a trigger (EventBridge event or a direct StartExecution input) into an approval task.

Output: request id, creation time, where it came from, the request itself, and the approval timeout in seconds
that the next state reads through TimeoutSecondsPath. A request may set its own `approvalTimeoutSeconds`.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime

# AWS accepts TimeoutSeconds up to 99999999; a year is more than any approval should wait.
MAX_TIMEOUT_SECONDS = 365 * 24 * 3600
MAX_TITLE_LENGTH = 200


def request_from_event(event: dict) -> tuple[dict, str]:
    """The request and its source: an EventBridge event carries it in `detail`, a direct start is the request."""
    if isinstance(event, dict) and "detail-type" in event and "detail" in event:
        detail = event.get("detail") or {}
        if not isinstance(detail, dict):
            raise ValueError("the event detail must be a JSON object")
        if event.get("source") == "aws.events":
            return {"title": "Scheduled approval request", **detail}, "schedule"
        return dict(detail), "event"
    if not isinstance(event, dict):
        raise ValueError("the execution input must be a JSON object")
    return dict(event), "direct"


def approval_timeout(request: dict, default: int) -> int:
    """The request's own timeout if it sets one, else the deploy-time default; a bad value is an error."""
    raw = request.get("approvalTimeoutSeconds", default)
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_TIMEOUT_SECONDS:
        raise ValueError(
            f"approvalTimeoutSeconds must be a whole number of seconds from 1 to {MAX_TIMEOUT_SECONDS}, got {raw!r}"
        )
    return raw


def normalise_title(request: dict) -> str:
    title = request.get("title")
    if not isinstance(title, str) or not title.strip():
        return "Untitled request"
    return " ".join(title.split())[:MAX_TITLE_LENGTH]


def build_task(event: dict, default_timeout: int, now: datetime, request_id: str) -> dict:
    request, source = request_from_event(event)
    request["title"] = normalise_title(request)
    return {
        "requestId": request_id,
        "createdAt": now.isoformat(timespec="seconds"),
        "source": source,
        "request": request,
        "approvalTimeoutSeconds": approval_timeout(request, default_timeout),
    }


def handler(event, context):
    default_timeout = int(os.environ.get("APPROVAL_TIMEOUT_SECONDS", "3600"))
    task = build_task(event, default_timeout, datetime.now(UTC), str(uuid.uuid4()))
    print(json.dumps({"message": "approval task generated", "requestId": task["requestId"],
                      "title": task["request"]["title"], "source": task["source"]}))
    return task
