"""The approval contract: what the Lambdas, the Workflows page, the CLI and the bench agree on.

- the verification message the state machine sends to SQS (its `taskToken` and fields), and how the waiting task's
  token is found in an execution's history (`waiting_tasks` reads any machine's open tasks; this is the demo's);
- where a task's records live in the records bucket (keyed by a hash, so tokens stay out of object names);
- the Approve/Reject link format;
- the mail's `Execution:` line, which ties a caught email to its execution.

Zipped into every function with the rest of the `lambdas` package; pure (no AWS calls).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from lambdas.waiting_tasks import CALLBACK_SUFFIX, waiting_tasks

__all__ = ["ACTIONS", "CALLBACK_SUFFIX", "decision_key", "decision_links", "execution_in_mail", "execution_line",
           "task_key", "token_hash", "verification_message", "waiting_message", "waiting_token"]

ACTIONS = {"approve": "approved", "reject": "rejected"}


# --- records in the bucket -----------------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def task_key(token: str) -> str:
    """The task record, written by send-verification before the email goes out."""
    return f"tasks/{token_hash(token)}.json"


def decision_key(token: str) -> str:
    """The decision record; its conditional creation is what makes a decision happen exactly once."""
    return f"decisions/{token_hash(token)}.json"


# --- links -----------------------------------------------------------------------------------------------------------


def decision_links(api_url: str, token: str) -> dict[str, str]:
    """Approve/Reject links; AWS tokens contain +, / and =, so the token is percent-encoded completely."""
    encoded = quote(token, safe="")
    base = api_url.rstrip("/")
    return {action: f"{base}/{action}?token={encoded}" for action in ACTIONS}


# --- the mail's Execution: line ------------------------------------------------------------------------------------

_EXECUTION_LINE = re.compile(r"^Execution:[ \t]+(\S+)[ \t]*$", re.MULTILINE)


def execution_line(name: str) -> str:
    return f"Execution:   {name}"


def execution_in_mail(text: str) -> str | None:
    """The execution name an approval email names, or None."""
    match = _EXECUTION_LINE.search(text or "")
    return match.group(1) if match else None


# --- the waiting task, from history ----------------------------------------------------------------------------------


def _as_object(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def verification_message(parameters: Any) -> dict | None:
    """The verification message in a TaskScheduled event's parameters (SQS `MessageBody`, given as an object or
    as a JSON string), if it carries a task token."""
    data = _as_object(parameters)
    body = _as_object(data.get("MessageBody")) if isinstance(data, dict) else None
    if isinstance(body, dict) and isinstance(body.get("taskToken"), str) and body["taskToken"]:
        return body
    return None


def waiting_message(events: Iterable[Mapping]) -> dict | None:
    """The verification message of the callback task still waiting, from history events in chronological order
    (a tail of the history will do); None when no callback task is open. The generic reader finds the open tasks;
    the demo's is the one whose parameters carry a verification message."""
    for task in reversed(waiting_tasks(list(events), {})):
        message = verification_message(task.parameters) if task.kind == "callback" else None
        if message:
            return message
    return None


def waiting_token(events: Iterable[Mapping]) -> str | None:
    message = waiting_message(events)
    return message["taskToken"] if message else None
