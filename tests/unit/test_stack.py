"""`sandbox deploy --target aws`: a dry run prints the change set and spends nothing (CloudFormation stubbed with
botocore's Stubber: no S3 call, the change set and the empty stack it made are deleted); no credentials is one
clear line. The real CloudFormation path runs against LocalStack in
tests/integration/test_aws_target_on_localstack.py and `make e2e-template`."""

import os
import subprocess
import sys

import boto3
import pytest
from botocore.stub import ANY, Stubber

from bootstrap import aws, stack
from bootstrap.config import DeployConfig
from sandbox.cli import main
from sandbox.config import REPO_ROOT

NAME = "team-approval-pipeline"


class Stubbed(stack.AwsClients):
    def __init__(self):
        session = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
                                        region_name="eu-west-1")
        super().__init__(session)
        self.stubs = {name: Stubber(getattr(self, name)) for name in ("cloudformation", "s3", "sts")}

    def __enter__(self):
        for stub in self.stubs.values():
            stub.activate()
        return self

    def __exit__(self, *exc):
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()
            stub.deactivate()


def _new_stack_plan(clients: Stubbed) -> None:
    cfn = clients.stubs["cloudformation"]
    clients.stubs["sts"].add_response("get_caller_identity", {
        "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/dev", "UserId": "AIDAEXAMPLE"})
    cfn.add_client_error("describe_stacks", "ValidationError", f"Stack with id {NAME} does not exist")
    cfn.add_response("create_change_set", {"Id": "cs-1", "StackId": "stack-1"}, {
        "StackName": NAME, "ChangeSetName": ANY, "TemplateBody": ANY, "Parameters": ANY,
        "Capabilities": ["CAPABILITY_NAMED_IAM"], "ChangeSetType": "CREATE", "Tags": ANY, "Description": ANY})
    cfn.add_response("describe_change_set", {
        "ChangeSetName": "cs", "StackName": NAME, "Status": "CREATE_COMPLETE", "ExecutionStatus": "AVAILABLE",
        "Changes": [
            {"Type": "Resource", "ResourceChange": {"Action": "Add", "LogicalResourceId": "StateMachine",
                                                    "ResourceType": "AWS::StepFunctions::StateMachine"}},
            {"Type": "Resource", "ResourceChange": {"Action": "Add", "LogicalResourceId": "RequestQueue",
                                                    "ResourceType": "AWS::SQS::Queue"}},
        ]}, {"StackName": NAME, "ChangeSetName": ANY})
    cfn.add_response("delete_change_set", {}, {"StackName": NAME, "ChangeSetName": ANY})
    cfn.add_response("delete_stack", {}, {"StackName": NAME})


def test_dry_run_of_a_new_stack_prints_the_change_set_and_leaves_nothing_behind():
    clients = Stubbed()
    _new_stack_plan(clients)  # and no S3 response queued: an upload would fail the test
    with clients:
        changes, outputs = stack.deploy(clients, DeployConfig(name_prefix="team-"), dry_run=True)
    assert outputs is None
    assert [(c.action, c.kind, c.name) for c in changes] == [
        ("create", "AWS::StepFunctions::StateMachine", "StateMachine"), ("create", "AWS::SQS::Queue", "RequestQueue")]


def test_the_change_set_carries_the_parameters_and_the_uploaded_code_location():
    clients = Stubbed()
    _new_stack_plan(clients)
    sent = {}
    clients.cloudformation.meta.events.register(
        "provide-client-params.cloudformation.CreateChangeSet", lambda params, **_: sent.update(params))
    with clients:
        stack.deploy(clients, DeployConfig(name_prefix="team-", approver_email="lead@example.org"), dry_run=True)
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in sent["Parameters"]}
    assert parameters["NamePrefix"] == "team-" and parameters["ApproverEmail"] == "lead@example.org"
    assert parameters["ScheduleEnabled"] == "false"
    body = sent["TemplateBody"]
    assert "S3Bucket: callback-sandbox-artifacts-123456789012-eu-west-1" in body
    assert "S3Key: team-approval-pipeline/" in body
    assert len(body.encode()) < 51200, "CloudFormation's limit for a TemplateBody"


def test_cli_dry_run_prints_the_plan(monkeypatch, capsys):
    clients = Stubbed()
    _new_stack_plan(clients)
    monkeypatch.setattr(aws, "clients", lambda: clients)
    monkeypatch.setenv("NAME_PREFIX", "team-")
    with clients:
        assert main(["deploy", "--target", "aws", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"Planning stack {NAME} in account 123456789012, region eu-west-1" in out
    assert "create AWS::StepFunctions::StateMachine StateMachine" in " ".join(out.split())
    assert "Dry run: 2 change(s) would be made; nothing was created or uploaded." in out


@pytest.mark.parametrize("command", [["deploy", "--target", "aws", "--dry-run"], ["destroy", "--target", "aws"]])
def test_without_credentials_the_cli_says_so_in_one_line(tmp_path, command):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(tmp_path), AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_EC2_METADATA_DISABLED="true",
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_REGION="eu-west-1",
               PYTHONPATH=str(REPO_ROOT))
    result = subprocess.run([sys.executable, "-m", "sandbox.cli", *command], env=env, capture_output=True,
                            text=True, timeout=60, cwd=REPO_ROOT)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "sandbox: error: no AWS credentials: set AWS_PROFILE (after `aws configure` or `aws sso login`) or "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"]


def test_a_real_deploy_needs_an_approver(monkeypatch, capsys):
    monkeypatch.delenv("APPROVER_EMAIL", raising=False)
    assert main(["deploy", "--target", "aws"]) == 1
    assert "set APPROVER_EMAIL=" in capsys.readouterr().err
