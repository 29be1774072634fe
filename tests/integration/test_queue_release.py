"""send_verification's records it did not start come back at once, not after the queue's visibility timeout,
against LocalStack's SQS: once with the handler's logic in this process and a real receipt handle, once with the
pipeline's code in a real Lambda behind an SQS event source mapping.

Each queue's visibility timeout is 12 hours (SQS's maximum), so a message seen again within a test's run can only
have been released; without the release neither test sees it again."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from localstack_support import LocalStackSandbox

from bootstrap.functions import package
from lambdas import send_verification

TWELVE_HOURS = 12 * 3600


@pytest.fixture
def queues(localstack: LocalStackSandbox) -> Iterator[Callable[..., tuple[str, str]]]:
    sqs = localstack.client("sqs")
    made: list[str] = []

    def make(**attributes: str) -> tuple[str, str]:
        url = sqs.create_queue(QueueName=f"release-{uuid.uuid4().hex[:8]}",
                               Attributes={"VisibilityTimeout": str(TWELVE_HOURS), **attributes})["QueueUrl"]
        made.append(url)
        return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    try:
        yield make
    finally:
        for url in made:
            sqs.delete_queue(QueueUrl=url)


def _task_body() -> str:
    return json.dumps({"taskToken": f"AQCE{uuid.uuid4().hex}", "requestId": uuid.uuid4().hex,
                       "executionArn": "arn:aws:states:us-east-1:000000000000:execution:m:e"})


def test_an_unstarted_record_is_visible_again_at_once(localstack, queues, monkeypatch):
    sqs = localstack.client("sqs")
    monkeypatch.setattr(send_verification, "sqs_client", lambda: sqs)
    url, arn = queues()
    sqs.send_message(QueueUrl=url, MessageBody=_task_body())
    (message,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, AttributeNames=["All"])["Messages"]
    # The record as Lambda's SQS event source hands it to the function.
    record = {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
              "body": message["Body"], "attributes": message["Attributes"], "eventSource": "aws:sqs",
              "eventSourceARN": arn}

    answer = send_verification.send_batch([record], lambda: send_verification.START_MARGIN_MS - 1,
                                          bucket="unused", topic_arn="unused", api_url="http://unused")

    assert answer == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, AttributeNames=["ApproximateReceiveCount"])
    redelivered = again.get("Messages", [])
    assert [m["MessageId"] for m in redelivered] == [message["MessageId"]], "the record is still hidden"
    assert redelivered[0]["Attributes"]["ApproximateReceiveCount"] == "2"


def test_a_lambda_behind_an_event_source_releases_what_it_did_not_start(localstack, queues, lambda_client):
    """The pipeline's package in a real Lambda whose 1 s timeout leaves less than START_MARGIN_MS from the start,
    so it starts no record (and needs no bucket or topic): the first delivery is released, and with a
    maxReceiveCount of 1 SQS moves the message to the dead-letter queue on its next receive. Left to its 12-hour
    visibility timeout, it would never get there."""
    sqs = localstack.client("sqs")
    dead_url, dead_arn = queues()
    url, arn = queues(RedrivePolicy=json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 1}))
    name = f"release-{uuid.uuid4().hex[:8]}"
    lambda_client.create_function(
        FunctionName=name, Runtime="python3.13", Role="arn:aws:iam::000000000000:role/lambda-role",
        Handler="lambdas.send_verification.handler", Code={"ZipFile": package()}, Timeout=1,
        Environment={"Variables": {"RECORDS_BUCKET": "unused", "TOPIC_ARN": "unused", "API_URL": "http://unused"}})
    lambda_client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2})
    # Started once before the mapping: a cold start's init counts towards the 1 s here, and a delivery that timed
    # out in init would leave its message hidden for the 12 hours.
    warm = lambda_client.invoke(FunctionName=name, Payload=json.dumps({"Records": []}).encode())
    assert json.loads(warm["Payload"].read()) == {"batchItemFailures": []}
    mapping = lambda_client.create_event_source_mapping(
        FunctionName=name, EventSourceArn=arn, BatchSize=1, FunctionResponseTypes=["ReportBatchItemFailures"])
    try:
        sent = sqs.send_message(QueueUrl=url, MessageBody=_task_body())["MessageId"]
        deadline, moved = time.monotonic() + 90, []
        while not moved and time.monotonic() < deadline:
            moved = sqs.receive_message(QueueUrl=dead_url, WaitTimeSeconds=5,
                                        AttributeNames=["ApproximateReceiveCount"]).get("Messages", [])
    finally:
        lambda_client.delete_event_source_mapping(UUID=mapping["UUID"])
        lambda_client.delete_function(FunctionName=name)
    assert [m["MessageId"] for m in moved] == [sent], "the message was not delivered again after its release"
