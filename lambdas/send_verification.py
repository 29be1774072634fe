"""Request user verification: read approval tasks from SQS and email the approver Approve and Reject links.

SQS delivers at least once, so each task gets a record in the sandbox bucket, created with an atomic
"only if absent" write (PutObject IfNoneMatch='*') keyed by a hash of the task token. A redelivered message finds
the record and sends nothing; if publishing fails the record is removed again, so the retry can send. The same
record is what the decision endpoint looks links up in.

A record without `emailSentAt` is a claim: some invocation is sending. It holds until `claimExpiresAt`, the end
of that invocation's time (its timeout): after that the invocation is gone (killed at its timeout, or crashed)
and a redelivery takes the claim over with a write conditional on the record being unchanged (IfMatch), so a
claim abandoned mid-send never blocks its task's email for good. And an invocation stops starting records once
too little of its time is left, reporting the rest as batch item failures, rather than being killed mid-send;
those it did not start on their first delivery it makes visible again at once (queue_release.py), so they do not
wait out the queue's visibility timeout.

Errors are never swallowed: a failing record is logged with its traceback and reported as a batch item failure
(the queue retries it, then moves it to the dead-letter queue); when every record failed the error is raised.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import boto3
from botocore.exceptions import ClientError

from lambdas import queue_release
from lambdas.approval import decision_links, execution_line, task_key

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

# SNS rejects subjects over 100 characters or with line breaks.
MAX_SUBJECT_LENGTH = 100
# A record takes three calls (claim, publish, record the sending); under load each can take a few hundred ms.
START_MARGIN_MS = 1500
# Without a Lambda context (a direct call), how long a claim holds.
DEFAULT_CLAIM_SECONDS = 60


@functools.cache
def s3_client():
    return boto3.client("s3")


@functools.cache
def sns_client():
    return boto3.client("sns")


@functools.cache
def sqs_client():
    return boto3.client("sqs")


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


def task_record(task: dict, now: datetime, claim_seconds: float = DEFAULT_CLAIM_SECONDS) -> dict:
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
        "claimExpiresAt": (now + timedelta(seconds=claim_seconds)).isoformat(timespec="milliseconds"),
    }


def abandoned(record: dict, now: datetime) -> bool:
    """A claim whose invocation has certainly ended without sending (records from before claims had a deadline
    are never taken over)."""
    expires = record.get("claimExpiresAt")
    return not record.get("emailSentAt") and isinstance(expires, str) and datetime.fromisoformat(expires) < now


def _put_record(bucket: str, key: str, record: dict, **conditions) -> None:
    s3_client().put_object(
        Bucket=bucket, Key=key, Body=json.dumps(record).encode(), ContentType="application/json", **conditions
    )


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


_CONFLICTS = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")


def claim_task(bucket: str, key: str, record: dict, task: dict, now: datetime) -> bool:
    """Claim the task for this invocation; False when it was emailed already. Raises while another invocation
    holds the claim (the message is retried later, so it is still there if that invocation fails)."""
    busy = RuntimeError(f"task {task['requestId']} is being emailed by another delivery; retrying later")
    try:
        _put_record(bucket, key, record, IfNoneMatch="*")
        return True
    except ClientError as error:
        if _error_code(error) not in _CONFLICTS:
            raise
    found = s3_client().get_object(Bucket=bucket, Key=key)
    existing = json.loads(found["Body"].read())
    if existing.get("emailSentAt"):
        LOG.info("task %s was already emailed at %s; not sending again", task["requestId"], existing["emailSentAt"])
        return False
    if not abandoned(existing, now):
        raise busy
    try:
        _put_record(bucket, key, record, IfMatch=found["ETag"])  # unless another redelivery took it over first
    except ClientError as error:
        if _error_code(error) in _CONFLICTS:
            raise busy from None
        raise
    LOG.warning("task %s: taking over a claim abandoned at %s", task["requestId"], existing["claimExpiresAt"])
    return True


def send_once(task: dict, *, bucket: str, topic_arn: str, api_url: str, now: datetime,
              claim_seconds: float = DEFAULT_CLAIM_SECONDS) -> bool:
    """Email the approver unless this task was already emailed. Returns whether an email was sent."""
    key = task_key(task["taskToken"])
    record = task_record(task, now, claim_seconds)
    if not claim_task(bucket, key, record, task, now):
        return False

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


def send_batch(records: list[dict], remaining_ms: Callable[[], int | None], *, bucket: str, topic_arn: str,
               api_url: str) -> dict:
    """Email each record's task; the SQS batch response names the records to deliver again. `remaining_ms` is
    the invocation's time left (None without a Lambda context)."""
    failures: list[dict] = []
    errors: list[Exception] = []
    for index, record in enumerate(records):
        left = remaining_ms()
        if left is not None and left < START_MARGIN_MS:
            LOG.warning("%d of %d messages left for a later delivery: %d ms of this invocation's time left",
                        len(records) - index, len(records), left)
            failures += [{"itemIdentifier": r.get("messageId", "")} for r in records[index:]]
            unstarted = [r for r in records[index:] if queue_release.first_delivery(r)]
            if unstarted:
                queue_release.release(sqs_client(), unstarted)
            break
        try:
            task = parse_task(record["body"])
            send_once(task, bucket=bucket, topic_arn=topic_arn, api_url=api_url, now=datetime.now(UTC),
                      claim_seconds=left / 1000 if left is not None else DEFAULT_CLAIM_SECONDS)
        except Exception as error:
            LOG.exception("could not send the approval email for message %s", record.get("messageId"))
            failures.append({"itemIdentifier": record.get("messageId", "")})
            errors.append(error)
    if records and len(errors) == len(records):
        raise errors[0]
    return {"batchItemFailures": failures}


def handler(event, context):
    if context is not None and event.get("Records"):
        # The client for releasing unstarted records, made while the invocation has its time: made at the release,
        # under 1.5 s before the timeout, on a saturated machine it outlasted some invocations (killed, and their
        # environments started again within the next invocation's time).
        sqs_client()
    return send_batch(event.get("Records") or [], lambda: context.get_remaining_time_in_millis() if context else None,
                      bucket=os.environ["RECORDS_BUCKET"], topic_arn=os.environ["TOPIC_ARN"],
                      api_url=os.environ["API_URL"])
