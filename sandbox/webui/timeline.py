"""An execution's history (GetExecutionHistory events) as timeline rows for a person to read. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from lambdas.approval import CALLBACK_SUFFIX


def _details(event: Mapping) -> dict:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def _error_text(details: Mapping) -> str:
    error, cause = details.get("error") or "", details.get("cause") or ""
    return f"{error}: {cause}" if error and cause else error or cause


def _family(kind: str, details: Mapping) -> tuple[str, str] | None:
    """The (family, key) an event opens or closes, so its end can be paired with its start for a duration."""
    if kind.endswith("StateEntered") or kind.endswith("StateExited"):
        return ("state", details.get("name", ""))
    if kind.startswith("Task") and kind not in ("TaskStarted",):
        return ("task", "")
    if kind.startswith("LambdaFunction") and kind != "LambdaFunctionStarted":
        return ("lambda", "")
    if kind.startswith("Execution"):
        return ("execution", "")
    return None


OPENERS = {"StateEntered", "TaskScheduled", "LambdaFunctionScheduled", "ExecutionStarted"}


def _opens(kind: str) -> bool:
    return kind in OPENERS or kind.endswith("StateEntered")


def _closes(kind: str) -> bool:
    return kind.endswith("StateExited") or kind in (
        "TaskSucceeded", "TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed",
        "LambdaFunctionSucceeded", "LambdaFunctionFailed", "LambdaFunctionTimedOut", "LambdaFunctionScheduleFailed",
        "LambdaFunctionStartFailed", "ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut",
        "ExecutionAborted",
    )


def _describe(kind: str, details: Mapping, callback: bool) -> tuple[str, str, str]:
    """(category, label, detail) of one event."""
    if kind == "ExecutionStarted":
        return "execution", "Execution started", ""
    if kind == "ExecutionSucceeded":
        return "execution ok", "Execution succeeded", ""
    if kind in ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"):
        return "execution bad", "Execution " + kind.removeprefix("Execution").lower(), _error_text(details)
    if kind.endswith("StateEntered"):
        return "state", f"Entered {details.get('name', '')}", kind.removesuffix("StateEntered")
    if kind.endswith("StateExited"):
        return "state", f"Exited {details.get('name', '')}", ""
    if kind == "TaskScheduled":
        resource = f"{details.get('resourceType', '')}:{details.get('resource', '')}".strip(":")
        return "task", "Task scheduled", resource
    if kind == "TaskSubmitted":
        if callback:
            return "callback", "Task submitted", "message sent; waiting for the callback (task token)"
        return "task", "Task submitted", ""
    if kind == "TaskSucceeded":
        if callback:
            return "callback ok", "Callback received", _decision(details.get("output"))
        return "task ok", "Task succeeded", ""
    if kind == "TaskFailed":
        label = "Callback received (failure)" if callback else "Task failed"
        return "callback bad" if callback else "task bad", label, _error_text(details)
    if kind == "TaskTimedOut":
        return "callback bad" if callback else "task bad", "Task timed out", _error_text(details)
    if kind == "TaskStarted":
        return "task", "Task started", ""
    if kind.startswith("LambdaFunction"):
        what = kind.removeprefix("LambdaFunction")
        detail = details.get("resource", "").rsplit(":", 1)[-1] if what == "Scheduled" else _error_text(details)
        return "lambda" + (" bad" if "Fail" in what or "TimedOut" in what else ""), f"Lambda {what.lower()}", detail
    return "other", kind, _error_text(details)


def _decision(output: Any) -> str:
    try:
        data = json.loads(output or "{}")
    except (TypeError, ValueError):
        return ""
    if isinstance(data, dict) and data.get("decision"):
        return f"decision: {data['decision']}"
    return ""


def _seconds(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds(), 3)


def timeline(events: Sequence[Mapping]) -> list[dict[str, Any]]:
    """One row per event: id, time (ISO), offset (s since the first event), category, label, detail, and
    duration (s) on events that end something: a state's exit, a task's or Lambda's result, the execution's end."""
    rows: list[dict[str, Any]] = []
    if not events:
        return rows
    first = events[0]["timestamp"]
    open_since: dict[tuple[str, str], datetime] = {}
    callback = False
    for event in events:
        kind, when = event.get("type", ""), event["timestamp"]
        details = _details(event)
        if kind == "TaskScheduled":
            callback = str(details.get("resource", "")).endswith(CALLBACK_SUFFIX)
        family = _family(kind, details)
        duration = None
        if family and _opens(kind):
            open_since[family] = when
        elif family and _closes(kind) and family in open_since:
            duration = _seconds(open_since.pop(family), when)
        category, label, detail = _describe(kind, details, callback)
        rows.append({
            "id": event.get("id"),
            "type": kind,
            "time": when.isoformat(timespec="milliseconds"),
            "offset": _seconds(first, when),
            "category": category,
            "label": label,
            "detail": detail,
            "duration": duration,
        })
    return rows
