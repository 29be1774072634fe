"""examples/cdk-approval end to end, as the README's "Bring your own app" walks through it: `npm ci`, `cdklocal
bootstrap` and `cdklocal deploy` into the running sandbox (beside the demo), a request through EventBridge, the
approval mail in the catcher, its Approve link (CDK's `api.url`, https on *.execute-api.localhost) followed in
Chromium, and the execution SUCCEEDED. Its functions are Node.js: nodejs14.x with aws-sdk v2 (notify-approver),
nodejs20.x with @aws-sdk v3 (approve)."""

from __future__ import annotations

import json
import uuid

import pytest
from browser_support import needs_chromium
from examples_support import (
    EXAMPLES,
    click_in_catcher,
    confirm_subscription_if_pending,
    mail_wait,
    npm_ci,
    run,
    tool_env,
    wait_for_end,
)

from sandbox import workflow
from sandbox.config import Settings

APP = EXAMPLES / "cdk-approval"
STACK = "CdkApprovalExampleE2E"  # not the README's stack name, so a user's own deployment is left alone
pytestmark = [*needs_chromium]


@pytest.fixture(scope="module")
def deployed(sandbox: Settings):
    """The example deployed with cdklocal; its outputs. The stack is deleted afterwards."""
    npm_ci(APP)
    env = tool_env(sandbox)
    cloudformation = workflow.client(sandbox, "cloudformation")
    if not any(s["StackName"] == "CDKToolkit" for s in cloudformation.describe_stacks()["Stacks"]):
        run(["npx", "cdklocal", "bootstrap", f"aws://000000000000/{sandbox.region}"], APP, env, timeout=600)
    approver = f"cdk-approver-{uuid.uuid4().hex[:8]}@example.com"
    outputs_file = sandbox.home / f"{STACK}-outputs.json"
    run(["npx", "cdklocal", "deploy", "--require-approval", "never", "--outputs-file", str(outputs_file),
         "-c", f"stackName={STACK}", "-c", f"approverEmail={approver}"], APP, env, timeout=900)
    outputs = json.loads(outputs_file.read_text())[STACK]
    try:
        yield outputs, approver
    finally:
        cloudformation.delete_stack(StackName=STACK)
        outputs_file.unlink(missing_ok=True)


def test_a_request_is_approved_through_the_link_in_its_mail(sandbox: Settings, deployed):
    outputs, approver = deployed
    assert outputs["ApiUrl"].startswith("https://") and ".execute-api." in outputs["ApiUrl"]  # CDK's api.url
    confirm_subscription_if_pending(sandbox, outputs["TopicArn"], approver)
    title = f"Ship release {uuid.uuid4().hex[:8]}"
    answer = workflow.client(sandbox, "events").put_events(Entries=[{
        "Source": "example.approvals", "DetailType": "ApprovalRequested",
        "Detail": json.dumps({"title": title, "requester": "dana"}),
    }])
    assert answer["FailedEntryCount"] == 0

    message = mail_wait(sandbox, f'to:{approver} subject:"Approval needed: {title}"')
    assert 'requester: "dana"' in message["Text"]
    page_text = click_in_catcher(sandbox, message, "approve", f"{outputs['ApiUrl']}approve?token=")

    assert "Approved" in page_text
    sfn = workflow.client(sandbox, "stepfunctions")
    [execution] = [e for e in sfn.list_executions(stateMachineArn=outputs["StateMachineArn"])["executions"]
                   if json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])["title"] == title]
    ended = wait_for_end(sandbox, execution["executionArn"])
    assert ended["status"] == "SUCCEEDED", ended
    output = json.loads(ended["output"])  # what process-request (nodejs20.x) made of the approved request
    assert output["title"] == title and output["processed"] is True and output["approvedAt"]
