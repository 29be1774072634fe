"""Issue 7, Lambda path: a function's environment process (Python or Node.js) killed mid-invoke, and a poison
message in a batch.

Against a real LocalStack with the `local` executor. The function writes "<pid> kill|live" to a marker file when
an attempt starts; the test SIGKILLs the processes marked "kill" from outside (as the OOM killer or a crash
would), while they sleep in the handler. The function timeout is long (60 s), so an invocation that reports
`Runtime.ExitError` failed because its process died, not because it timed out.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest
from localstack_support import LocalStackSandbox, SmtpSink, make_zip

from bootstrap import pipeline
from bootstrap.functions import ESM_SETTINGS, package

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
FUNCTION_TIMEOUT_S = 60

KILLABLE = """
import json
import os
import pathlib
import time

MARKS = pathlib.Path(os.environ["MARK_DIR"])


def announce(name, kill):
    (MARKS / f"{name}.tmp").write_text(f"{os.getpid()} {'kill' if kill else 'live'}")
    (MARKS / f"{name}.tmp").rename(MARKS / f"{name}.pid")


def handler(event, context):
    if "Records" not in event:  # a direct invoke: wait to be killed
        announce(event["marker"], True)
        time.sleep(55)
        return "not killed"
    for record in event["Records"]:
        body = json.loads(record["body"])
        attempt = int(record["attributes"]["ApproximateReceiveCount"])
        kill = attempt <= body["kill_attempts"]
        announce(f"{body['marker']}-{attempt}", kill)
        if kill:
            time.sleep(55)
        (MARKS / f"{body['marker']}.done").write_text(str(attempt))
    return {}
"""


KILLABLE_NODE = """
const fs = require('fs');
const path = require('path');

exports.handler = async (event) => {
  if (event.Records) return {};
  const mark = path.join(process.env.MARK_DIR, event.marker);
  fs.writeFileSync(`${mark}.tmp`, `${process.pid} kill`);
  fs.renameSync(`${mark}.tmp`, `${mark}.pid`);
  await new Promise((resolve) => setTimeout(resolve, 55000));
  return 'not killed';
};
"""
# runtime, handler, code of the killable function per language
KILLABLES = {
    "python": ("python3.12", "app.handler", {"app.py": KILLABLE}),
    "node": ("nodejs20.x", "index.handler", {"index.js": KILLABLE_NODE}),
}


class Killer:
    """SIGKILLs every function process that announces itself as one to kill; records what it killed."""

    def __init__(self, marks: Path, localstack_pid: int) -> None:
        self.marks, self.localstack_pid = marks, localstack_pid
        self.killed: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for mark in self.marks.glob("*.pid"):
                if mark.stem in self.killed:
                    continue
                pid, verdict = mark.read_text().split()
                if verdict == "kill":
                    # Only a process of LocalStack's group: an execution environment, never anything else.
                    assert os.getpgid(int(pid)) == self.localstack_pid, f"{pid} is not a LocalStack process"
                    os.kill(int(pid), signal.SIGKILL)
                    self.killed[mark.stem] = int(pid)
            self._stop.wait(0.05)

    def __enter__(self) -> Killer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.1)


@pytest.fixture
def marks(tmp_path: Path) -> Path:
    path = tmp_path / "marks"
    path.mkdir()
    return path


@pytest.fixture(params=["python"])
def killable(request, localstack: LocalStackSandbox, marks: Path):
    runtime, handler, files = KILLABLES[request.param]
    client = localstack.client("lambda", read_timeout=FUNCTION_TIMEOUT_S + 60)
    name = f"killable-{uuid.uuid4().hex[:8]}"
    client.create_function(
        FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler, Timeout=FUNCTION_TIMEOUT_S,
        Code={"ZipFile": make_zip(files)}, Environment={"Variables": {"MARK_DIR": str(marks)}},
    )
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    try:
        yield client, name
    finally:
        with contextlib.suppress(Exception):
            client.delete_function(FunctionName=name)


def queue_with_dlq(sqs, max_receive_count: int, visibility_s: int = 2) -> tuple[str, str, str]:
    """A queue whose messages go to its own DLQ after `max_receive_count` receives; returns url, arn, dlq url."""
    suffix = uuid.uuid4().hex[:8]
    dlq_url = sqs.create_queue(QueueName=f"faults-dlq-{suffix}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=f"faults-{suffix}", Attributes={
        "VisibilityTimeout": str(visibility_s),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}),
    })["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn, dlq_url


def drain(sqs, url: str, want: int, timeout: float) -> list[dict]:
    """Receive until `want` messages were read from the queue (deleting them)."""
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(got) < want:
        assert time.monotonic() < deadline, f"only {len(got)} of {want} messages in {url}: {got}"
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                           AttributeNames=["All"]).get("Messages", []):
            got.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return got


def queue_empty(sqs, url: str) -> bool:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


@pytest.mark.parametrize("killable", ["python", "node"], indirect=True)
def test_environment_killed_mid_invoke_fails_at_once_with_an_aws_shaped_error(localstack, killable, marks):
    client, name = killable
    result: dict = {}

    def call() -> None:
        response = client.invoke(FunctionName=name, Payload=json.dumps({"marker": "sync"}).encode())
        result["response"], result["payload"] = response, json.loads(response["Payload"].read())

    caller = threading.Thread(target=call)
    caller.start()
    with Killer(marks, localstack.process.pid()) as killer:
        wait_until(lambda: "sync" in killer.killed, 60, "the function's start")
        caller.join(timeout=FUNCTION_TIMEOUT_S + 60)
    assert not caller.is_alive()
    assert result["response"]["StatusCode"] == 200
    assert result["response"]["FunctionError"] == "Unhandled"
    payload = result["payload"]
    # Not Sandbox.Timedout: the invocation ended because the process died, long before its 60 s timeout.
    assert payload["errorType"] == "Runtime.ExitError", payload
    assert payload["errorMessage"]
    with pytest.raises(ProcessLookupError):
        os.kill(killer.killed["sync"], 0)

    # The next invoke gets a fresh environment and works.
    (marks / "sync.pid").unlink()
    response = client.invoke(FunctionName=name, Payload=json.dumps({"Records": []}).encode())
    assert "FunctionError" not in response and json.loads(response["Payload"].read()) == {}


def test_sqs_message_whose_invocation_was_killed_is_retried_then_dead_lettered(localstack, killable, marks):
    client, name = killable
    sqs = localstack.client("sqs")
    url, arn, dlq_url = queue_with_dlq(sqs, max_receive_count=3)
    mapping = client.create_event_source_mapping(FunctionName=name, EventSourceArn=arn, BatchSize=1, Enabled=True)
    try:
        with Killer(marks, localstack.process.pid()) as killer:
            # Killed on its first attempt, fine on the second: retried, and processed.
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"marker": "once", "kill_attempts": 1}))
            # Killed on every attempt: after maxReceiveCount (3) receives it is in the dead-letter queue.
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"marker": "always", "kill_attempts": 99}))
            dead = drain(sqs, dlq_url, want=1, timeout=120)
            wait_until(lambda: (marks / "once.done").exists(), 120, "the retry of the killed message")
        assert json.loads(dead[0]["Body"])["marker"] == "always"
        assert (marks / "once.done").read_text() == "2"
        assert {"once-1", "always-1", "always-2", "always-3"} <= set(killer.killed)
        assert not (marks / "always.done").exists()
        assert not (marks / "always-4.pid").exists()  # no fourth attempt: it went to the DLQ instead
        wait_until(lambda: queue_empty(sqs, url), 30, "the source queue emptying")
    finally:
        client.delete_event_source_mapping(UUID=mapping["UUID"])


def test_poison_message_goes_to_the_dlq_while_the_rest_of_its_batch_is_sent(localstack, smtp_sink: SmtpSink):
    """The pipeline's own verification function (lambdas/send_verification.py) with the pipeline's queue
    trigger settings (partial batch failures), on a queue with a short visibility timeout."""
    lam, sqs, s3, sns = (localstack.client(s) for s in ("lambda", "sqs", "s3", "sns"))
    suffix = uuid.uuid4().hex[:8]
    bucket = f"faults-records-{suffix}"
    s3.create_bucket(Bucket=bucket)
    topic_arn = sns.create_topic(Name=f"faults-approvals-{suffix}")["TopicArn"]
    approver = f"approver-{suffix}@example.com"
    sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=approver)
    name = f"faults-send-verification-{suffix}"
    lam.create_function(
        FunctionName=name, Runtime="python3.13", Role=ROLE, Handler="lambdas.send_verification.handler", Timeout=30,
        Code={"ZipFile": package()},
        Environment={"Variables": {"RECORDS_BUCKET": bucket, "TOPIC_ARN": topic_arn,
                                   "API_URL": "http://localhost/_aws/execute-api/faults/sandbox"}},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    url, arn, dlq_url = queue_with_dlq(sqs, max_receive_count=2)
    # Disabled while the batch is queued, so the first poll takes all four messages together.
    (trigger,) = (r for r in pipeline.resources() if r.type == "AWS::Lambda::EventSourceMapping")
    settings = {key: trigger.properties[key] for key in ESM_SETTINGS}
    mapping = lam.create_event_source_mapping(FunctionName=name, EventSourceArn=arn, Enabled=False, **settings)
    try:
        titles = [f"faults batch {suffix} #{i}" for i in range(3)]
        entries = [{"Id": f"good{i}", "MessageBody": json.dumps({
            "taskToken": f"token-{suffix}-{i}", "executionArn": f"arn:aws:states:us-east-1:000000000000:execution:"
            f"WaitForCallback:faults-{suffix}-{i}", "requestId": f"req-{suffix}-{i}", "request": {"title": title},
        })} for i, title in enumerate(titles)]
        poison = f"not json at all {suffix} {{"
        entries.insert(1, {"Id": "poison", "MessageBody": poison})
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
        wait_until(lambda: lam.get_event_source_mapping(UUID=mapping["UUID"])["State"] == "Disabled", 30,
                   "the trigger being disabled")
        lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=True)

        dead = drain(sqs, dlq_url, want=1, timeout=120)
        assert dead[0]["Body"] == poison
        assert int(dead[0]["Attributes"]["ApproximateReceiveCount"]) >= 2  # retried before it was dead-lettered
        for title in titles:
            smtp_sink.wait_for(lambda m, t=title: m.subject == f"Approval needed: {t}", timeout=60)
        wait_until(lambda: queue_empty(sqs, url), 30, "the source queue emptying")
        for title in titles:  # each good message was emailed exactly once, despite the poison's retries
            assert len(smtp_sink.matching(lambda m, t=title: m.subject == f"Approval needed: {t}")) == 1
        # Besides the subscription's confirmation, the approver got the approval mails and nothing else.
        assert [m for m in smtp_sink.matching(lambda m: approver in m.recipients)
                if not m.subject.startswith(f"Approval needed: faults batch {suffix}")
                and m.subject != "AWS Notification - Subscription Confirmation"] == []
    finally:
        lam.delete_event_source_mapping(UUID=mapping["UUID"])
        with contextlib.suppress(Exception):
            lam.delete_function(FunctionName=name)
