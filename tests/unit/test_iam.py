"""IAM policies: least privilege, written as AWS requires (LocalStack does not enforce them, so this test does)."""

import json

import pytest

from bootstrap import policies
from bootstrap.arns import Account

ACCT = Account(region="us-east-1", account_id="000000000000")
LOGS = ACCT.log_group("approval-x")
QUEUE = ACCT.queue("approval-requests")
TOPIC = ACCT.topic("approval-notifications")
BUCKET = ACCT.bucket("callback-sandbox-approvals")
SM = ACCT.state_machine("WaitForCallback")
EXECS = ACCT.executions("WaitForCallback")
GEN = ACCT.function("approval-generate-task")
PROC = ACCT.function("approval-process-request")
DECIDE = ACCT.function("approval-decide")

LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}  # the pipeline creates the log groups
# IAM defines no resource type for these (the task token is the authority): "*" is the only form AWS accepts.
NO_RESOURCE_TYPE = {"states:SendTaskSuccess", "states:SendTaskFailure"}

# Each role's complete allowed action set: anything more is a privilege the component never uses.
CASES = {
    "generate_task": (policies.generate_task_policy(LOGS), LOG_ACTIONS),
    "process_request": (policies.process_request_policy(LOGS), LOG_ACTIONS),
    "send_verification": (
        policies.send_verification_policy(LOGS, QUEUE, TOPIC, BUCKET),
        LOG_ACTIONS | {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                       "sqs:ChangeMessageVisibility", "sns:Publish", "s3:PutObject", "s3:GetObject",
                       "s3:DeleteObject"},
    ),
    "decide": (
        policies.decide_policy(LOGS, BUCKET, SM, EXECS),
        LOG_ACTIONS | {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket",
                       "states:SendTaskSuccess", "states:SendTaskFailure", "states:DescribeExecution",
                       "states:GetExecutionHistory", "states:ListExecutions"},
    ),
    "state_machine": (policies.state_machine_policy([GEN, PROC], QUEUE), {"lambda:InvokeFunction", "sqs:SendMessage"}),
    "events": (policies.events_policy(SM), {"states:StartExecution"}),
    "apigateway": (policies.apigateway_policy(DECIDE), {"lambda:InvokeFunction"}),
}


def _statements(policy):
    assert policy["Version"] == "2012-10-17"
    for statement in policy["Statement"]:
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        yield statement, actions, resources


@pytest.mark.parametrize("role", CASES)
def test_policy_allows_only_what_the_component_calls(role):
    policy, allowed = CASES[role]
    granted = set()
    for statement, actions, resources in _statements(policy):
        assert statement["Effect"] == "Allow"
        assert actions and resources
        for action in actions:
            assert "*" not in action, f"{role}: wildcard action {action}"
        if set(actions) <= NO_RESOURCE_TYPE:
            assert resources == ["*"], f"{role}: {actions} accept no other resource on AWS"
            granted |= set(actions)
            continue
        for resource in resources:
            assert resource != "*", f"{role}: statement {statement['Sid']} applies to every resource"
            assert resource.startswith("arn:aws:"), resource
        granted |= set(actions)
    assert granted == allowed


@pytest.mark.parametrize("role", CASES)
def test_policy_is_valid_json_with_unique_sids(role):
    policy, _ = CASES[role]
    json.loads(json.dumps(policy))
    sids = [s["Sid"] for s in policy["Statement"]]
    assert len(sids) == len(set(sids))
    assert all(sid.isalnum() for sid in sids)  # IAM Sids are alphanumeric


def test_resources_are_scoped_to_the_pipeline():
    resources = {a: r for p, _ in CASES.values() for _s, acts, r in _statements(p) for a in acts}
    assert resources["sns:Publish"] == [TOPIC]
    assert resources["states:StartExecution"] == [SM]
    assert resources["states:SendTaskSuccess"] == ["*"]
    assert EXECS in resources["states:DescribeExecution"]
    assert all(":WaitForCallback" in r for r in resources["states:DescribeExecution"])
    assert SM in resources["states:ListExecutions"]
    assert all(":WaitForCallback" in r for r in resources["states:ListExecutions"])
    assert resources["sqs:SendMessage"] == [QUEUE]
    decide = policies.decide_policy(LOGS, BUCKET, SM, EXECS)
    puts = [r for _s, acts, rs in _statements(decide) if "s3:PutObject" in acts for r in rs]
    assert puts == [f"{BUCKET}/decisions/*"], "the decision function may write decisions only"
    send = policies.send_verification_policy(LOGS, QUEUE, TOPIC, BUCKET)
    puts = [r for _s, acts, rs in _statements(send) if "s3:PutObject" in acts for r in rs]
    assert puts == [f"{BUCKET}/tasks/*"]


def test_send_verification_may_release_only_its_own_queue_messages():
    """queue_release.py calls ChangeMessageVisibilityBatch, which IAM authorises as sqs:ChangeMessageVisibility;
    the event source mapping itself needs only AWS Lambda's documented three."""
    send = policies.send_verification_policy(LOGS, QUEUE, TOPIC, BUCKET)
    by_sid = {s["Sid"]: s for s in send["Statement"]}
    assert by_sid["ReleaseUnstartedMessages"]["Action"] == ["sqs:ChangeMessageVisibility"]
    assert by_sid["ReleaseUnstartedMessages"]["Resource"] == [QUEUE]
    assert set(by_sid["ConsumeVerificationQueue"]["Action"]) == {
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}


def test_state_machine_invokes_only_its_two_task_functions():
    policy = policies.state_machine_policy([GEN, PROC], QUEUE)
    invoke = next(s for s in policy["Statement"] if "lambda:InvokeFunction" in s["Action"])
    assert sorted(invoke["Resource"]) == sorted([GEN, PROC])
    assert DECIDE not in invoke["Resource"]


@pytest.mark.parametrize("service", ["lambda.amazonaws.com", "states.amazonaws.com", "events.amazonaws.com",
                                     "apigateway.amazonaws.com"])
def test_trust_policy_names_one_service(service):
    trust = policies.trust(service)
    (statement,) = trust["Statement"]
    assert statement == {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
