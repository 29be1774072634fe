"""The bootstrap against a real LocalStack: dry run creates nothing, a second deploy changes nothing (and costs two
calls), destroy then deploy works, a changed setting updates exactly what it should, resources the demo did not
make are left alone, and the decision API keeps its id across a redeploy.

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
from bootstrap import api, pipeline
from bootstrap.config import DeployConfig
from sandbox.config import REPO_ROOT, TEST_CREDENTIALS, aws_client_env

P = "sandbox-"  # the default NAME_PREFIX
FUNCTIONS = [f"{P}approval-{f}" for f in ("decide", "generate-task", "process-request", "send-verification")]
BUCKET = f"{P}approvals-000000000000-us-east-1"


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
                       if f["FunctionName"].startswith(f"{P}approval-"))
    machines = [m["name"] for m in client(settings, "stepfunctions").list_state_machines()["stateMachines"]
                if m["name"] == f"{P}WaitForCallback"]
    queues = sorted(u.rsplit("/", 1)[-1] for u in client(settings, "sqs").list_queues(
        QueueNamePrefix=f"{P}approval-").get("QueueUrls", []))
    topics = [t["TopicArn"] for t in client(settings, "sns").list_topics()["Topics"]
              if t["TopicArn"].endswith(f":{P}approval-notifications")]
    subscriptions = sorted(s["Endpoint"] for s in client(settings, "sns").list_subscriptions()["Subscriptions"]
                           if f":{P}approval-notifications" in s["TopicArn"])
    buckets = [b["Name"] for b in client(settings, "s3").list_buckets()["Buckets"] if b["Name"] == BUCKET]
    rules = sorted(r["Name"] for r in client(settings, "events").list_rules(NamePrefix=f"{P}approval-")["Rules"])
    apis = [a["name"] for a in client(settings, "apigateway").get_rest_apis()["items"]
            if a["name"] == f"{P}approval-api"]
    roles = sorted(r["RoleName"] for r in client(settings, "iam").list_roles()["Roles"]
                   if r["RoleName"].startswith(f"{P}approval-"))
    log_groups = sorted(g["logGroupName"] for g in client(settings, "logs").describe_log_groups(
        logGroupNamePrefix=f"/aws/lambda/{P}approval-")["logGroups"])
    return {"functions": functions, "machines": machines, "queues": queues, "topics": topics,
            "subscriptions": subscriptions, "buckets": buckets, "rules": rules, "apis": apis, "roles": roles,
            "log_groups": log_groups}


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
            FunctionName=f"{P}approval-send-verification")["EventSourceMappings"]],
        "outputs": outputs,
    }


def test_dry_run_creates_nothing_and_plans_every_declared_resource(settings):
    before = pipeline_resources(settings)
    planned = bootstrap.plan(settings, DeployConfig())
    assert {c.action for c in planned} == {"create"}
    # One change per declared resource: the engine covers what the template declares.
    assert len(planned) == len(pipeline.resources())
    assert pipeline_resources(settings) == before
    assert not settings.outputs_path.exists()


def test_deploy_creates_everything_and_writes_outputs(settings):
    outputs = bootstrap.deploy(settings, DeployConfig())
    assert pipeline_resources(settings) == {
        "functions": FUNCTIONS,
        "machines": [f"{P}WaitForCallback"],
        "queues": [f"{P}approval-requests", f"{P}approval-requests-dlq"],
        "topics": [outputs["topic_arn"]],
        "subscriptions": ["approver@example.com"],
        "buckets": [BUCKET],
        "rules": [f"{P}approval-manual-request", f"{P}approval-schedule"],
        "apis": [f"{P}approval-api"],
        "roles": sorted(f"{P}approval-{r}-role" for r in (
            "generate-task", "send-verification", "decide", "process-request", "state-machine", "events",
            "apigateway")),
        "log_groups": [f"/aws/lambda/{f}" for f in FUNCTIONS],
    }
    assert json.loads(settings.outputs_path.read_text()) == outputs
    assert outputs["api_url"] == (f"{settings.localstack_url}/_aws/execute-api/{outputs['api_id']}/"
                                  f"{outputs['api_stage']}")
    for key in ("state_machine_arn", "queue_url", "dlq_url", "topic_arn", "approver", "bucket"):
        assert outputs[key], key
    assert set(outputs["functions"].values()) == set(FUNCTIONS)
    mapping, = client(settings, "lambda").list_event_source_mappings(
        FunctionName=f"{P}approval-send-verification")["EventSourceMappings"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    attributes = client(settings, "sqs").get_queue_attributes(
        QueueUrl=outputs["queue_url"], AttributeNames=["RedrivePolicy", "VisibilityTimeout"])["Attributes"]
    assert json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"].endswith(f":{P}approval-requests-dlq")
    assert attributes["VisibilityTimeout"] == "30"
    # The decision API has the fixed id LocalStack gives a `_custom_id_` tag: old links survive a restart.
    assert outputs["api_id"] == api.custom_id("000000000000", settings.region, f"{P}approval-api")
    schedule = client(settings, "events").describe_rule(Name=f"{P}approval-schedule")
    assert schedule["ScheduleExpression"] == "rate(10 minutes)" and schedule["State"] == "DISABLED"


def count_calls(monkeypatch) -> list[str]:
    """The names of the AWS calls the deployer's clients make from now on (botocore's before-call event)."""
    calls: list[str] = []
    original = bootstrap.Clients.__init__

    def counting(self, settings_):
        original(self, settings_)
        for name in vars(self):
            getattr(self, name).meta.events.register("before-call", lambda model, **_: calls.append(model.name))

    monkeypatch.setattr(bootstrap.Clients, "__init__", counting)
    return calls


def test_second_deploy_changes_nothing_in_two_calls(settings, monkeypatch):
    before = fingerprint(settings)
    changes: list = []
    calls = count_calls(monkeypatch)
    bootstrap.deploy(settings, DeployConfig(), report=changes.append)
    assert changes == []
    assert calls == ["GetCallerIdentity", "ListTagsForResource"]
    assert fingerprint(settings) == before
    assert bootstrap.plan(settings, DeployConfig()) == []


def test_a_full_check_of_an_unchanged_pipeline_changes_nothing(settings):
    settings.outputs_path.unlink()  # no record of the last deploy: every resource is looked at
    assert bootstrap.plan(settings, DeployConfig()) == []
    changes: list = []
    bootstrap.deploy(settings, DeployConfig(), report=changes.append)
    assert changes == []


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
    assert [(c.action, c.kind, c.name) for c in changes] == [("update", "lambda", f"{P}approval-generate-task")]
    env = client(settings, "lambda").get_function_configuration(FunctionName=f"{P}approval-generate-task")
    assert env["Environment"]["Variables"]["APPROVAL_TIMEOUT_SECONDS"] == "1800"
    monkeypatch.setenv("APPROVAL_SCHEDULE_ENABLED", "true")
    monkeypatch.setenv("APPROVAL_SCHEDULE", "rate(2 hours)")
    changes.clear()
    bootstrap.deploy(settings, DeployConfig(), report=changes.append)
    assert [(c.action, c.name) for c in changes] == [("update", f"{P}approval-schedule")]
    rule = client(settings, "events").describe_rule(Name=f"{P}approval-schedule")
    assert (rule["State"], rule["ScheduleExpression"]) == ("ENABLED", "rate(2 hours)")


def test_a_new_approver_replaces_the_subscription(settings, monkeypatch):
    monkeypatch.setenv("APPROVER_EMAIL", "lead@example.com")
    changes: list = []
    bootstrap.deploy(settings, DeployConfig(), report=changes.append)
    assert sorted((c.action, c.kind, c.name) for c in changes if c.kind == "sns subscription") == [
        ("create", "sns subscription", "lead@example.com"), ("delete", "sns subscription", "approver@example.com")]
    assert pipeline_resources(settings)["subscriptions"] == ["lead@example.com"]


def test_a_resource_the_demo_did_not_make_is_never_taken_over(settings):
    """A user's own state machine named like the demo's keeps its definition; deploy and destroy say so."""
    sfn, iam = client(settings, "stepfunctions"), client(settings, "iam")
    role = iam.create_role(RoleName="users-own-role", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": []}))["Role"]["Arn"]
    theirs = {"StartAt": "Mine", "States": {"Mine": {"Type": "Pass", "End": True}}}
    arn = sfn.create_state_machine(name="users-WaitForCallback", definition=json.dumps(theirs),
                                   roleArn=role)["stateMachineArn"]
    config = DeployConfig(name_prefix="users-")
    with pytest.raises(bootstrap.ForeignResource, match="users-WaitForCallback exists and was not created") as refused:
        bootstrap.deploy(settings, config)
    assert "`make destroy` removes them, and only them" in str(refused.value)
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == theirs
    removed = bootstrap.destroy(settings.with_(home=settings.home / "users"), config)
    assert "users-WaitForCallback" not in {c.name for c in removed}
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == theirs
    sfn.delete_state_machine(stateMachineArn=arn)
    iam.delete_role(RoleName="users-own-role")


def test_destroy_then_deploy_works(settings):
    api_id = json.loads(settings.outputs_path.read_text())["api_id"]
    removed = bootstrap.destroy(settings, DeployConfig())
    assert {c.action for c in removed} == {"delete"}
    assert pipeline_resources(settings) == {k: [] for k in pipeline_resources(settings)}
    assert not settings.outputs_path.exists()
    assert bootstrap.destroy(settings, DeployConfig()) == []  # twice is fine

    outputs = bootstrap.deploy(settings, DeployConfig())
    assert outputs["api_id"] == api_id, "a fresh deploy (as after a restart) gives the API the same id"
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


def test_a_deploy_into_an_empty_localstack_creates_without_looking_first(settings, monkeypatch):
    """`make up` deploys into the LocalStack it just started (empty: local mode keeps no state) with empty=True."""
    assert pipeline_resources(settings) == {k: [] for k in pipeline_resources(settings)}  # destroyed just before
    calls = count_calls(monkeypatch)
    changes: list = []
    bootstrap.deploy(settings, DeployConfig(), report=changes.append, empty=True)
    assert {c.action for c in changes} == {"create"} and len(changes) == len(pipeline.resources())
    looked = sorted({c for c in calls if c.startswith(("Get", "Describe", "List"))})
    # Who the caller is, and the wait until the functions are Active; nothing looked up before it is made.
    assert looked == ["GetCallerIdentity", "GetFunctionConfiguration"]
    monkeypatch.undo()
    assert bootstrap.plan(settings, DeployConfig()) == []  # a full look finds everything as declared
    bootstrap.destroy(settings, DeployConfig())
