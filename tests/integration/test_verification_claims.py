"""send_verification's claim on a task, against LocalStack's S3 (a versioned bucket, as the pipeline makes):
"only if absent" creates it, an abandoned one is taken over "only if unchanged", and a second redelivery that
read the same abandoned claim loses that race instead of sending a second email."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from localstack_support import LocalStackSandbox

from lambdas import approval, send_verification


@pytest.fixture
def s3(localstack: LocalStackSandbox, monkeypatch: pytest.MonkeyPatch):
    client = localstack.client("s3")
    bucket = f"claims-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    monkeypatch.setattr(send_verification, "s3_client", lambda: client)
    return client, bucket


def _task() -> dict:
    token = f"AQCE{uuid.uuid4().hex}+/=="  # AWS-shaped: +, / and = in it
    return {"taskToken": token, "executionArn": "arn:aws:states:us-east-1:000000000000:execution:m:e",
            "requestId": uuid.uuid4().hex}


def test_an_abandoned_claim_is_taken_over_once(s3):
    client, bucket = s3
    task, now = _task(), datetime.now(UTC)
    key = approval.task_key(task["taskToken"])
    abandoned = send_verification.task_record(task, now - timedelta(seconds=10), claim_seconds=5)
    assert send_verification.claim_task(bucket, key, abandoned, task, now - timedelta(seconds=10))

    # Two redeliveries read the same abandoned claim; the first conditional write wins.
    stale = client.get_object(Bucket=bucket, Key=key)
    assert send_verification.claim_task(bucket, key, send_verification.task_record(task, now, 5), task, now)
    with pytest.raises(Exception, match="PreconditionFailed|At least one of the pre-conditions"):
        client.put_object(Bucket=bucket, Key=key, Body=b"{}", IfMatch=stale["ETag"])
    # A claim within its invocation's time is left alone: the message is retried later.
    with pytest.raises(RuntimeError, match="being emailed by another delivery"):
        send_verification.claim_task(bucket, key, send_verification.task_record(task, now, 5), task, now)
    held = json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert datetime.fromisoformat(held["claimExpiresAt"]) > now


def test_a_sent_task_is_never_claimed_again(s3):
    client, bucket = s3
    task, now = _task(), datetime.now(UTC)
    key = approval.task_key(task["taskToken"])
    record = send_verification.task_record(task, now - timedelta(seconds=10), claim_seconds=5)
    record["emailSentAt"] = now.isoformat(timespec="seconds")
    client.put_object(Bucket=bucket, Key=key, Body=json.dumps(record).encode())
    assert send_verification.claim_task(bucket, key, send_verification.task_record(task, now, 5), task, now) is False
