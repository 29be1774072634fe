"""examples/cloudformation-approval end to end: the plain CloudFormation template (inline Node.js functions, links
built as https://{api}.execute-api.{region}.amazonaws.com/states/…) created in the running sandbox beside the
demo, an execution started, its mail caught, Approve or Reject clicked in Chromium, and the execution's end."""

from __future__ import annotations

import json
import uuid

import pytest
from browser_support import needs_chromium
from examples_support import EXAMPLES, click_in_catcher, confirm_subscription_if_pending, mail_wait, wait_for_end

from sandbox import workflow
from sandbox.config import Settings

TEMPLATE = EXAMPLES / "cloudformation-approval" / "template.yaml"
pytestmark = [*needs_chromium]


@pytest.fixture(scope="module")
def stack(sandbox: Settings):
    cloudformation = workflow.client(sandbox, "cloudformation")
    name = f"CfnApprovalExample-{uuid.uuid4().hex[:8]}"
    approver = f"cfn-approver-{uuid.uuid4().hex[:8]}@example.com"
    cloudformation.create_stack(StackName=name, TemplateBody=TEMPLATE.read_text(), Capabilities=["CAPABILITY_IAM"],
                                Parameters=[{"ParameterKey": "Email", "ParameterValue": approver}])
    try:
        cloudformation.get_waiter("stack_create_complete").wait(
            StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 300})
        described = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
        api_id = cloudformation.describe_stack_resource(
            StackName=name, LogicalResourceId="ApprovalApi")["StackResourceDetail"]["PhysicalResourceId"]
        confirm_subscription_if_pending(sandbox, outputs["TopicArn"], approver)
        yield outputs, approver, api_id
    finally:
        cloudformation.delete_stack(StackName=name)


@pytest.mark.parametrize(("action", "status", "page"), [("approve", "SUCCEEDED", "Approved."),
                                                       ("reject", "FAILED", "Rejected.")])
def test_the_link_in_the_mail_decides_the_execution(sandbox: Settings, stack, action, status, page):
    outputs, approver, api_id = stack
    name = f"change-{action}-{uuid.uuid4().hex[:8]}"
    started = workflow.client(sandbox, "stepfunctions").start_execution(
        stateMachineArn=outputs["StateMachineArn"], name=name, input=json.dumps({"change": "deploy v3"}))

    message = mail_wait(sandbox, f'to:{approver} subject:"Approval required: {name}"')
    link = f"https://{api_id}.execute-api.{sandbox.region}.amazonaws.com/states/execution?action={action}&ex={name}"
    assert link in message["Text"]  # the template's own link, which does not open offline as it is
    page_text = click_in_catcher(sandbox, message, action, link)

    assert page in page_text
    ended = wait_for_end(sandbox, started["executionArn"])
    assert ended["status"] == status, ended
    if action == "reject":
        assert ended["error"] == "ApprovalRejected"
