"""One declaration, two targets: the boto3 engine and the CloudFormation template cover the same resources, the
template is valid for AWS (cfn-lint with AWS's resource specification, parliament for the IAM policies) and
carries nothing of LocalStack."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import bootstrap
from bootstrap import engine, pipeline, template
from bootstrap.symbols import CodeAsset, IfTrue, expand, resolve, to_cloudformation

PSEUDO = {"AWS::Region", "AWS::AccountId", "AWS::Partition", "AWS::URLSuffix"}
SAMPLE = {"NamePrefix": "team-", "AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012",
          "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    directory = tmp_path_factory.mktemp("template")
    path = template.write(directory)
    return path, yaml.safe_load(path.read_text())


def test_the_engine_and_the_template_cover_the_same_resources(written):
    _, rendered = written
    declared = {r.logical_id: r.type for r in pipeline.resources()}
    assert {k: v["Type"] for k, v in rendered["Resources"].items()} == declared
    # Every declared type has a boto3 handler, and no handler is left without a resource.
    assert set(bootstrap.HANDLERS) == set(declared.values())
    kinds = sorted(declared.values())
    for expected in ("AWS::Events::Rule", "AWS::StepFunctions::StateMachine", "AWS::SQS::Queue",
                     "AWS::Lambda::EventSourceMapping", "AWS::Lambda::Function", "AWS::SNS::Topic",
                     "AWS::SNS::Subscription", "AWS::ApiGateway::RestApi", "AWS::ApiGateway::Deployment",
                     "AWS::S3::Bucket", "AWS::IAM::Role"):
        assert expected in kinds
    assert kinds.count("AWS::Lambda::Function") == 4 and kinds.count("AWS::SQS::Queue") == 2
    assert kinds.count("AWS::IAM::Role") == 7


def test_every_placeholder_is_a_parameter_a_pseudo_parameter_or_a_resource():
    declared = {r.logical_id for r in pipeline.resources()}
    for name in template.placeholders():
        base = name.split(".", 1)[0]
        assert name in pipeline.PARAMETERS or name in PSEUDO or name in pipeline.DERIVED or base in declared, name


def test_dependencies_have_no_cycle_and_roles_start_first():
    resources = [r.__class__(r.logical_id, r.type, expand(r.properties, pipeline.DERIVED), r.depends_on)
                 for r in pipeline.resources()]
    graph = engine.order(resources, set(pipeline.PARAMETERS))
    roles = [n for n in graph if n.endswith("Role")]
    assert all(not graph[r] for r in roles), "roles refer to nothing, so they are created at once"
    assert {"GenerateTaskFunction", "ProcessRequestFunction", "RequestQueue", "StateMachineRole"} <= \
        graph["StateMachine"]
    assert set(graph["ApiDeployment"]) >= {"ApproveGetMethod", "ApprovePostMethod", "RejectGetMethod",
                                           "RejectPostMethod"}


def test_template_has_the_parameters_and_outputs_aws_users_need(written):
    _, rendered = written
    assert {"ApproverEmail", "NamePrefix", "ApprovalTimeoutSeconds", "ScheduleEnabled"} <= set(rendered["Parameters"])
    assert "Default" not in rendered["Parameters"]["ApproverEmail"], "the approver must be chosen"
    outputs = rendered["Outputs"]
    assert outputs["StateMachineArn"]["Value"] == {"Ref": "StateMachine"}
    assert outputs["ApprovalApiUrl"]["Value"] == {
        "Fn::Sub": "https://${ApprovalApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${ApiStageName}"}
    # The function that writes the links gets the same URL.
    env = rendered["Resources"]["SendVerificationFunction"]["Properties"]["Environment"]["Variables"]
    assert env["API_URL"] == outputs["ApprovalApiUrl"]["Value"]
    assert rendered["Resources"]["ScheduleRule"]["Properties"]["State"] == {
        "Fn::If": ["ScheduleEnabledCondition", "ENABLED", "DISABLED"]}


def test_template_holds_nothing_of_localstack(written):
    path, _ = written
    text = path.read_text()
    for marker in ("localhost", "localstack", "_aws/execute-api", "4566", "000000000000", "_custom_id_",
                   "AWS_ACCESS_KEY_ID", "aws_access_key_id", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        assert marker not in text.lower() if marker.islower() else marker not in text, marker
    assert "'test'" not in text and ": test\n" not in text, "a test credential"


def test_each_function_code_is_a_local_path_for_cloudformation_package(written):
    path, rendered = written
    for resource in rendered["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            code = resource["Properties"]["Code"]
            assert isinstance(code, str) and (path.parent / code).is_file()


def test_cfn_lint_finds_no_errors(written):
    path, _ = written
    cfn_lint = Path(sys.executable).parent / "cfn-lint"  # the pinned one, with the resource specification it ships
    result = subprocess.run([str(cfn_lint), "--format", "json", str(path)], capture_output=True, text=True,
                            timeout=300)
    assert result.stderr == "", result.stderr
    findings = json.loads(result.stdout)
    assert findings == [] and result.returncode == 0, findings
    # W3002 (local code paths, meant for `aws cloudformation package`) is the one check the template turns off.
    assert yaml.safe_load(path.read_text())["Metadata"]["cfn-lint"]["config"]["ignore_checks"] == ["W3002"]


def test_parliament_finds_nothing_above_low():
    import parliament  # a dev dependency (make install); imported here because it warns about pkg_resources
    for resource in pipeline.resources():
        if resource.type != "AWS::IAM::Role":
            continue
        document = resolve(resource.properties["Policies"][0]["PolicyDocument"], SAMPLE.__getitem__)
        findings = [parliament.enhance_finding(f)
                    for f in parliament.analyze_policy_string(json.dumps(document)).findings]
        serious = [(f.issue, f.severity, f.detail) for f in findings if f.severity not in ("LOW", "INFO", "MUTE")]
        assert not serious, (resource.logical_id, serious)


def test_role_policies_grant_each_component_exactly_its_calls():
    actions = {}
    for resource in pipeline.resources():
        if resource.type == "AWS::IAM::Role":
            (policy,) = resource.properties["Policies"]
            actions[resource.logical_id] = {a for s in policy["PolicyDocument"]["Statement"] for a in s["Action"]}
    logs = {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert actions == {
        "GenerateTaskRole": logs,
        "ProcessRequestRole": logs,
        "SendVerificationRole": logs | {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                                        "sqs:ChangeMessageVisibility", "sns:Publish", "s3:PutObject",
                                        "s3:GetObject", "s3:DeleteObject"},
        "DecideRole": logs | {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket",
                              "states:SendTaskSuccess", "states:SendTaskFailure", "states:DescribeExecution",
                              "states:GetExecutionHistory", "states:ListExecutions"},
        "StateMachineRole": {"lambda:InvokeFunction", "sqs:SendMessage"},
        "EventsRole": {"states:StartExecution"},
        "ApiGatewayRole": {"lambda:InvokeFunction"},
    }


def test_visibility_timeout_is_six_times_the_verification_timeout_and_short():
    by_id = {r.logical_id: r for r in pipeline.resources()}
    timeout = by_id["SendVerificationFunction"].properties["Timeout"]
    assert by_id["RequestQueue"].properties["VisibilityTimeout"] == 6 * timeout
    assert 6 * timeout <= 30, "a crashed verification run is retried within seconds, not minutes"


def test_placeholders_resolve_and_render_alike():
    value = {"a": "${Queue.Arn}", "b": "x-${NamePrefix}-${AWS::Region}", "c": "${MaxReceiveCount}",
             "d": IfTrue("On", "ENABLED", "DISABLED"), "e": CodeAsset("lambdas"), "f": 3}
    lookup = {"Queue.Arn": "arn:q", "NamePrefix": "p", "AWS::Region": "r", "MaxReceiveCount": 3, "On": False}
    resolved = resolve({k: v for k, v in value.items() if k != "e"}, lookup.__getitem__)
    assert resolved == {"a": "arn:q", "b": "x-p-r", "c": 3, "d": "DISABLED", "f": 3}
    assert to_cloudformation(value, {"NamePrefix", "MaxReceiveCount", "On"}, lambda asset: asset.package) == {
        "a": {"Fn::GetAtt": ["Queue", "Arn"]}, "b": {"Fn::Sub": "x-${NamePrefix}-${AWS::Region}"},
        "c": {"Ref": "MaxReceiveCount"}, "d": {"Fn::If": ["OnCondition", "ENABLED", "DISABLED"]}, "e": "lambdas",
        "f": 3}
