"""Approve/Reject endpoint behind API Gateway (REST API, Lambda proxy): /approve and /reject.

GET never changes anything: it shows the request, its current state and a button that POSTs the decision (mail
scanners open every link in a message). POST decides, exactly once per task: the first decision is recorded with an
atomic "only if absent" write (S3 PutObject IfNoneMatch='*'), then sent to Step Functions; every later or concurrent
click gets 409 naming the decision that won and when. Bad links get a 4xx page that says why, never a stack trace.
Clients sending `Accept: application/json` get JSON instead of HTML.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from datetime import UTC, datetime

import boto3
from botocore.exceptions import ClientError

from lambdas.approval import ACTIONS, decision_key, task_key, waiting_message
from lambdas.decision_pages import confirm_page, error_response, request_table, respond, summary
from lambdas.decision_request import Call, HttpError, check_token, parse_call, wants_json

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

REJECTION_ERROR = "ApprovalRejected"
SFN_GONE_ERRORS = ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken", "ExecutionDoesNotExist")


@functools.cache
def s3_client():
    return boto3.client("s3")


@functools.cache
def sfn_client():
    return boto3.client("stepfunctions")


# --- records in the sandbox bucket ------------------------------------------------------------------------------


def _bucket() -> str:
    return os.environ["RECORDS_BUCKET"]


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _read_json(key: str) -> dict | None:
    try:
        body = s3_client().get_object(Bucket=_bucket(), Key=key)["Body"].read()
    except ClientError as error:
        if _error_code(error) in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    return json.loads(body)


def unknown_token(started_at: str | None) -> HttpError:
    """404 for a token no request has. In the sandbox (which says when it started) the likely cause is a restart:
    a restart loses every waiting approval, while the decision API keeps its address, so old links still come here."""
    message = "This link does not belong to any approval request. It may be mistyped or forged."
    extra = {}
    if started_at:
        when = started_at.replace("T", " ").replace("+00:00", " UTC")
        message = (f"This link does not belong to any approval request. The sandbox restarted at {when}, "
                   "and a restart loses every waiting approval: if the email is older than that, its request was "
                   "lost in the restart; start it again. Otherwise the link is mistyped or forged.")
        extra = {"sandboxStartedAt": started_at}
    return HttpError(404, "UnknownToken", message, extra)


def load_task(token: str) -> dict:
    task = _read_json(task_key(token)) or find_waiting_task(token)
    if task is None:
        raise unknown_token(os.environ.get("SANDBOX_STARTED_AT"))
    return task


def task_from_message(body: dict) -> dict:
    """The task record fields, read from the verification message the state machine sent."""
    return {
        "executionArn": body.get("executionArn"),
        "executionName": body.get("executionName"),
        "requestId": body.get("requestId"),
        "createdAt": body.get("createdAt"),
        "request": body.get("request") or {},
        "approvalTimeoutSeconds": body.get("approvalTimeoutSeconds"),
        "expiresAt": None,
    }


def find_waiting_task(token: str) -> dict | None:
    """A task whose email is not sent yet has no record; the Workflows page can still link to it. Find the
    running execution that waits on this token in the state machine's own history (so forged tokens still fail)."""
    machine = os.environ.get("STATE_MACHINE_ARN")
    if not machine:
        return None
    sfn = sfn_client()
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine, statusFilter="RUNNING"):
        for execution in page["executions"]:
            # The newest events suffice: a waiting execution's callback task is among its last few.
            tail = sfn.get_execution_history(executionArn=execution["executionArn"], reverseOrder=True,
                                             maxResults=50)["events"]
            message = waiting_message(reversed(tail))
            if message and message["taskToken"] == token:
                return task_from_message(message)
    return None


def load_decision(token: str) -> dict | None:
    return _read_json(decision_key(token))


def claim_decision(token: str, decision: dict) -> dict | None:
    """Record the decision unless one exists. Returns None when ours won, else the decision that did."""
    key = decision_key(token)
    try:
        s3_client().put_object(
            Bucket=_bucket(), Key=key, Body=json.dumps(decision).encode(), ContentType="application/json",
            IfNoneMatch="*",
        )
        return None
    except ClientError as error:
        if _error_code(error) not in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409"):
            raise
    return _read_json(key) or {"decision": "another decision", "decidedAt": "just now", "status": "pending"}


def save_decision(token: str, decision: dict) -> None:
    s3_client().put_object(
        Bucket=_bucket(), Key=decision_key(token), Body=json.dumps(decision).encode(),
        ContentType="application/json",
    )


def drop_decision(token: str) -> None:
    s3_client().delete_object(Bucket=_bucket(), Key=decision_key(token))


def execution_status(execution_arn: str) -> str:
    try:
        return sfn_client().describe_execution(executionArn=execution_arn)["status"]
    except ClientError as error:
        if _error_code(error) == "ExecutionDoesNotExist":
            return "GONE"
        raise


# --- the decision -----------------------------------------------------------------------------------------------


def state_of(task: dict, decision: dict | None, status: str) -> str:
    """One word for the page: waiting, approved, rejected or expired."""
    if decision and decision.get("status") != "expired":
        return decision["decision"]
    return "waiting" if status == "RUNNING" else "expired"


def conflict(decision: dict) -> HttpError:
    return HttpError(
        409, "AlreadyDecided",
        f"This request was already {decision['decision']} at {decision['decidedAt']}; your click changed nothing.",
        {"decision": decision["decision"], "decidedAt": decision["decidedAt"]},
    )


def expired(status: str) -> HttpError:
    why = "ended" if status != "GONE" else "no longer exists"
    return HttpError(
        410, "Expired",
        f"This approval request has {why} without a decision (its workflow is {status}); the link no longer works.",
        {"executionStatus": status},
    )


def decide(call: Call, token: str, task: dict, now: datetime) -> dict:
    """Apply the decision once. Returns the applied decision; raises HttpError 409/410/503 otherwise."""
    existing = load_decision(token)
    if existing and existing.get("status") == "expired":
        raise expired(existing.get("executionStatus", "finished"))
    if existing:
        raise conflict(existing)
    status = execution_status(task["executionArn"])
    if status != "RUNNING":
        # A concurrent click may have decided, and the workflow finished, since we looked: that is a 409.
        late = load_decision(token)
        if late and late.get("status") != "expired":
            raise conflict(late)
        raise expired(status)
    decision = {"decision": ACTIONS[call.action], "decidedAt": now.isoformat(timespec="seconds"),
                "requestId": task.get("requestId"), "status": "pending"}
    winner = claim_decision(token, decision)
    if winner is not None:
        if winner.get("status") == "expired":
            raise expired(winner.get("executionStatus", "finished"))
        raise conflict(winner)
    try:
        if call.action == "approve":
            output = {"decision": "approved", "decidedAt": decision["decidedAt"], "requestId": task.get("requestId")}
            sfn_client().send_task_success(taskToken=token, output=json.dumps(output))
        else:
            sfn_client().send_task_failure(
                taskToken=token, error=REJECTION_ERROR,
                cause=f"Rejected by the approver at {decision['decidedAt']}",
            )
    except ClientError as error:
        if _error_code(error) in SFN_GONE_ERRORS:
            save_decision(token, {**decision, "status": "expired", "executionStatus": "TIMED_OUT"})
            raise expired("TIMED_OUT") from None
        LOG.exception("Step Functions did not take the decision")
        drop_decision(token)  # nothing was applied: let the approver try again
        raise HttpError(503, "Unavailable", "The workflow service did not answer; nothing was decided. Try again.") \
            from None
    applied = {**decision, "status": "applied"}
    save_decision(token, applied)
    return applied


def handle(event: dict, now: datetime) -> dict:
    as_json = wants_json(event)
    try:
        call = parse_call(event)
        token = check_token(call.token)
        task = load_task(token)
        if call.method == "GET":
            decision = load_decision(token)
            status = execution_status(task["executionArn"])
            state = state_of(task, decision, status)
            if state == "expired":
                raise expired(status if status != "RUNNING" else "TIMED_OUT")
            payload = {**summary(task), "state": state, "executionStatus": status,
                       **({"decision": decision["decision"], "decidedAt": decision["decidedAt"]} if decision else {})}
            return respond(200, as_json, payload, "", confirm_page(call, token, task, state, decision))
        applied = decide(call, token, task, now)
        payload = {**summary(task), "state": applied["decision"], "decision": applied["decision"],
                   "decidedAt": applied["decidedAt"]}
        body = request_table(task, applied["decision"]) + (
            f"<p>Thank you: the request is {applied['decision']}. You can close this page.</p>")
        return respond(200, as_json, payload, f"Request {applied['decision']}", body)
    except HttpError as error:
        return error_response(error, as_json)
    except Exception:
        LOG.exception("unexpected error while handling %s", event.get("path"))
        return error_response(HttpError(503, "Unavailable", "Something went wrong on our side; nothing was decided. "
                                        "Try again in a moment."), as_json)


def handler(event, context):
    return handle(event, datetime.now(UTC))
