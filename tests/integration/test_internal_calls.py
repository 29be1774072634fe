"""LocalStack's calls to itself stay inside its process (IN_MEMORY_CLIENT, set in both modes): a Step Functions task
that invokes a Lambda function and one that sends to SQS open no HTTP connection from LocalStack to its own
server. Over HTTP, each such call was a full round trip through LocalStack's gateway on its one core, and at
N = 1,000 concurrent workflows its server closed some of them (docs/benchmark.md)."""

from __future__ import annotations

import json
import time

import psutil
from mail_support import unique

ROLE = "arn:aws:iam::000000000000:role/sandbox-test-states"


def own_connections(localstack) -> list:
    """TCP connections LocalStack's process has open to its own gateway port, as a client."""
    process = psutil.Process(localstack.process.pid())
    port = localstack.settings.localstack_port
    return [c for c in process.net_connections("tcp") if c.raddr and c.raddr.port == port]


def test_step_functions_reaches_lambda_and_sqs_without_http_to_itself(localstack, create_function, lambda_client):
    sfn, sqs = localstack.client("stepfunctions"), localstack.client("sqs")
    function = create_function({"index.py": "def handler(event, context):\n    return {'seen': event['n']}\n"},
                               handler="index.handler", runtime="python3.12")
    function_arn = lambda_client.get_function(FunctionName=function)["Configuration"]["FunctionArn"]
    queue_url = sqs.create_queue(QueueName=unique("internal"))["QueueUrl"]
    definition = {
        "StartAt": "Invoke",
        "States": {
            "Invoke": {"Type": "Task", "Resource": function_arn, "Next": "Send"},
            "Send": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                     "Parameters": {"QueueUrl": queue_url, "MessageBody.$": "$"}, "ResultPath": None, "End": True},
        },
    }
    machine = sfn.create_state_machine(name=unique("internal"), definition=json.dumps(definition), roleArn=ROLE)
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input='{"n": 7}')["executionArn"]

    deadline = time.monotonic() + 60
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not finish in 60 s"
        time.sleep(0.2)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"seen": 7}
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=5).get("Messages", [])
    assert [json.loads(m["Body"]) for m in messages] == [{"seen": 7}]

    # Over HTTP, botocore keeps each internal client's connection open for the next call: it would be listed here.
    assert own_connections(localstack) == []
