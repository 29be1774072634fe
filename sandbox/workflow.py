"""Drive and read the demo's WaitForCallback workflow: start requests, read an execution's status and history,
and what its input and end mean (the request's title, the decision).

Used by the CLI (`sandbox trigger|history`), the console (`sandbox.console`, for the demo's rows), the bench and
the tests. Starting reads the deployment from `outputs.json` (written by `bootstrap.deploy`); everything talks to
LocalStack with the test credentials. Listing executions of every machine is `sandbox.console`'s.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import boto3
from botocore.exceptions import ClientError

from sandbox.config import TEST_CREDENTIALS, Settings

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
# PutEvents accepts at most 256 KB per entry.
MAX_DETAIL_BYTES = 256 * 1024 - 1024


class WorkflowError(RuntimeError):
    """Something the user can act on (not deployed, unknown execution, bad payload); the message says what."""


@dataclass(frozen=True)
class Started:
    name: str
    arn: str
    event_id: str


def load_outputs(settings: Settings) -> dict:
    try:
        return json.loads(settings.outputs_path.read_text())
    except FileNotFoundError:
        raise WorkflowError(f"the pipeline is not deployed ({settings.outputs_path} is missing); "
                            "run `make deploy`") from None
    except ValueError:
        raise WorkflowError(f"{settings.outputs_path} is not valid JSON; run `make deploy` again") from None


def client(settings: Settings, service: str):
    return boto3.client(
        service,
        endpoint_url=settings.localstack_url,
        region_name=settings.region,
        aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def execution_arn(settings: Settings, name_or_arn: str) -> str:
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    machine = load_outputs(settings)["state_machine_arn"]
    return machine.replace(":stateMachine:", ":execution:", 1) + ":" + name_or_arn


# --- start ------------------------------------------------------------------------------------------------------


def start(settings: Settings, payload: dict, *, find_timeout: float = 15.0) -> Started:
    """Send an ApprovalRequested event (PutEvents) and return the execution its rule started."""
    if not isinstance(payload, dict):
        raise WorkflowError("the request must be a JSON object, e.g. {\"title\": \"Deploy v2\"}")
    detail = json.dumps(payload)
    if len(detail.encode()) > MAX_DETAIL_BYTES:
        raise WorkflowError("the request is larger than EventBridge accepts (256 KB)")
    outputs = load_outputs(settings)
    answer = client(settings, "events").put_events(Entries=[{
        "Source": outputs["event_source"],
        "DetailType": outputs["event_detail_type"],
        "Detail": detail,
    }])
    entry = answer["Entries"][0]
    if answer.get("FailedEntryCount") or "EventId" not in entry:
        raise WorkflowError(f"EventBridge refused the request: {entry.get('ErrorMessage', entry)}")
    return _find_started(settings, outputs["state_machine_arn"], entry["EventId"], find_timeout)


def trigger(settings: Settings, payload: dict) -> str:
    """Start an approval request; returns the execution name (what `make trigger` prints)."""
    return start(settings, payload).name


def _find_started(settings: Settings, machine_arn: str, event_id: str, timeout: float) -> Started:
    """The execution whose input is this event. LocalStack names it after the event id; AWS does not, so fall
    back to reading the inputs of the newest executions."""
    sfn = client(settings, "stepfunctions")
    by_name = machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + event_id
    deadline = time.monotonic() + timeout
    while True:
        try:
            sfn.describe_execution(executionArn=by_name)
            return Started(event_id, by_name, event_id)
        except ClientError as error:
            if "ExecutionDoesNotExist" not in str(error):
                raise
        for summary in sfn.list_executions(stateMachineArn=machine_arn, maxResults=20)["executions"]:
            described = sfn.describe_execution(executionArn=summary["executionArn"])
            if json.loads(described.get("input") or "{}").get("id") == event_id:
                return Started(summary["name"], summary["executionArn"], event_id)
        if time.monotonic() > deadline:
            raise WorkflowError(f"no execution started for event {event_id} within {timeout:.0f} s; "
                                "is the manual-request rule deployed and enabled? (`make deploy`)")
        time.sleep(0.2)


# --- read -------------------------------------------------------------------------------------------------------


def request_of(execution_input: str | None) -> dict:
    """The request inside an execution input (an EventBridge event, or a direct StartExecution input)."""
    try:
        data = json.loads(execution_input or "{}")
    except ValueError:
        return {}
    if isinstance(data, dict) and "detail-type" in data:
        raw_detail = data.get("detail")
        detail: dict = raw_detail if isinstance(raw_detail, dict) else {}
        if data.get("source") == "aws.events":
            return {"title": "Scheduled approval request", **detail}
        return detail
    return data if isinstance(data, dict) else {}


def decision_of(described: dict) -> str | None:
    """approved / rejected / timed out / waiting, read from the status and the error of the execution."""
    status = described["status"]
    if status == "RUNNING":
        return "waiting"
    if status == "SUCCEEDED":
        output = json.loads(described.get("output") or "{}")
        return (output.get("approval") or {}).get("decision", "approved")
    return {"ApprovalRejected": "rejected", "ApprovalTimedOut": "timed out"}.get(described.get("error") or "")


def describe(settings: Settings, name_or_arn: str) -> dict:
    """DescribeExecution, with a clear error for an unknown name."""
    arn = execution_arn(settings, name_or_arn)
    try:
        return client(settings, "stepfunctions").describe_execution(executionArn=arn)
    except ClientError as error:
        if "ExecutionDoesNotExist" in str(error):
            raise WorkflowError(f"no execution named {name_or_arn!r}; see `make executions`") from None
        raise


def _history_events(settings: Settings, arn: str) -> Iterable[dict]:
    sfn = client(settings, "stepfunctions")
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        yield from page["events"]


_DETAIL_KEYS = {
    "TaskScheduled": ("taskScheduledEventDetails", lambda d: f"{d.get('resource')} on {d.get('resourceType')}"),
    "TaskSubmitted": ("taskSubmittedEventDetails", lambda d: "message sent, waiting for the task token"),
    "TaskSucceeded": ("taskSucceededEventDetails", lambda d: "callback received" if d.get("resource", "").endswith(
        "waitForTaskToken") else "done"),
    "TaskFailed": ("taskFailedEventDetails", lambda d: f"{d.get('error')}: {d.get('cause', '')}".strip(": ")),
    "TaskTimedOut": ("taskTimedOutEventDetails", lambda d: f"{d.get('error')}: {d.get('cause', '')}".strip(": ")),
    "ExecutionFailed": ("executionFailedEventDetails", lambda d: f"{d.get('error')}: {d.get('cause', '')}"),
    "ExecutionSucceeded": ("executionSucceededEventDetails", lambda d: "succeeded"),
    "ExecutionTimedOut": ("executionTimedOutEventDetails", lambda d: f"{d.get('error', '')}"),
    "ExecutionAborted": ("executionAbortedEventDetails", lambda d: f"{d.get('error', '')}"),
    "LambdaFunctionFailed": ("lambdaFunctionFailedEventDetails", lambda d: f"{d.get('error')}: {d.get('cause', '')}"),
}


def execution_history(settings: Settings, name_or_arn: str) -> list[dict]:
    """The execution's events in order: time, elapsed, type, state, detail (plus id and the raw event)."""
    arn = execution_arn(settings, name_or_arn)
    describe(settings, arn)  # a clear error for an unknown name
    steps: list[dict] = []
    first: datetime | None = None
    current_state: str | None = None
    for event in _history_events(settings, arn):
        first = first or event["timestamp"]
        kind = event["type"]
        state = None
        for key in ("stateEnteredEventDetails", "stateExitedEventDetails"):
            if key in event:
                state = event[key]["name"]
        if kind.endswith("StateEntered") and state:
            current_state = state
        detail = ""
        if kind in _DETAIL_KEYS:
            key, render = _DETAIL_KEYS[kind]
            detail = render(event.get(key) or {})
        steps.append({
            "id": event["id"],
            "time": event["timestamp"].isoformat(timespec="milliseconds"),
            "elapsed": f"{(event['timestamp'] - first).total_seconds():.3f} s",
            "type": kind,
            "state": state or (current_state if not kind.startswith("Execution") else None),
            "detail": detail,
            "event": event,
        })
    return steps


def wait_for_status(settings: Settings, name_or_arn: str, statuses: Iterable[str] = TERMINAL,
                    timeout: float = 60.0, interval: float = 0.2) -> dict:
    """Poll DescribeExecution until the status is one of `statuses`; returns the description."""
    wanted = set(statuses)
    deadline = time.monotonic() + timeout
    while True:
        described = describe(settings, name_or_arn)
        if described["status"] in wanted:
            return described
        if time.monotonic() > deadline:
            raise WorkflowError(f"execution {name_or_arn} is still {described['status']} after {timeout:.0f} s "
                                f"(waited for {', '.join(sorted(wanted))})")
        time.sleep(interval)


def wait_for_state(settings: Settings, name_or_arn: str, state: str, timeout: float = 60.0) -> None:
    """Wait until the execution has entered `state` (e.g. 'Request user verification')."""
    deadline = time.monotonic() + timeout
    while True:
        if any(s["type"].endswith("StateEntered") and s["state"] == state
               for s in execution_history(settings, name_or_arn)):
            return
        if time.monotonic() > deadline:
            raise WorkflowError(f"execution {name_or_arn} did not reach {state!r} within {timeout:.0f} s")
        time.sleep(0.2)
