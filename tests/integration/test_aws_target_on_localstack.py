"""`deploy --target aws` against a real CloudFormation: LocalStack's, through the same code the AWS target runs.
A dry run leaves nothing behind; a deploy creates the whole pipeline; a second deploy changes nothing; destroy
removes every resource it made (the records in its bucket, the subscription and the uploaded code included).

Uses the session's LocalStack (tests/integration/localstack_support.py); the tests run in file order.
"""

from __future__ import annotations

import boto3
import pytest

from bootstrap import pipeline, stack
from bootstrap.config import DeployConfig
from sandbox.config import TEST_CREDENTIALS

CONFIG = DeployConfig(name_prefix="it-", event_source="sandbox.approvals.it")
NAME = "it-approval-pipeline"


@pytest.fixture(scope="module")
def clients(localstack):
    session = boto3.session.Session(
        aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"], region_name=localstack.settings.region)
    stack.POLL_SECONDS = 0.25
    return stack.AwsClients(session, endpoint_url=localstack.settings.localstack_url)


def leftovers(clients) -> dict:
    """Whatever of an `it-` pipeline exists, read straight from LocalStack."""
    client = clients.cloudformation.meta
    session = boto3.session.Session(
        aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"], region_name=client.region_name)

    def make(service):
        return session.client(service, endpoint_url=client.endpoint_url)

    return {
        "stacks": [s["StackName"] for s in clients.cloudformation.list_stacks()["StackSummaries"]
                   if s["StackName"] == NAME and s["StackStatus"] != "DELETE_COMPLETE"],
        "functions": [f["FunctionName"] for f in make("lambda").list_functions()["Functions"]
                      if f["FunctionName"].startswith("it-")],
        "buckets": [b["Name"] for b in clients.s3.list_buckets()["Buckets"]
                    if b["Name"].startswith(("it-", "callback-sandbox-artifacts-"))],
        "subscriptions": [s["Endpoint"] for s in make("sns").list_subscriptions()["Subscriptions"]
                          if ":it-approval-" in s["TopicArn"]],
        "roles": [r["RoleName"] for r in make("iam").list_roles()["Roles"] if r["RoleName"].startswith("it-")],
        "machines": [m["name"] for m in make("stepfunctions").list_state_machines()["stateMachines"]
                     if m["name"].startswith("it-")],
    }


def test_a_dry_run_plans_every_resource_and_leaves_nothing(clients):
    changes, outputs = stack.deploy(clients, CONFIG, dry_run=True, report=lambda line: None)
    assert outputs is None
    assert {c.action for c in changes} == {"create"}
    assert sorted(c.name for c in changes) == sorted(r.logical_id for r in pipeline.resources())
    assert leftovers(clients) == {k: [] for k in leftovers(clients)}


def test_deploy_creates_the_pipeline_and_a_second_deploy_changes_nothing(clients):
    changes, outputs = stack.deploy(clients, CONFIG, report=lambda line: None)
    assert len(changes) == len(pipeline.resources())
    assert outputs["state_machine_name"] == "it-WaitForCallback"
    assert outputs["event_source"] == "sandbox.approvals.it"
    assert outputs["api_url"].startswith(f"https://{outputs['api_id']}.execute-api.")
    assert len(leftovers(clients)["functions"]) == 4
    again, same = stack.deploy(clients, CONFIG, report=lambda line: None)
    assert again == [] and same == outputs


def test_destroy_removes_everything_it_made(clients):
    outputs = stack.outputs_of(clients.cloudformation.describe_stacks(StackName=NAME)["Stacks"][0])
    clients.s3.put_object(Bucket=outputs["bucket"], Key="decisions/x.json", Body=b"{}")  # a record to empty
    removed = stack.destroy(clients, CONFIG, report=lambda line: None)
    assert len(removed) == len(pipeline.resources())
    assert leftovers(clients) == {k: [] for k in leftovers(clients)}
    assert stack.destroy(clients, CONFIG, report=lambda line: None) == []  # twice is fine
