"""Fixtures for the unit tests: JSON event fixtures from tests/events/."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakes import FakeS3, FakeSFN

from lambdas import approval, decide, send_verification

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "tests" / "events"


@pytest.fixture
def event():
    def load(name: str) -> dict:
        return json.loads((EVENTS / f"{name}.json").read_text())

    return load


@pytest.fixture
def decide_services(monkeypatch, event):
    """The decision endpoint over fake S3 and Step Functions, with the record of the fixture task's email."""
    s3, sfn = FakeS3(), FakeSFN()
    monkeypatch.setattr(decide, "s3_client", lambda: s3)
    monkeypatch.setattr(decide, "sfn_client", lambda: sfn)
    monkeypatch.setenv("RECORDS_BUCKET", "bucket")
    task = json.loads(event("sqs_verification_message")["Records"][0]["body"])
    record = send_verification.task_record(task, datetime(2025, 1, 15, 9, 31, tzinfo=UTC))
    s3.put_object(Bucket="bucket", Key=approval.task_key(task["taskToken"]), Body=json.dumps(record).encode())
    return s3, sfn
