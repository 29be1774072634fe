"""Return to main processing: the work that runs once a request is approved.

The sandbox's "main work" is to log the approved request and return a summary; the state machine stores it under
`processing` in the execution output, beside the decision under `approval`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime


def process(task: dict, now: datetime) -> dict:
    request = task.get("request") or {}
    approval = task.get("approval") or {}
    title = request.get("title", "Untitled request")
    return {
        "requestId": task.get("requestId"),
        "title": title,
        "decision": approval.get("decision"),
        "decidedAt": approval.get("decidedAt"),
        "processedAt": now.isoformat(timespec="seconds"),
        "summary": f"Processed approved request '{title}'",
    }


def handler(event, context):
    result = process(event, datetime.now(UTC))
    print(json.dumps({"message": "processing approved request", **result}))
    return result
