"""Approve/Reject endpoint behind API Gateway (REST API, Lambda proxy): /approve and /reject.

GET never changes anything: it shows the request, its current state and a button that POSTs the decision (mail
scanners open every link in a message). POST decides, exactly once per task: the first decision is recorded with an
atomic "only if absent" write (S3 PutObject IfNoneMatch='*'), then sent to Step Functions; every later or concurrent
click gets 409 naming the decision that won and when. Bad links get a 4xx page that says why, never a stack trace.
Clients sending `Accept: application/json` get JSON instead of HTML.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs

import boto3
from botocore.exceptions import ClientError

from lambdas.approval import ACTIONS, decision_key, task_key, waiting_message

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

# SendTaskSuccess accepts tokens of 1 to 2048 characters; AWS tokens are base64 (+ / =), LocalStack's are uuids.
MAX_TOKEN_LENGTH = 2048
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9+/=_-]+")
REJECTION_ERROR = "ApprovalRejected"
SFN_GONE_ERRORS = ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken", "ExecutionDoesNotExist")


@functools.cache
def s3_client():
    return boto3.client("s3")


@functools.cache
def sfn_client():
    return boto3.client("stepfunctions")


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str, extra: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra or {}


@dataclass(frozen=True)
class Call:
    method: str
    action: str  # "approve" or "reject"
    token: str | None
    wants_json: bool


# --- request parsing (pure) -------------------------------------------------------------------------------------


def _header(event: dict, name: str) -> str:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name and value:
            return str(value)
    return ""


def _body_fields(event: dict) -> dict[str, list[str]]:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise HttpError(400, "BadBody", "The request body is not valid UTF-8.") from None
    if not body:
        return {}
    if "application/json" in _header(event, "content-type"):
        try:
            data = json.loads(body)
        except ValueError:
            raise HttpError(400, "BadBody", "The request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise HttpError(400, "BadBody", "The request body must be a JSON object.")
        return {k: [v] for k, v in data.items() if isinstance(v, str)}
    return parse_qs(body, keep_blank_values=True)


def _query_tokens(event: dict) -> list[str]:
    multi = event.get("multiValueQueryStringParameters") or {}
    if multi.get("token"):
        return list(multi["token"])
    single = (event.get("queryStringParameters") or {}).get("token")
    return [single] if single is not None else []


def wants_json(event: dict) -> bool:
    accept = _header(event, "accept")
    return "application/json" in accept and "text/html" not in accept


def parse_call(event: dict) -> Call:
    method = str(event.get("httpMethod") or "").upper()
    path = str(event.get("resource") or event.get("path") or "")
    action = path.rstrip("/").rsplit("/", 1)[-1]
    if action not in ACTIONS:
        raise HttpError(404, "NotFound", "There is nothing here; use the Approve or Reject link from the email.")
    if method not in ("GET", "POST"):
        raise HttpError(405, "MethodNotAllowed", "Only GET (to review) and POST (to decide) are allowed.")
    tokens = _query_tokens(event)
    if method == "POST":
        tokens += _body_fields(event).get("token", [])
    distinct = set(tokens)
    if len(distinct) > 1:
        raise HttpError(400, "AmbiguousToken", "The request carries more than one different token.")
    return Call(method, action, distinct.pop() if distinct else None, wants_json(event))


def check_token(token: str | None) -> str:
    if token is None or not token.strip():
        raise HttpError(400, "MissingToken", "This link has no token. Open the full link from the approval email.")
    if len(token) > MAX_TOKEN_LENGTH:
        raise HttpError(
            400, "MalformedToken", f"This token is {len(token)} characters long; a real one has at most "
            f"{MAX_TOKEN_LENGTH}. The link is not from an approval email."
        )
    if not TOKEN_PATTERN.fullmatch(token):
        hint = " (a '+' may have been turned into a space: copy the whole link)" if " " in token else ""
        raise HttpError(400, "MalformedToken", f"This token contains characters no real token has{hint}.")
    return token


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


def load_task(token: str) -> dict:
    task = _read_json(task_key(token)) or find_waiting_task(token)
    if task is None:
        raise HttpError(
            404, "UnknownToken", "This link does not belong to any approval request. It may be mistyped or forged."
        )
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


# --- pages ------------------------------------------------------------------------------------------------------

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;color:#1f2328}"
    "table{border-collapse:collapse}td,th{text-align:left;padding:.25rem .75rem .25rem 0;vertical-align:top}"
    "button{font-size:1rem;padding:.5rem 1.25rem;border-radius:.375rem;border:1px solid #888;cursor:pointer}"
    ".approve{background:#1a7f37;color:#fff}.reject{background:#cf222e;color:#fff}.state{font-weight:600}"
)


def page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def request_table(task: dict, state: str) -> str:
    request = task.get("request") or {}
    rows = [
        ("Title", request.get("title", "Untitled request")),
        ("Request id", task.get("requestId", "")),
        ("Execution", task.get("executionName", "")),
        ("Requested", task.get("createdAt") or ""),
        ("Decide by", task.get("expiresAt") or "no deadline"),
    ]
    rows += [(k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
             for k, v in sorted(request.items()) if k not in ("title", "approvalTimeoutSeconds")]
    cells = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f"<p>State: <span class=state id=state>{html.escape(state)}</span></p><table>{cells}</table>"


def confirm_page(call: Call, token: str, task: dict, state: str, decision: dict | None) -> str:
    verb = call.action.capitalize()
    body = request_table(task, state)
    if state == "waiting":
        body += (
            f"<p>Press the button to {call.action} this request. Nothing has been decided yet.</p>"
            f"<form method=post action='{call.action}'>"
            f"<input type=hidden name=token value='{html.escape(token, quote=True)}'>"
            f"<button type=submit class={call.action}>{verb}</button></form>"
        )
    elif decision:
        body += f"<p>This request was {html.escape(decision['decision'])} at {html.escape(decision['decidedAt'])}.</p>"
    return page(f"{verb} request?" if state == "waiting" else "Approval request", body)


def respond(status: int, as_json: bool, payload: dict, title: str, body_html: str) -> dict:
    headers = {
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        # The token is in the URL: keep it out of Referer headers of anything the page might load.
        "Referrer-Policy": "no-referrer",
    }
    if as_json:
        headers["Content-Type"] = "application/json"
        body = json.dumps(payload, ensure_ascii=False)
    else:
        headers["Content-Type"] = "text/html; charset=utf-8"
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
        body = page(title, body_html) if not body_html.startswith("<!doctype") else body_html
    return {"statusCode": status, "headers": headers, "body": body, "isBase64Encoded": False}


def error_response(error: HttpError, as_json: bool) -> dict:
    payload = {"error": error.code, "message": error.message, **error.extra}
    titles = {400: "This link is not valid", 404: "Unknown approval link", 409: "Already decided",
              410: "This approval request has ended", 405: "Method not allowed", 503: "Please try again"}
    return respond(error.status, as_json, payload, titles.get(error.status, "Cannot do that"),
                   f"<p>{html.escape(error.message)}</p>")


def summary(task: dict) -> dict:
    return {"requestId": task.get("requestId"), "execution": task.get("executionName"),
            "title": (task.get("request") or {}).get("title"), "request": task.get("request") or {}}


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
