"""The approval pipeline, declared once: parameters, resources (CloudFormation types and properties) and outputs.

Two consumers read this: `bootstrap.engine` creates it in LocalStack with boto3 (resolving the placeholders of
bootstrap/symbols.py to concrete values), and `bootstrap.template` renders the CloudFormation template that
`make deploy TARGET=aws` deploys. Names, ARNs and policies come from the same pure builders either way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from bootstrap import policies
from bootstrap.arns import Account
from bootstrap.config import (
    DEFAULT_PREFIX,
    EVENT_DETAIL_TYPE,
    EVENT_SOURCE,
    FUNCTIONS,
    LAMBDA_RUNTIME,
    PREFIX_PATTERN,
    DeployConfig,
    Names,
)
from bootstrap.definition import state_machine_definition
from bootstrap.symbols import ACCOUNT, PARTITION, REGION, URL_SUFFIX, CodeAsset, IfTrue

SYMBOLIC = Account(region=REGION, account_id=ACCOUNT, partition=PARTITION)
NAMES = Names()  # every name carries the ${NamePrefix} placeholder
LOG_RETENTION_DAYS = 14
# AWS's advice for a Lambda reading SQS: visibility timeout at least six times the function timeout. A short
# function timeout keeps the retry of a crashed run within seconds.
VISIBILITY_TIMEOUT_FACTOR = 6


@dataclass(frozen=True)
class Parameter:
    config_field: str  # the DeployConfig field that gives its value in LocalStack
    type: str
    description: str
    constraints: dict = field(default_factory=dict)
    default: object = None


PARAMETERS = {
    "NamePrefix": Parameter("name_prefix", "String", "Put before every resource name (lower case, ends with -)",
                            {"AllowedPattern": f"^{PREFIX_PATTERN}$"}, DEFAULT_PREFIX),
    "ApproverEmail": Parameter("approver_email", "String", "Who gets the approval emails (must confirm the "
                               "SNS subscription first)", {"AllowedPattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"}),
    "ApprovalTimeoutSeconds": Parameter("approval_timeout_seconds", "Number", "Default time to decide",
                                        {"MinValue": 1, "MaxValue": 365 * 24 * 3600}, 3600),
    "ScheduleEnabled": Parameter("schedule_enabled", "String", "Whether the periodic approval request runs",
                                 {"AllowedValues": ["true", "false"]}, "false"),
    "ScheduleExpression": Parameter("schedule", "String", "Schedule of the periodic approval request",
                                    {}, "rate(10 minutes)"),
    "ApiStageName": Parameter("api_stage", "String", "API Gateway stage of the Approve/Reject endpoint",
                              {"AllowedPattern": "^[A-Za-z0-9_]{1,128}$"}, "sandbox"),
    "MaxReceiveCount": Parameter("max_receive_count", "Number", "Deliveries of a verification message before "
                                 "it goes to the dead-letter queue", {"MinValue": 1, "MaxValue": 1000}, 3),
    "EventSource": Parameter("event_source", "String", "`source` of the events that start a request",
                             {}, EVENT_SOURCE),
}

# Values whose form differs by target: the template builds AWS's URL; in LocalStack the engine gives the
# path-style URL that works offline.
DERIVED = {
    "ApprovalApiUrl": f"https://${{ApprovalApi}}.execute-api.{REGION}.{URL_SUFFIX}/${{ApiStageName}}",
}


def parameter_values(config: DeployConfig) -> dict[str, object]:
    return {name: getattr(config, p.config_field) for name, p in PARAMETERS.items()}


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    properties: dict
    depends_on: tuple[str, ...] = ()


def _camel(logical: str) -> str:
    return "".join(part.capitalize() for part in logical.split("_"))


def function_id(logical: str) -> str:
    return _camel(logical) + "Function"


def role_id(what: str) -> str:
    return {"apigateway": "ApiGatewayRole"}.get(what, _camel(what) + "Role")


def _role(what: str, service: str, policy: dict) -> Resource:
    return Resource(role_id(what), "AWS::IAM::Role", {
        "RoleName": NAMES.role(what),
        "AssumeRolePolicyDocument": policies.trust(service),
        "Policies": [{"PolicyName": policies.POLICY_NAME, "PolicyDocument": policy}],
    })


def _roles() -> list[Resource]:
    logs = {logical: SYMBOLIC.log_group(NAMES.function(logical)) for logical in FUNCTIONS}
    bucket = SYMBOLIC.bucket(NAMES.bucket)
    machine, functions = SYMBOLIC.state_machine(NAMES.state_machine), SYMBOLIC.function
    lambda_policies = {
        "generate_task": policies.generate_task_policy(logs["generate_task"]),
        "process_request": policies.process_request_policy(logs["process_request"]),
        "send_verification": policies.send_verification_policy(
            logs["send_verification"], SYMBOLIC.queue(NAMES.queue), SYMBOLIC.topic(NAMES.topic), bucket),
        "decide": policies.decide_policy(logs["decide"], bucket, machine,
                                         SYMBOLIC.executions(NAMES.state_machine)),
    }
    return [
        *(_role(logical, "lambda.amazonaws.com", policy) for logical, policy in lambda_policies.items()),
        _role("state_machine", "states.amazonaws.com", policies.state_machine_policy(
            [functions(NAMES.function("generate_task")), functions(NAMES.function("process_request"))],
            SYMBOLIC.queue(NAMES.queue))),
        _role("events", "events.amazonaws.com", policies.events_policy(machine)),
        _role("apigateway", "apigateway.amazonaws.com",
              policies.apigateway_policy(functions(NAMES.function("decide")))),
    ]


# Names and ARNs built from names rather than references where a function only needs the value: a function then
# waits for nothing but its role and log group (both targets create it sooner).
ENVIRONMENTS = {
    "generate_task": {"APPROVAL_TIMEOUT_SECONDS": "${ApprovalTimeoutSeconds}"},
    "process_request": {},
    "send_verification": {"RECORDS_BUCKET": NAMES.bucket, "TOPIC_ARN": SYMBOLIC.topic(NAMES.topic),
                          "API_URL": "${ApprovalApiUrl}"},
    "decide": {"RECORDS_BUCKET": NAMES.bucket, "STATE_MACHINE_ARN": SYMBOLIC.state_machine(NAMES.state_machine)},
}


def _functions() -> list[Resource]:
    out = []
    for logical, (module, timeout) in FUNCTIONS.items():
        log_group = _camel(logical) + "LogGroup"
        out.append(Resource(log_group, "AWS::Logs::LogGroup", {
            "LogGroupName": f"/aws/lambda/{NAMES.function(logical)}", "RetentionInDays": LOG_RETENTION_DAYS}))
        out.append(Resource(function_id(logical), "AWS::Lambda::Function", {
            "FunctionName": NAMES.function(logical),
            "Description": "Callback Sandbox approval pipeline",
            "Role": f"${{{role_id(logical)}.Arn}}",
            "Runtime": LAMBDA_RUNTIME,
            "Handler": f"lambdas.{module}.handler",
            "Timeout": timeout,
            "MemorySize": 256,
            "Environment": {"Variables": ENVIRONMENTS[logical]},
            "Code": CodeAsset("lambdas"),  # one zip of the package: handlers share lambdas/approval.py
        }, depends_on=(log_group,)))
    return out


def _api() -> list[Resource]:
    api = "ApprovalApi"
    out = [Resource(api, "AWS::ApiGateway::RestApi", {
        "Name": NAMES.api, "Description": "Approve/Reject links of Callback Sandbox",
        "EndpointConfiguration": {"Types": ["REGIONAL"]}})]
    methods = []
    for route in ("approve", "reject"):
        resource = _camel(route) + "Resource"
        out.append(Resource(resource, "AWS::ApiGateway::Resource", {
            "RestApiId": f"${{{api}}}", "ParentId": f"${{{api}.RootResourceId}}", "PathPart": route}))
        for verb in ("GET", "POST"):
            method = f"{_camel(route)}{verb.capitalize()}Method"
            methods.append(method)
            out.append(Resource(method, "AWS::ApiGateway::Method", {
                "RestApiId": f"${{{api}}}", "ResourceId": f"${{{resource}}}", "HttpMethod": verb,
                "AuthorizationType": "NONE",
                "Integration": {
                    "Type": "AWS_PROXY", "IntegrationHttpMethod": "POST",
                    "Uri": SYMBOLIC.lambda_integration_uri("${DecideFunction.Arn}"),
                    "Credentials": "${ApiGatewayRole.Arn}",
                },
            }))
    out.append(Resource("ApiDeployment", "AWS::ApiGateway::Deployment", {
        "RestApiId": f"${{{api}}}", "StageName": "${ApiStageName}", "Description": "Callback Sandbox"},
        depends_on=tuple(methods)))
    return out


def _rule(logical: str, name: str, description: str, **settings: object) -> Resource:
    return Resource(logical, "AWS::Events::Rule", {
        "Name": name, "Description": description, **settings,
        "Targets": [{"Id": "WaitForCallback", "Arn": "${StateMachine}", "RoleArn": "${EventsRole.Arn}"}],
    })


def resources() -> list[Resource]:
    """Every resource of the pipeline, each once."""
    verification_timeout = FUNCTIONS["send_verification"][1]
    definition = state_machine_definition(
        "${GenerateTaskFunction.Arn}", "${ProcessRequestFunction.Arn}", "${RequestQueue}")
    return [
        Resource("RecordsBucket", "AWS::S3::Bucket", {
            "BucketName": NAMES.bucket,
            # LocalStack serialises conditional writes (IfNoneMatch) per key only in versioned buckets, and
            # "exactly one decision per task" rests on that write being atomic.
            "VersioningConfiguration": {"Status": "Enabled"}}),
        Resource("DeadLetterQueue", "AWS::SQS::Queue", {"QueueName": NAMES.dlq, "MessageRetentionPeriod": 1209600}),
        Resource("RequestQueue", "AWS::SQS::Queue", {
            "QueueName": NAMES.queue,
            "VisibilityTimeout": VISIBILITY_TIMEOUT_FACTOR * verification_timeout,
            "RedrivePolicy": {"deadLetterTargetArn": "${DeadLetterQueue.Arn}",
                              "maxReceiveCount": "${MaxReceiveCount}"}}),
        Resource("NotificationTopic", "AWS::SNS::Topic", {"TopicName": NAMES.topic}),
        Resource("ApproverSubscription", "AWS::SNS::Subscription", {
            "TopicArn": "${NotificationTopic}", "Protocol": "email", "Endpoint": "${ApproverEmail}"}),
        *_roles(),
        *_functions(),
        Resource("VerificationTrigger", "AWS::Lambda::EventSourceMapping", {
            "FunctionName": "${SendVerificationFunction}", "EventSourceArn": "${RequestQueue.Arn}",
            "BatchSize": 10, "MaximumBatchingWindowInSeconds": 0,
            "FunctionResponseTypes": ["ReportBatchItemFailures"], "Enabled": True}),
        Resource("StateMachine", "AWS::StepFunctions::StateMachine", {
            "StateMachineName": NAMES.state_machine, "StateMachineType": "STANDARD",
            "RoleArn": "${StateMachineRole.Arn}", "DefinitionString": json.dumps(definition, indent=2)}),
        _rule("ManualRequestRule", NAMES.manual_rule, "Approval requests sent with PutEvents",
              EventPattern={"source": ["${EventSource}"], "detail-type": [EVENT_DETAIL_TYPE]}, State="ENABLED"),
        _rule("ScheduleRule", NAMES.schedule_rule, "Periodic approval request",
              ScheduleExpression="${ScheduleExpression}", State=IfTrue("ScheduleEnabled", "ENABLED", "DISABLED")),
        *_api(),
    ]


# outputs.json key (a dot nests it) -> (template output name, value). One list for both targets.
OUTPUTS = {
    "state_machine_arn": ("StateMachineArn", "${StateMachine}"),
    "state_machine_name": ("StateMachineName", "${StateMachine.Name}"),
    "api_url": ("ApprovalApiUrl", "${ApprovalApiUrl}"),
    "api_id": ("ApprovalApiId", "${ApprovalApi}"),
    "api_stage": ("ApiStageName", "${ApiStageName}"),
    "queue_url": ("RequestQueueUrl", "${RequestQueue}"),
    "dlq_url": ("DeadLetterQueueUrl", "${DeadLetterQueue}"),
    "topic_arn": ("NotificationTopicArn", "${NotificationTopic}"),
    "bucket": ("RecordsBucketName", "${RecordsBucket}"),
    "approver": ("ApproverEmail", "${ApproverEmail}"),
    "approval_timeout_seconds": ("ApprovalTimeoutSeconds", "${ApprovalTimeoutSeconds}"),
    "schedule": ("ScheduleExpression", "${ScheduleExpression}"),
    "schedule_enabled": ("ScheduleEnabled", "${ScheduleEnabled}"),
    "event_source": ("EventSource", "${EventSource}"),
    "event_detail_type": ("EventDetailType", EVENT_DETAIL_TYPE),
    "rules.manual": ("ManualRequestRuleName", "${ManualRequestRule}"),
    "rules.schedule": ("ScheduleRuleName", "${ScheduleRule}"),
    **{f"functions.{logical}": (function_id(logical) + "Name", f"${{{function_id(logical)}}}")
       for logical in FUNCTIONS},
}


def nest(flat: dict[str, object]) -> dict:
    """{"functions.decide": x} -> {"functions": {"decide": x}}"""
    out: dict = {}
    for key, value in flat.items():
        *parents, last = key.split(".")
        target = out
        for parent in parents:
            target = target.setdefault(parent, {})
        target[last] = value
    return out
