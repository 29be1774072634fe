"""Answer a waiting task: send success (with a JSON output), failure (error and cause), or a heartbeat.

The demo's decisions go through its decision API, the very endpoint behind the email's links, so its
exactly-once record and its 409 for a second decision stay true; every other machine's tasks are answered
straight through Step Functions, whose own refusals (TaskTimedOut, InvalidToken, TaskDoesNotExist) are passed on
as they are. Activity tasks are first taken as a worker would (GetActivityTask), which is how their token is got.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import requests
from botocore.exceptions import ClientError

from lambdas.approval import decision_links
from lambdas.waiting_tasks import WaitingTask

from . import demo
from .ledger import Ledger
from .reader import Machine, Reader, Unavailable, error_code, sfn_client

ACTIONS = ("success", "failure", "heartbeat")
MAX_OUTPUT = 256 * 1024  # SendTaskSuccess accepts at most 256 KiB of output
MAX_ERROR, MAX_CAUSE = 256, 32768
# Step Functions' answers when the token no longer opens a waiting task: shown as they are.
REFUSALS = {"TaskTimedOut": 409, "InvalidToken": 400, "TaskDoesNotExist": 404, "InvalidOutput": 400,
            "ValidationException": 400}


def validated_output(text: str | None) -> str:
    """The success output as JSON text (SendTaskSuccess wants JSON); a 400 saying where it is broken."""
    source = "{}" if text is None or not text.strip() else text
    if len(source.encode()) > MAX_OUTPUT:
        raise Unavailable(400, "bad_output", "The output is larger than Step Functions accepts (256 KiB).")
    try:
        json.loads(source)
    except json.JSONDecodeError as error:
        raise Unavailable(400, "bad_output", f"The output is not valid JSON: {error.msg} at line {error.lineno} "
                                             f"column {error.colno}.") from None
    return source


def _checked_failure(error: str | None, cause: str | None) -> tuple[str, str]:
    error, cause = (error or "").strip(), cause or ""
    if not error:
        raise Unavailable(400, "bad_error", "A failure needs an error name, e.g. ReviewRejected.")
    if len(error) > MAX_ERROR or len(cause) > MAX_CAUSE:
        raise Unavailable(400, "bad_error", f"Step Functions accepts errors of up to {MAX_ERROR} characters and "
                                            f"causes of up to {MAX_CAUSE}.")
    return error, cause


def pick_task(reader: Reader, arn: str, task_id: int | None = None) -> WaitingTask:
    """The task to answer: the one with this id, or the only one the execution waits on."""
    waiting = reader.waiting(arn)
    if task_id is not None:
        for task in waiting:
            if task.id == task_id:
                return task
        raise Unavailable(409, "not_waiting", f"Task {task_id} of this execution is not waiting (any more).")
    if not waiting:
        raise Unavailable(409, "not_waiting", "This execution waits on no task.")
    if len(waiting) > 1:
        listed = ", ".join(f"{t.id} ({t.state})" for t in waiting)
        raise Unavailable(409, "several_tasks", f"This execution waits on several tasks: {listed}; say which.")
    return waiting[0]


def _token(task: WaitingTask, ledger: Ledger) -> str:
    token = task.token or (ledger.activity_token(task.worker) if task.worker else None)
    if token:
        return token
    if task.kind == "activity" and task.worker:
        raise Unavailable(409, "no_token", f"Worker {task.worker} took this activity task; only it has the token.")
    if task.kind == "activity":
        raise Unavailable(409, "no_token", "No worker has taken this activity task yet: take it first.")
    raise Unavailable(409, "no_token", "The task token is not in this task's parameters as history records them.")


def _through_decision_api(reader: Reader, action: str, token: str) -> dict[str, Any]:
    outputs = demo.load_outputs(reader.settings) or {}
    if not outputs.get("api_url"):
        raise Unavailable(409, "no_decision_api", "The demo's decision API is not known (outputs.json has no "
                                                  "api_url); run `make deploy`.")
    link = decision_links(outputs["api_url"], token)["approve" if action == "success" else "reject"]
    try:
        answer = requests.post(link, headers={"Accept": "application/json"}, timeout=30)
    except requests.RequestException as error:
        raise Unavailable(503, "decision_api_unavailable", f"The decision API did not answer: {error}") from None
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if answer.status_code != 200:
        raise Unavailable(answer.status_code, str(body.get("error") or "decision_api_error"),
                          f"The decision API answered {answer.status_code}: {body.get('message') or answer.text[:200]}")
    return body


def answer(reader: Reader, ledger: Ledger, machine: Machine, arn: str, action: str, *, task_id: int | None = None,
           output: str | None = None, error: str | None = None, cause: str | None = None) -> dict[str, Any]:
    """Answer the waiting task; returns what was done. Raises Unavailable with Step Functions' (or the decision
    API's) refusal otherwise."""
    if action not in ACTIONS:
        raise Unavailable(400, "bad_action", f"action must be one of {', '.join(ACTIONS)}")
    if action == "success":
        output = validated_output(output)
    elif action == "failure":
        error, cause = _checked_failure(error, cause)
    task = pick_task(reader, arn, task_id)
    token = _token(task, ledger)
    done: dict[str, Any] = {"action": action, "machine": machine.name, "execution": arn.rsplit(":", 1)[-1],
                            "task": task.id, "state": task.state}
    if machine.demo and action != "heartbeat":
        decided = _through_decision_api(reader, action, token)
        return {**done, "via": "decision API", "decision": decided.get("decision"),
                "message": f"The request is {decided.get('decision', 'decided')} (through the decision API, "
                           "which sets the output or error itself)."}
    try:
        sfn = reader.sfn
        if action == "success":
            sfn.send_task_success(taskToken=token, output=output)
        elif action == "failure":
            sfn.send_task_failure(taskToken=token, error=error, cause=cause)
        else:
            sfn.send_task_heartbeat(taskToken=token)
            ledger.heartbeat_sent(token, datetime.now(UTC))
    except ClientError as refused:
        code = error_code(refused)
        message = refused.response.get("Error", {}).get("Message") or code
        raise Unavailable(REFUSALS.get(code, 502), code or "step_functions_error",
                          f"Step Functions refused: {code}: {message}") from None
    sent = {"success": "Success sent", "failure": f"Failure {error} sent", "heartbeat": "Heartbeat sent"}[action]
    if action == "heartbeat" and task.heartbeat_seconds:
        sent += f"; the task times out unless the next one arrives within {task.heartbeat_seconds} s"
    return {**done, "via": "Step Functions", "message": sent + "."}


def take_activity(reader: Reader, ledger: Ledger, arn: str, task_id: int | None = None) -> dict[str, Any]:
    """Take an activity task as a worker would (GetActivityTask), keeping its token in the ledger. Workers get
    an activity's tasks oldest first, so the task taken may belong to another execution; the answer says whose."""
    task = pick_task(reader, arn, task_id)
    if task.kind != "activity" or task.worker:
        raise Unavailable(409, "not_takeable", "Only an activity task no worker has taken yet can be taken.")
    worker = f"sandbox-console-{uuid.uuid4().hex[:12]}"
    # GetActivityTask waits up to 60 s for a task; there is one (history says so) unless another worker won it.
    try:
        worker_client = sfn_client(reader.settings, read_timeout=70)
        got = worker_client.get_activity_task(activityArn=task.resource, workerName=worker)
    except ClientError as refused:
        raise Unavailable(REFUSALS.get(error_code(refused), 502), error_code(refused),
                          f"Step Functions refused: {error_code(refused)}") from None
    if not got.get("taskToken"):
        raise Unavailable(409, "nothing_to_take", "Another worker took the task first.")
    ledger.took_activity(worker, got["taskToken"], task.resource)
    mine = any(t.worker == worker for t in reader.waiting(arn))
    return {"worker": worker, "execution": arn.rsplit(":", 1)[-1], "takenHere": mine,
            "message": f"Taken as worker {worker}." if mine else
            f"Taken as worker {worker}, but workers get tasks oldest first: the task taken is another "
            "execution's waiting on the same activity; answer it there."}
