"""The SQS event source as the plugin runs it (sqs_event_source.py), against a real LocalStack with the `local`
executor: one mapping processes several batches at once (LocalStack alone: one at a time), every message exactly
once, and a deleted mapping leaves no poller behind that would take the queue's next message."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from sandbox_localstack.sqs_event_source import LONG_POLL_SECONDS

# Each record: "<start> <end>" of its handling in a file named after its body; a second delivery appends a line.
RECORDING = """
import os
import pathlib
import time

MARKS = pathlib.Path(os.environ["MARK_DIR"])


def handler(event, context):
    for record in event["Records"]:
        started = time.time()
        time.sleep(0.5)
        with open(MARKS / record["body"], "a") as mark:
            mark.write(f"{started} {time.time()}\\n")
    return {}
"""
MESSAGES = 12
CONCURRENCY = 3


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f} s"
        time.sleep(0.1)
    return result


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


@pytest.fixture
def marks(tmp_path: Path) -> Path:
    path = tmp_path / "marks"
    path.mkdir()
    return path


@pytest.fixture
def queue(localstack):
    sqs = localstack.client("sqs")
    url = sqs.create_queue(QueueName=f"esm-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    try:
        yield sqs, url, arn
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_one_mapping_processes_several_batches_at_once_each_message_once(
        create_function, lambda_client, queue, marks):
    sqs, url, arn = queue
    name = create_function({"app.py": RECORDING}, handler="app.handler", runtime="python3.13", Timeout=30,
                           Environment={"Variables": {"MARK_DIR": str(marks)}})
    mapping = lambda_client.create_event_source_mapping(
        FunctionName=name, EventSourceArn=arn, BatchSize=1, ScalingConfig={"MaximumConcurrency": CONCURRENCY})
    try:
        bodies = [f"message-{index}" for index in range(MESSAGES)]
        for start in range(0, MESSAGES, 10):
            sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(index), "MessageBody": body} for index, body in enumerate(bodies[start:start + 10])])
        wait_until(lambda: all((marks / body).exists() for body in bodies), 60, "every message being handled")
        wait_until(lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
            "ApproximateNumberOfMessagesNotVisible"] == "0", 30, "the handled messages being deleted")
    finally:
        lambda_client.delete_event_source_mapping(UUID=mapping["UUID"])
    handled = {body: (marks / body).read_text().splitlines() for body in bodies}
    assert all(len(lines) == 1 for lines in handled.values()), handled  # exactly once each
    intervals = [tuple(map(float, lines[0].split())) for lines in handled.values()]
    # LocalStack alone hands one batch at a time to the function: never more than one at once.
    assert 2 <= most_at_once(intervals) <= CONCURRENCY  # type: ignore[arg-type]


def test_a_deleted_mapping_leaves_no_poller_behind(create_function, lambda_client, queue, marks):
    sqs, url, arn = queue
    name = create_function({"app.py": RECORDING}, handler="app.handler", runtime="python3.13", Timeout=30,
                           Environment={"Variables": {"MARK_DIR": str(marks)}})
    mapping = lambda_client.create_event_source_mapping(
        FunctionName=name, EventSourceArn=arn, BatchSize=1, ScalingConfig={"MaximumConcurrency": CONCURRENCY})
    sqs.send_message(QueueUrl=url, MessageBody="before")
    wait_until(lambda: (marks / "before").exists(), 60, "the message sent before the delete being handled")
    lambda_client.delete_event_source_mapping(UUID=mapping["UUID"])

    def gone() -> bool:  # get_event_source_mapping already says so; the list shows what LocalStack still has
        return not lambda_client.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]

    # LocalStack removes the mapping once its poller loop has ended, and the plugin's close() waits for the others.
    wait_until(gone, LONG_POLL_SECONDS + 60, "the mapping's deletion")
    sqs.send_message(QueueUrl=url, MessageBody="after")
    time.sleep(LONG_POLL_SECONDS + 1)  # a leftover poller would take it within its long poll
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    waiting = attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]
    assert waiting == ("1", "0")
    (message,) = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
    assert message["Body"] == "after" and message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert not (marks / "after").exists()
