"""EventBridge rules whose Step Functions target reshapes the event (InputPath, as CDK's
`RuleTargetInput.fromEventPath('$.detail')` writes it, Input, InputTransformer) start their executions with that
input, against a real LocalStack."""

from __future__ import annotations

import json
import time
import uuid

import pytest

ROLE = "arn:aws:iam::000000000000:role/events-role"
PASS = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


@pytest.fixture(scope="module")
def machine(localstack):
    sfn = localstack.client("stepfunctions")
    arn = sfn.create_state_machine(name=f"targets-{uuid.uuid4().hex[:8]}", definition=PASS, roleArn=ROLE)[
        "stateMachineArn"]
    yield sfn, arn
    sfn.delete_state_machine(stateMachineArn=arn)


def started_inputs(sfn, arn: str, count: int, timeout: float = 30) -> list[object]:
    deadline = time.monotonic() + timeout
    while True:
        executions = sfn.list_executions(stateMachineArn=arn)["executions"]
        if len(executions) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]) for e in executions]


@pytest.mark.parametrize(
    ("target_input", "expected"),
    [
        ({"InputPath": "$.detail"}, {"title": "Ship it", "n": 1}),
        ({"Input": '{"fixed": true}'}, {"fixed": True}),
        ({"InputTransformer": {"InputPathsMap": {"t": "$.detail.title"}, "InputTemplate": '{"asked": <t>}'}},
         {"asked": "Ship it"}),
    ],
    ids=["input-path", "input", "input-transformer"],
)
def test_rule_starts_the_execution_with_the_targets_input(localstack, machine, target_input, expected):
    sfn, arn = machine
    events = localstack.client("events")
    source = f"test.targets.{uuid.uuid4().hex[:8]}"
    rule = f"targets-{uuid.uuid4().hex[:8]}"
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "machine", "Arn": arn, "RoleArn": ROLE, **target_input}])
    before = len(sfn.list_executions(stateMachineArn=arn)["executions"])
    try:
        answer = events.put_events(Entries=[{"Source": source, "DetailType": "Requested",
                                             "Detail": json.dumps({"title": "Ship it", "n": 1})}])
        assert answer["FailedEntryCount"] == 0

        inputs = started_inputs(sfn, arn, before + 1)
        assert expected in inputs
        event_id = answer["Entries"][0]["EventId"]
        names = [e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]]
        assert event_id in names  # named after the event that matched, as LocalStack names unshaped ones
    finally:
        events.remove_targets(Rule=rule, Ids=["machine"])
        events.delete_rule(Name=rule)
