"""Request user verification: read approval tasks from SQS and email the approver Approve and Reject links.

SQS delivers at least once, so each task gets a record in the sandbox bucket, created with an atomic
"only if absent" write (PutObject IfNoneMatch='*') keyed by a hash of the task token. A redelivered message finds
the record and sends nothing; if publishing fails the record is removed again, so the retry can send. The same
record is what the decision endpoint looks links up in.

Errors are never swallowed: a failing record is logged with its traceback and reported as a batch item failure
(the queue retries it, then moves it to the dead-letter queue); when every record failed the error is raised.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from datetime import UTC, datetime, timedelta

import boto3
from botocore.exceptions import ClientError

from lambdas.approval import decision_links, execution_line, task_key

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

# SNS rejects subjects over 100 characters or with line breaks.
MAX_SUBJECT_LENGTH = 100


@functools.cache
def s3_client():
    return boto3.client("s3")


@functools.cache
def sns_client():
    return boto3.client("sns")


def parse_task(body: str) -> dict:
    task = json.loads(body)
    if not isinstance(task, dict):
        raise ValueError("the message body must be a JSON object")
    missing = [k for k in ("taskToken", "executionArn", "requestId") if not task.get(k)]
    if missing:
        raise ValueError(f"the message lacks {', '.join(missing)}")
    return task


# A URL in text the requester wrote: a scheme and "://", or a bare "www." name, up to the next space.
_URL_IN_TEXT = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.-]{0,20}://|www\.)[^\s<>\"']*")


def _defang(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    host, slash, path = rest.partition("/")
    return (f"{scheme}[:]//" if sep else "") + host.replace(".", "[.]") + slash + path


def inert(text: str) -> str:
    """Text a requester wrote, with every URL in it made unclickable (`http[:]//evil[.]example/approve`), so a
    request cannot add an Approve or Reject link of its own to the approver's email."""
    return _URL_IN_TEXT.sub(lambda match: _defang(match.group(0)), text)


def email_subject(title: str) -> str:
    subject = "Approval needed: " + inert(" ".join(str(title).split()))
    return subject if len(subject) <= MAX_SUBJECT_LENGTH else subject[: MAX_SUBJECT_LENGTH - 1] + "…"


def email_body(task: dict, links: dict[str, str], expires_at: str) -> str:
    request = task.get("request") or {}
    title = request.get("title", "Untitled request")
    details = {k: v for k, v in request.items() if k not in ("title", "approvalTimeoutSeconds")}
    lines = [
        "A request is waiting for your decision.",
        "",
        f"Title:       {inert(str(title))}",
        f"Request id:  {task['requestId']}",
        execution_line(task.get("executionName") or task["executionArn"].rsplit(":", 1)[-1]),
        f"Requested:   {task.get('createdAt', '')}",
        f"Decide by:   {expires_at}",
    ]
    if details:
        lines += ["", "Details:", inert(json.dumps(details, indent=2, ensure_ascii=False, sort_keys=True))]
    lines += [
        "",
        "Approve:",
        links["approve"],
        "",
        "Reject:",
        links["reject"],
        "",
        "Each link opens a page that asks you to confirm; nothing is decided until you press its button.",
    ]
    return "\n".join(lines)


def task_record(task: dict, now: datetime) -> dict:
    timeout = int(task.get("approvalTimeoutSeconds") or 0)
    return {
        "executionArn": task["executionArn"],
        "executionName": task.get("executionName") or task["executionArn"].rsplit(":", 1)[-1],
        "requestId": task["requestId"],
        "createdAt": task.get("createdAt"),
        "request": task.get("request") or {},
        "approvalTimeoutSeconds": timeout,
        "expiresAt": (now + timedelta(seconds=timeout)).isoformat(timespec="seconds") if timeout else None,
        "emailSentAt": None,
    }


def _put_record(bucket: str, key: str, record: dict, **conditions) -> None:
    s3_client().put_object(
        Bucket=bucket, Key=key, Body=json.dumps(record).encode(), ContentType="application/json", **conditions
    )


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def send_once(task: dict, *, bucket: str, topic_arn: str, api_url: str, now: datetime) -> bool:
    """Email the approver unless this task was already emailed. Returns whether an email was sent."""
    key = task_key(task["taskToken"])
    record = task_record(task, now)
    try:
        _put_record(bucket, key, record, IfNoneMatch="*")
    except ClientError as error:
        if _error_code(error) not in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409"):
            raise
        existing = json.loads(s3_client().get_object(Bucket=bucket, Key=key)["Body"].read())
        if existing.get("emailSentAt"):
            LOG.info("task %s was already emailed at %s; not sending again", task["requestId"], existing["emailSentAt"])
            return False
        # Another delivery of this message is sending right now; retry later rather than report success,
        # so that if that delivery fails this message is still there to send.
        raise RuntimeError(f"task {task['requestId']} is being emailed by another delivery; retrying later") from None

    links = decision_links(api_url, task["taskToken"])
    title = (task.get("request") or {}).get("title", "Untitled request")
    try:
        sns_client().publish(
            TopicArn=topic_arn,
            Subject=email_subject(title),
            Message=email_body(task, links, record["expiresAt"] or "no deadline"),
        )
    except Exception:
        s3_client().delete_object(Bucket=bucket, Key=key)
        raise
    record["emailSentAt"] = now.isoformat(timespec="seconds")
    _put_record(bucket, key, record)
    LOG.info("emailed approval request %s (%s)", task["requestId"], title)
    return True


def handler(event, context):
    bucket = os.environ["RECORDS_BUCKET"]
    topic_arn = os.environ["TOPIC_ARN"]
    api_url = os.environ["API_URL"]
    records = event.get("Records") or []
    failures: list[dict] = []
    errors: list[Exception] = []
    for record in records:
        try:
            task = parse_task(record["body"])
            send_once(task, bucket=bucket, topic_arn=topic_arn, api_url=api_url, now=datetime.now(UTC))
        except Exception as error:
            LOG.exception("could not send the approval email for message %s", record.get("messageId"))
            failures.append({"itemIdentifier": record.get("messageId", "")})
            errors.append(error)
    if records and len(errors) == len(records):
        raise errors[0]
    return {"batchItemFailures": failures}
