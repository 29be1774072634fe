"""The bootstrap against a real LocalStack: dry run creates nothing, a second deploy changes nothing, destroy
then deploy works, and a changed setting updates exactly what it should.

Uses the session's LocalStack (tests/integration/localstack_support.py); the tests run in file order.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import boto3
import pytest

import bootstrap
from bootstrap.config import DeployConfig
from sandbox.config import REPO_ROOT, TEST_CREDENTIALS, aws_client_env

FUNCTIONS = ["approval-decide", "approval-generate-task", "approval-process-request", "approval-send-verification"]


@pytest.fixture(scope="module")
def settings(localstack):
    return localstack.settings


def client(settings, service):
    return boto3.client(service, endpoint_url=settings.localstack_url, region_name=settings.region,
                        aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])


def pipeline_resources(settings) -> dict:
    """What of the pipeline exists right now, read straight from LocalStack."""
    lam = client(settings, "lambda")
    functions = sorted(f["FunctionName"] for f in lam.list_functions()["Functions"]
                       if f["FunctionName"].startswith("approval-"))
    machines = [m["name"] for m in client(settings, "stepfunctions").list_state_machines()["stateMachines"]
                if m["name"] == "WaitForCallback"]
    queues = sorted(u.rsplit("/", 1)[-1] for u in client(settings, "sqs").list_queues(
        QueueNamePrefix="approval-").get("QueueUrls", []))
    topics = [t["TopicArn"] for t in client(settings, "sns").list_topics()["Topics"]
              if t["TopicArn"].endswith(":approval-notifications")]
    buckets = [b["Name"] for b in client(settings, "s3").list_buckets()["Buckets"]
               if b["Name"] == "callback-sandbox-approvals"]
    rules = sorted(r["Name"] for r in client(settings, "events").list_rules(NamePrefix="approval-")["Rules"])
    apis = [a["name"] for a in client(settings, "apigateway").get_rest_apis()["items"] if a["name"] == "approval-api"]
    roles = sorted(r["RoleName"] for r in client(settings, "iam").list_roles()["Roles"]
                   if r["RoleName"].startswith("callback-sandbox-"))
    return {"functions": functions, "machines": machines, "queues": queues, "topics": topics, "buckets": buckets,
            "rules": rules, "apis": apis, "roles": roles}


def fingerprint(settings) -> dict:
    """Values that change whenever a resource is updated."""
    lam = client(settings, "lambda")
    sfn = client(settings, "stepfunctions")
    outputs = json.loads(settings.outputs_path.read_text())
    machine = sfn.describe_state_machine(stateMachineArn=outputs["state_machine_arn"])
    api = client(settings, "apigateway")
    return {
        "functions": {n: lam.get_function(FunctionName=n)["Configuration"]["LastModified"] for n in FUNCTIONS},
        "machine": (machine["definition"], machine.get("revisionId"), str(machine.get("updateDate"))),
        "deployments": sorted(d["id"] for d in api.get_deployments(restApiId=outputs["api_id"])["items"]),
        "mappings": [(m["UUID"], str(m["LastModified"])) for m in lam.list_event_source_mappings(
            FunctionName="approval-send-verification")["EventSourceMappings"]],
        "outputs": outputs,
    }


def test_dry_run_creates_nothing(settings):
    before = pipeline_resources(settings)
    planned = bootstrap.plan(settings, DeployConfig())
    assert {(c.action, c.kind) for c in planned} >= {("create", "lambda"), ("create", "state machine"),
                                                      ("create", "sqs queue"), ("create", "rest api")}
    assert pipeline_resources(settings) == before
    assert not settings.outputs_path.exists()


def test_deploy_creates_everything_and_writes_outputs(settings):
    outputs = bootstrap.deploy(settings, DeployConfig())
    assert pipeline_resources(settings) == {
        "functions": FUNCTIONS,
        "machines": ["WaitForCallback"],
        "queues": ["approval-requests", "approval-requests-dlq"],
        "topics": [outputs["topic_arn"]],
        "buckets": ["callback-sandbox-approvals"],
        "rules": ["approval-manual-request", "approval-schedule"],
        "apis": ["approval-api"],
        "roles": sorted(f"callback-sandbox-{r}-role" for r in (
            "generate-task", "send-verification", "decide", "process-request", "state-machine", "events",
            "apigateway")),
    }
    assert json.loads(settings.outputs_path.read_text()) == outputs
    assert outputs["api_url"] == (f"{settings.localstack_url}/_aws/execute-api/{outputs['api_id']}/"
                                  f"{outputs['api_stage']}")
    for key in ("state_machine_arn", "queue_url", "dlq_url", "topic_arn", "approver", "bucket"):
        assert outputs[key], key
    assert set(outputs["functions"].values()) == set(FUNCTIONS)
    mapping, = client(settings, "lambda").list_event_source_mappings(
        FunctionName="approval-send-verification")["EventSourceMappings"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    redrive = json.loads(client(settings, "sqs").get_queue_attributes(
        QueueUrl=outputs["queue_url"], AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(":approval-requests-dlq")
    schedule = client(settings, "events").describe_rule(Name="approval-schedule")
    assert schedule["ScheduleExpression"] == "rate(10 minutes)" and schedule["State"] == "DISABLED"


def test_second_deploy_changes_nothing(settings):
    before = fingerprint(settings)
    changes: list = []
    bootstrap.deploy(settings, DeployConfig(), report=changes.append)
    assert changes == []
    assert fingerprint(settings) == before
    assert bootstrap.plan(settings, DeployConfig()) == []


def test_cli_dry_run_reports_up_to_date(settings):
    env = {**aws_client_env(settings), "PATH": "/usr/bin:/bin", "LOCALSTACK_PORT": str(settings.localstack_port),
           "SANDBOX_HOME": str(settings.home), "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-m", "bootstrap", "deploy", "--dry-run"], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "deploy would change nothing" in result.stdout


def test_a_changed_setting_updates_only_what_uses_it(settings, monkeypatch):
    monkeypatch.setenv("APPROVAL_TIMEOUT_SECONDS", "1800")
    changes: list = []
    bootstrap.deploy(settings, DeployConfig(), report=changes.append)
    assert [(c.action, c.kind, c.name) for c in changes] == [("update", "lambda", "approval-generate-task")]
    env = client(settings, "lambda").get_function_configuration(FunctionName="approval-generate-task")
    assert env["Environment"]["Variables"]["APPROVAL_TIMEOUT_SECONDS"] == "1800"
    monkeypatch.setenv("APPROVAL_SCHEDULE_ENABLED", "true")
    monkeypatch.setenv("APPROVAL_SCHEDULE", "rate(2 hours)")
    changes.clear()
    bootstrap.deploy(settings, DeployConfig(), report=changes.append)
    assert [(c.action, c.name) for c in changes] == [("update", "approval-schedule")]
    rule = client(settings, "events").describe_rule(Name="approval-schedule")
    assert (rule["State"], rule["ScheduleExpression"]) == ("ENABLED", "rate(2 hours)")


def test_destroy_then_deploy_works(settings):
    removed = bootstrap.destroy(settings, DeployConfig())
    assert {c.action for c in removed} == {"delete"}
    assert pipeline_resources(settings) == {k: [] for k in pipeline_resources(settings)}
    assert not settings.outputs_path.exists()
    assert bootstrap.destroy(settings, DeployConfig()) == []  # twice is fine

    outputs = bootstrap.deploy(settings, DeployConfig())
    sfn = client(settings, "stepfunctions")
    request = {"title": "after redeploy", "approvalTimeoutSeconds": 1}
    arn = sfn.start_execution(stateMachineArn=outputs["state_machine_arn"], input=json.dumps(request))["executionArn"]
    # The fresh pipeline runs: the request reaches the callback task and times out into its own Fail state.
    deadline = time.monotonic() + 60
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "execution did not finish"
        time.sleep(0.2)
    assert (described["status"], described.get("error")) == ("FAILED", "ApprovalTimedOut")
    bootstrap.destroy(settings, DeployConfig())
