"""queue_release: which ChangeMessageVisibilityBatch calls make unstarted SQS records visible again, from the
records of the JSON event fixture (SQS itself replaced by a fake; tests/integration/test_queue_release.py uses
LocalStack's)."""

import logging

import pytest
from fakes import FakeSQS

from lambdas import queue_release

AWS_ENDPOINT = "https://sqs.us-east-1.amazonaws.com"


@pytest.fixture
def records(event):
    return event("sqs_verification_message")["Records"]


def _copies(record: dict, count: int, arn: str | None = None) -> list[dict]:
    return [{**record, "messageId": f"m{i}", "receiptHandle": f"handle-{i}",
             "eventSourceARN": arn or record["eventSourceARN"]} for i in range(count)]


@pytest.mark.parametrize(("endpoint", "url"), [
    (AWS_ENDPOINT, "https://sqs.us-east-1.amazonaws.com/000000000000/approval-requests"),
    ("http://localhost:4566/", "http://localhost:4566/000000000000/approval-requests"),
])
def test_the_queue_url_is_the_clients_endpoint_with_account_and_name(endpoint, url):
    assert queue_release.queue_url("arn:aws:sqs:us-east-1:000000000000:approval-requests", endpoint) == url


@pytest.mark.parametrize("arn", ["arn:aws:sns:us-east-1:000000000000:topic", "arn:aws:sqs:us-east-1::name",
                                 "approval-requests", "arn:aws:sqs:us-east-1:000000000000:"])
def test_anything_but_a_queue_arn_is_refused(arn):
    with pytest.raises(ValueError, match="not an SQS queue ARN"):
        queue_release.queue_url(arn, AWS_ENDPOINT)


def test_one_call_per_ten_records_with_visibility_zero(records):
    batch = _copies(records[0], 23)
    calls = list(queue_release.release_calls(batch, AWS_ENDPOINT))
    assert [len(c["Entries"]) for c in calls] == [10, 10, 3]
    entries = [e for c in calls for e in c["Entries"]]
    assert [e["ReceiptHandle"] for e in entries] == [r["receiptHandle"] for r in batch]
    assert {e["VisibilityTimeout"] for e in entries} == {0}
    assert [e["Id"] for e in entries] == [str(i) for i in range(23)]  # unique within each call, and positions


def test_records_of_two_queues_are_released_on_each_queue(records):
    other = "arn:aws:sqs:eu-west-1:111111111111:other"
    batch = _copies(records[0], 2) + _copies(records[0], 1, arn=other)
    urls = [c["QueueUrl"] for c in queue_release.release_calls(batch, AWS_ENDPOINT)]
    assert urls == [f"{AWS_ENDPOINT}/000000000000/approval-requests", f"{AWS_ENDPOINT}/111111111111/other"]


def test_records_not_from_an_sqs_delivery_are_left_out(records):
    made_up = {"messageId": "x", "body": "{}"}  # a direct invocation's event: no receipt handle, no queue
    calls = list(queue_release.release_calls([made_up, records[0]], AWS_ENDPOINT))
    assert [e["Id"] for c in calls for e in c["Entries"]] == ["1"]


def test_entries_sqs_refuses_are_logged_by_message_id_and_not_counted(records, caplog):
    sqs = FakeSQS(fail={"1"})
    with caplog.at_level(logging.WARNING):
        assert queue_release.release(sqs, records) == 1
    assert records[1]["messageId"] in caplog.text and "ReceiptHandleIsInvalid" in caplog.text


def test_a_failing_call_is_logged_not_raised(records, caplog):
    sqs = FakeSQS(error=RuntimeError("connection refused"))
    with caplog.at_level(logging.ERROR):
        assert queue_release.release(sqs, records) == 0
    assert "could not release 2 unstarted messages" in caplog.text and "connection refused" in caplog.text


@pytest.mark.parametrize(("attributes", "first"), [
    ({"ApproximateReceiveCount": "1"}, True), ({"ApproximateReceiveCount": "2"}, False), ({}, False)])
def test_only_a_first_delivery_is_released(records, attributes, first):
    assert queue_release.first_delivery({**records[0], "attributes": attributes}) is first
