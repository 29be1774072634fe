"""Tasks an execution waits on, read from its history and its definition. Pure.

A ``.waitForTaskToken`` task of any integration (``lambda:invoke``, ``sqs:sendMessage``, ``sns:publish``,
``events:putEvents``, ``states:startExecution``...) hands its token to someone through its parameters: the token
is where the definition put ``$$.Task.Token`` (JSONPath ``Parameters``) or ``$states.context.Task.Token``
(JSONata ``Arguments``), and the TaskScheduled event records the parameters as resolved, so the token is read at
that path (through JSON strings such as an SQS ``MessageBody``). Where the definition builds the token into a
larger expression, a field named like a token is the fallback. An activity task has no token in history: a
worker gets it from GetActivityTask, and ActivityStarted names that worker (see ``ledger``).

Timeouts come from the event (``timeoutInSeconds``, ``heartbeatInSeconds``; Step Functions records them as
resolved, ``TimeoutSecondsPath`` included).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

CALLBACK_SUFFIX = ".waitForTaskToken"
JSONPATH_TOKEN = "$$.Task.Token"  # noqa: S105 - a context path, not a secret
JSONATA_TOKEN = "$states.context.Task.Token"  # noqa: S105

_OPENS = {"TaskScheduled", "ActivityScheduled"}
_CLOSES = {"TaskSucceeded", "TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed",
           "ActivitySucceeded", "ActivityFailed", "ActivityTimedOut", "ActivityScheduleFailed"}
_CONTAINER_ENDS = ("StateExited", "StateFailed", "StateAborted", "StateSucceeded")


@dataclass
class WaitingTask:
    """One task waiting on a token: what the page and ``sandbox tasks`` show, and what answering needs."""

    id: int  # the TaskScheduled / ActivityScheduled event id: identifies the task within its execution
    state: str
    kind: str  # "callback" or "activity"
    resource: str  # e.g. "lambda:invoke.waitForTaskToken", or the activity ARN
    scheduled: datetime | None  # None only in histories without timestamps (hand-made ones)
    token: str | None = None  # None: an activity no worker has taken yet, or a token that could not be found
    token_path: str = ""  # where in the parameters the token was found
    parameters: Any = None  # the resolved parameters (callback) or the activity input
    started: datetime | None = None  # TaskStarted / ActivityStarted
    worker: str | None = None  # an activity's worker, from ActivityStarted
    timeout_seconds: int | None = None
    heartbeat_seconds: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def timeout_at(self) -> datetime | None:
        if self.scheduled is None or not self.timeout_seconds:
            return None
        return self.scheduled + timedelta(seconds=self.timeout_seconds)

    def heartbeat_due(self, last_heartbeat: datetime | None = None) -> datetime | None:
        """When the task times out without a heartbeat; history does not record heartbeats, so the last one
        known to this sandbox (sent from the page or the CLI) counts, else the task's start."""
        known = [t for t in (self.started or self.scheduled, last_heartbeat) if t is not None]
        if not self.heartbeat_seconds or not known:
            return None
        since = max(known)
        return since + timedelta(seconds=self.heartbeat_seconds)


def _json_value(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def token_paths(state: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], re.Pattern | None]]:
    """Where the state's parameters (or JSONata arguments) hold the task token, as key paths; with a pattern
    whose first group is the token when the definition builds it into a string (``States.Format``)."""
    found: list[tuple[tuple[str | int, ...], re.Pattern | None]] = []

    def walk(node: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, (*path, index))
        if not isinstance(node, Mapping):
            return
        for key, value in node.items():
            key = str(key)
            text = value.strip() if isinstance(value, str) else ""
            if key.endswith(".$") and text == JSONPATH_TOKEN:
                found.append(((*path, key[:-2]), None))
            elif key.endswith(".$") and JSONPATH_TOKEN in text:
                found.append(((*path, key[:-2]), _format_pattern(text)))
            elif text.startswith("{%") and text.endswith("%}") and text[2:-2].strip() == JSONATA_TOKEN:
                found.append(((*path, key), None))
            else:
                walk(value, (*path, key))

    walk(state.get("Parameters"), ())
    walk(state.get("Arguments"), ())
    return found


_FORMAT = re.compile(r"^States\.Format\(\s*'((?:[^'\\]|\\.)*)'\s*,(.*)\)$", re.DOTALL)


def _format_pattern(expression: str) -> re.Pattern | None:
    """For ``States.Format('...{}...', ..., $$.Task.Token, ...)``: a pattern that reads the token back out of the
    formatted string. None for other expressions."""
    match = _FORMAT.match(expression)
    if not match:
        return None
    template, arguments = match.group(1), [a.strip() for a in match.group(2).split(",")]
    if JSONPATH_TOKEN not in arguments or template.count("{}") != len(arguments):
        return None
    position = arguments.index(JSONPATH_TOKEN)
    pieces = template.split("{}")
    pattern = re.escape(pieces[0])
    for index, piece in enumerate(pieces[1:]):
        pattern += ("(.+?)" if index == position else "(?:.*?)") + re.escape(piece)
    return re.compile(f"^{pattern}$", re.DOTALL)


def _at(data: Any, path: Sequence[str | int]) -> Any:
    for key in path:
        data = _json_value(data)
        in_list = isinstance(key, int) and isinstance(data, list) and key < len(data)
        if not in_list and not (isinstance(key, str) and isinstance(data, Mapping) and key in data):
            return None
        data = data[key]
    return data


def _token_like_fields(data: Any, path: tuple[str | int, ...] = ()) -> Iterable[tuple[tuple[str | int, ...], str]]:
    data = _json_value(data)
    if isinstance(data, list):
        for index, item in enumerate(data):
            yield from _token_like_fields(item, (*path, index))
    elif isinstance(data, Mapping):
        for key, value in data.items():
            if "token" in str(key).lower() and isinstance(value, str) and value:
                yield (*path, str(key)), value
            else:
                yield from _token_like_fields(value, (*path, str(key)))


def _dotted(path: Sequence[str | int]) -> str:
    return "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in path).lstrip(".")


def find_token(state: Mapping[str, Any] | None, parameters: Any) -> tuple[str | None, str]:
    """The task token in resolved parameters, and the path it was found at ("" when not found)."""
    for path, pattern in token_paths(state or {}):
        value = _at(parameters, path)
        if isinstance(value, str) and pattern is not None:
            match = pattern.match(value)
            value = match.group(1) if match else None
        if isinstance(value, str) and value:
            return value, _dotted(path)
    for path, value in _token_like_fields(parameters):
        return value, _dotted(path)
    return None, ""


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def waiting_tasks(events: Sequence[Mapping], states: Mapping[str, Mapping[str, Any]],
                  containers: Mapping[str, set[str]] | None = None) -> list[WaitingTask]:
    """The tasks still waiting at the end of ``events`` (GetExecutionHistory, oldest first).

    ``states``: every state of the definition by name (nested ones included); ``containers``: the states inside
    each Parallel/Map, so a container that ends closes what its branches left open. Events are tied to their task
    through ``previousEventId`` (the event before, when absent), so concurrent branches are told apart.
    """
    containers = containers or {}
    open_tasks: dict[int, WaitingTask] = {}
    task_of: dict[Any, int | None] = {}  # event id -> the task whose lifecycle the event continues
    state_of: dict[Any, str | None] = {}  # event id -> the state the event happens in
    previous_id: Any = None
    for event in events:
        kind = str(event.get("type", ""))
        parent = event.get("previousEventId", previous_id)
        task_id, state = task_of.get(parent), state_of.get(parent)
        if kind.endswith("StateEntered"):
            state, task_id = str((event.get("stateEnteredEventDetails") or {}).get("name", "")), None
        elif kind in _OPENS:
            task = _open(event, kind, state or "", states.get(state or "") or {})
            task_id = None
            if task is not None:
                open_tasks[task.id] = task
                task_id = task.id
        elif kind in ("TaskStarted", "ActivityStarted") and task_id in open_tasks:
            open_tasks[task_id].started = event.get("timestamp")
            worker = (event.get("activityStartedEventDetails") or {}).get("workerName")
            open_tasks[task_id].worker = worker
        elif kind in _CLOSES:
            open_tasks.pop(task_id, None)  # type: ignore[arg-type]
            task_id = None
        elif kind.startswith("Execution") and kind != "ExecutionStarted":
            open_tasks.clear()
        elif kind.endswith(_CONTAINER_ENDS):
            name = str((event.get("stateExitedEventDetails") or {}).get("name", "")) or state or ""
            inside = containers.get(name, set())
            for key in [k for k, t in open_tasks.items() if t.state in inside]:
                del open_tasks[key]
        if kind.endswith("StateExited"):
            state, task_id = None, None
        event_id = event.get("id")
        task_of[event_id], state_of[event_id] = task_id, state
        previous_id = event_id
    return sorted(open_tasks.values(), key=lambda t: t.id)


def _open(event: Mapping, kind: str, state: str, definition: Mapping[str, Any]) -> WaitingTask | None:
    if kind == "ActivityScheduled":
        details = event.get("activityScheduledEventDetails") or {}
        return WaitingTask(
            id=int(event.get("id", 0)), state=state, kind="activity", resource=str(details.get("resource", "")),
            scheduled=event.get("timestamp"), parameters=_json_value(details.get("input")),
            timeout_seconds=_int(details.get("timeoutInSeconds")),
            heartbeat_seconds=_int(details.get("heartbeatInSeconds")))
    details = event.get("taskScheduledEventDetails") or {}
    resource = f"{details.get('resourceType', '')}:{details.get('resource', '')}".strip(":")
    if not resource.endswith(CALLBACK_SUFFIX):
        return None
    parameters = _json_value(details.get("parameters"))
    token, path = find_token(definition, parameters)
    task = WaitingTask(
        id=int(event.get("id", 0)), state=state, kind="callback", resource=resource,
        scheduled=event.get("timestamp"), token=token, token_path=path, parameters=parameters,
        timeout_seconds=_int(details.get("timeoutInSeconds")) or _int(definition.get("TimeoutSeconds")),
        heartbeat_seconds=_int(details.get("heartbeatInSeconds")) or _int(definition.get("HeartbeatSeconds")))
    if token is None:
        task.notes.append("the task token is not in the task's parameters as recorded in history")
    return task
