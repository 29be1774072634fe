"""Step Functions as AWS answers it, against a real LocalStack with the plugin's corrections: a user's Catch on
States.HeartbeatTimeout takes its path when a heartbeat expires, and SendTask* for a task that has closed gets
TaskTimedOut, even while the execution still runs."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError
from mail_support import unique

ROLE = "arn:aws:iam::000000000000:role/sandbox-test-states"


@pytest.fixture(scope="module")
def sfn(localstack):
    return localstack.client("stepfunctions")


@pytest.fixture(scope="module")
def sqs(localstack):
    return localstack.client("sqs")


def callback_task(queue_url: str, **fields) -> dict:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue_url, "MessageBody": {"token.$": "$$.Task.Token"}},
        **fields,
    }


def start(sfn, definition: dict) -> str:
    arn = sfn.create_state_machine(name=unique("sm"), definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    return sfn.start_execution(stateMachineArn=arn)["executionArn"]


def finished(sfn, execution_arn: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = sfn.describe_execution(executionArn=execution_arn)
        if execution["status"] != "RUNNING":
            return execution
        time.sleep(0.2)
    raise AssertionError(f"{execution_arn} still running after {timeout:.0f} s")


def task_token(sqs, queue_url: str) -> str:
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=10).get("Messages", [])
    assert messages, "the task sent no message"
    return json.loads(messages[0]["Body"])["token"]


def events(sfn, execution_arn: str) -> list[dict]:
    return sfn.get_execution_history(executionArn=execution_arn)["events"]


def error_code(call) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"]


@pytest.mark.parametrize("caught", [["States.HeartbeatTimeout"], ["States.Timeout"]])
def test_an_expired_heartbeat_takes_the_catch_path(sfn, sqs, caught):
    queue_url = sqs.create_queue(QueueName=unique("hb"))["QueueUrl"]
    execution_arn = start(sfn, {
        "StartAt": "Wait",
        "States": {
            "Wait": callback_task(queue_url, HeartbeatSeconds=1, TimeoutSeconds=60, Next="Done",
                                  Catch=[{"ErrorEquals": caught, "ResultPath": "$.error", "Next": "HeartbeatLost"}]),
            "HeartbeatLost": {"Type": "Pass", "End": True},
            "Done": {"Type": "Succeed"},
        },
    })

    execution = finished(sfn, execution_arn)

    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"])["error"]["Error"] == "States.Timeout"
    timed_out = [e for e in events(sfn, execution_arn) if e["type"] == "TaskTimedOut"]
    # What AWS records for an expired heartbeat (LocalStack's AWS-validated snapshot shows the same).
    assert timed_out[0]["taskTimedOutEventDetails"]["error"] == "States.Timeout"
    assert [e["stateEnteredEventDetails"]["name"] for e in events(sfn, execution_arn)
            if e["type"] == "PassStateEntered"] == ["HeartbeatLost"]


def test_a_task_timeout_is_not_a_heartbeat_timeout(sfn, sqs):
    queue_url = sqs.create_queue(QueueName=unique("to"))["QueueUrl"]
    execution_arn = start(sfn, {
        "StartAt": "Wait",
        "States": {
            "Wait": callback_task(queue_url, TimeoutSeconds=1, End=True,
                                  Catch=[{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "HeartbeatLost"}]),
            "HeartbeatLost": {"Type": "Pass", "End": True},
        },
    })

    execution = finished(sfn, execution_arn)

    assert execution["status"] == "FAILED" and execution["error"] == "States.Timeout"


def test_a_second_send_task_success_for_a_closed_task_gets_task_timed_out(sfn, sqs):
    queue_url = sqs.create_queue(QueueName=unique("twice"))["QueueUrl"]
    execution_arn = start(sfn, {
        "StartAt": "Wait",
        "States": {
            "Wait": callback_task(queue_url, Next="KeepRunning"),
            "KeepRunning": {"Type": "Wait", "Seconds": 30, "End": True},
        },
    })
    token = task_token(sqs, queue_url)

    sfn.send_task_success(taskToken=token, output='{"decision": "approved"}')

    assert error_code(lambda: sfn.send_task_success(taskToken=token, output="{}")) == "TaskTimedOut"
    assert error_code(lambda: sfn.send_task_failure(taskToken=token, error="Rejected")) == "TaskTimedOut"
    assert error_code(lambda: sfn.send_task_heartbeat(taskToken=token)) == "TaskTimedOut"
    assert sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
    entered = [e for e in events(sfn, execution_arn) if e["type"] == "TaskSucceeded"]
    assert len(entered) == 1 and json.loads(entered[0]["taskSucceededEventDetails"]["output"]) == {
        "decision": "approved"}
    sfn.stop_execution(executionArn=execution_arn)
    assert error_code(lambda: sfn.send_task_failure(taskToken=token, error="Late")) == "TaskTimedOut"


def test_of_two_racing_answers_exactly_one_is_taken(sfn, sqs):
    queue_url = sqs.create_queue(QueueName=unique("race"))["QueueUrl"]
    execution_arn = start(sfn, {"StartAt": "Wait", "States": {"Wait": callback_task(queue_url, End=True)}})
    token = task_token(sqs, queue_url)

    def answer(n: int) -> str:
        try:
            sfn.send_task_success(taskToken=token, output=json.dumps({"n": n}))
        except ClientError as error:
            return error.response["Error"]["Code"]
        return "ok"

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = sorted(pool.map(answer, range(4)))

    assert answers == ["TaskTimedOut", "TaskTimedOut", "TaskTimedOut", "ok"]
    assert finished(sfn, execution_arn)["status"] == "SUCCEEDED"


def test_answers_after_a_heartbeat_timeout_get_task_timed_out(sfn, sqs):
    queue_url = sqs.create_queue(QueueName=unique("late"))["QueueUrl"]
    execution_arn = start(sfn, {
        "StartAt": "Wait",
        "States": {
            "Wait": callback_task(queue_url, HeartbeatSeconds=1, TimeoutSeconds=60, Next="Done",
                                  Catch=[{"ErrorEquals": ["States.ALL"], "Next": "KeepRunning"}]),
            "KeepRunning": {"Type": "Wait", "Seconds": 30, "End": True},
            "Done": {"Type": "Succeed"},
        },
    })
    token = task_token(sqs, queue_url)
    deadline = time.monotonic() + 15
    while not any(e["type"] == "TaskTimedOut" for e in events(sfn, execution_arn)):
        assert time.monotonic() < deadline, "the heartbeat did not expire"
        time.sleep(0.2)

    assert error_code(lambda: sfn.send_task_success(taskToken=token, output="{}")) == "TaskTimedOut"
    assert sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
    sfn.stop_execution(executionArn=execution_arn)


def test_an_unknown_token_is_still_invalid(sfn):
    assert error_code(lambda: sfn.send_task_success(taskToken="not-a-token", output="{}")) == "InvalidToken"


def test_a_failed_lambda_call_gets_the_error_name_aws_gives_it(sfn):
    """A missing function: AWS fails the task with Lambda.ResourceNotFoundException, which a Catch can name."""
    missing = f"arn:aws:lambda:us-east-1:000000000000:function:{unique('missing')}"
    execution_arn = start(sfn, {
        "StartAt": "Call",
        "States": {
            "Call": {"Type": "Task", "Resource": missing, "End": True,
                     "Catch": [{"ErrorEquals": ["Lambda.ResourceNotFoundException"], "Next": "NoFunction"}]},
            "NoFunction": {"Type": "Pass", "End": True},
        },
    })
    execution = finished(sfn, execution_arn)
    failed = [e for e in events(sfn, execution_arn) if e["type"] == "LambdaFunctionFailed"]
    assert [e["lambdaFunctionFailedEventDetails"]["error"] for e in failed] == ["Lambda.ResourceNotFoundException"]
    assert execution["status"] == "SUCCEEDED"
