"""`make deploy TARGET=aws`: the CloudFormation template (template.py) deployed as a stack through change sets.

The Lambda code goes to an artifacts bucket first (what `aws cloudformation package` does). A dry run creates a
change set, prints it and deletes it again: nothing is uploaded or created, nothing costs. `destroy` empties the
decision-records bucket (CloudFormation cannot delete a bucket with objects), deletes the stack, then the uploaded
code. Credentials, profile and region come from the usual AWS variables (AWS_PROFILE, AWS_REGION, ...); pointing
AWS_ENDPOINT_URL at the sandbox deploys the same stack into LocalStack, which is how the tests prove it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from bootstrap import functions, template
from bootstrap.changes import MANAGED_TAG, Change
from bootstrap.config import ConfigError, DeployConfig
from bootstrap.pipeline import OUTPUTS, PARAMETERS, nest, parameter_values
from bootstrap.storage import empty_bucket

CAPABILITIES = ["CAPABILITY_NAMED_IAM"]  # the roles have names (NamePrefix + component)
ACTIONS = {"Add": "create", "Modify": "update", "Remove": "delete", "Dynamic": "update", "Import": "import"}
POLL_SECONDS = 2.0


class StackError(ConfigError):
    """Something the user can act on (no credentials, a failed stack); the message says what, in one line."""


class AwsClients:
    def __init__(self, session: Any, endpoint_url: str | None = None):
        if session.get_credentials() is None:
            raise StackError("no AWS credentials: set AWS_PROFILE (after `aws configure` or `aws sso login`) or "
                             "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        if not session.region_name:
            raise StackError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a region in your profile)")
        self.region = session.region_name
        # endpoint_url: the sandbox's LocalStack in tests; otherwise AWS (or AWS_ENDPOINT_URL when set).
        self.cloudformation = session.client("cloudformation", endpoint_url=endpoint_url)
        self.s3 = session.client("s3", endpoint_url=endpoint_url)
        self.sts = session.client("sts", endpoint_url=endpoint_url)
        self._account: str | None = None

    @property
    def account(self) -> str:
        if self._account is None:
            self._account = self.sts.get_caller_identity()["Account"]
        return self._account


def stack_name(config: DeployConfig) -> str:
    return f"{config.name_prefix}approval-pipeline"


def parameters(config: DeployConfig) -> list[dict]:
    def text(value: object) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    values = parameter_values(config)
    return [{"ParameterKey": name, "ParameterValue": text(values[name])} for name in PARAMETERS]


def _describe(cfn, name: str) -> dict | None:
    try:
        return cfn.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise


def artifacts_bucket(account: str, region: str) -> str:
    return f"callback-sandbox-artifacts-{account}-{region}"


def _upload_code(clients: AwsClients, bucket: str, key: str, body: bytes, dry_run: bool) -> None:
    if dry_run:
        return
    s3 = clients.s3
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        location = {} if clients.region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": clients.region}}
        s3.create_bucket(Bucket=bucket, **location)
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def _wait_change_set(cfn, name: str, change_set: str) -> dict:
    while True:
        described = cfn.describe_change_set(StackName=name, ChangeSetName=change_set)
        if described["Status"] in ("CREATE_COMPLETE", "FAILED"):
            return described
        time.sleep(POLL_SECONDS)


def _changes(described: dict) -> list[Change]:
    out = []
    for item in described.get("Changes", []):
        rc = item.get("ResourceChange", {})
        detail = "replaced" if rc.get("Replacement") == "True" else ""
        out.append(Change(ACTIONS.get(rc.get("Action", ""), str(rc.get("Action", "")).lower()),
                          rc.get("ResourceType", "?"), rc.get("LogicalResourceId", "?"), detail))
    return out


def _no_changes(described: dict) -> bool:
    reason = described.get("StatusReason") or ""
    return "didn't contain changes" in reason or "No updates" in reason


def _wait_stack(cfn, name: str, *, deleting: bool = False) -> dict | None:
    patience = 20  # LocalStack may say CREATE_COMPLETE a moment before the outputs are there
    while True:
        stack = _describe(cfn, name)
        status = (stack or {}).get("StackStatus", "DELETE_COMPLETE")
        settled = deleting or not status.endswith("_COMPLETE") or (stack or {}).get("Outputs") or patience == 0
        if not status.endswith("_IN_PROGRESS") and settled:
            break
        patience -= 0 if status.endswith("_IN_PROGRESS") else 1
        time.sleep(POLL_SECONDS)
    good = ("DELETE_COMPLETE",) if deleting else ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    if status not in good:
        raise StackError(f"stack {name} ended in {status}: {_first_failure(cfn, name)}")
    return stack


def _first_failure(cfn, name: str) -> str:
    try:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    except ClientError:
        return "see the stack's events in the CloudFormation console"
    failed = [e for e in reversed(events) if e.get("ResourceStatus", "").endswith("_FAILED")]
    if not failed:
        return "see the stack's events"
    first = failed[0]
    return f"{first['LogicalResourceId']}: {first.get('ResourceStatusReason', 'failed')}"


def outputs_of(stack: dict) -> dict:
    """The stack's outputs in outputs.json's shape (the same keys a LocalStack deploy writes)."""
    by_name = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    flat: dict[str, object] = {key: by_name.get(name) for key, (name, _) in OUTPUTS.items()}
    flat["approval_timeout_seconds"] = int(str(flat["approval_timeout_seconds"]))
    flat["schedule_enabled"] = str(flat["schedule_enabled"]).lower() == "true"
    return {**nest(flat), "stack_name": stack["StackName"], "target": "cloudformation"}


def deploy(clients: AwsClients, config: DeployConfig, *, dry_run: bool = False,
           report: Callable[[str], None] = print) -> tuple[list[Change], dict | None]:
    """Create or update the stack; returns the changes and (unless a dry run) the outputs."""
    cfn, name = clients.cloudformation, stack_name(config)
    account = clients.account
    stack = _describe(cfn, name)
    if stack and stack["StackStatus"] == "ROLLBACK_COMPLETE":
        # A first create that failed leaves a stack that can only be deleted.
        report(f"Removing {name}, left in ROLLBACK_COMPLETE by a failed first deploy")
        if not dry_run:
            cfn.delete_stack(StackName=name)
            _wait_stack(cfn, name, deleting=True)
        stack = None
    creating = stack is None or stack["StackStatus"] == "REVIEW_IN_PROGRESS"
    code = functions.package()
    bucket, key = artifacts_bucket(account, clients.region), f"{name}/{hashlib.sha256(code).hexdigest()}.zip"
    _upload_code(clients, bucket, key, code, dry_run)
    body = template.dump(template.render(lambda _asset: {"S3Bucket": bucket, "S3Key": key}))
    change_set = f"callback-sandbox-{int(time.time())}"
    cfn.create_change_set(
        StackName=name, ChangeSetName=change_set, TemplateBody=body, Parameters=parameters(config),
        Capabilities=CAPABILITIES, ChangeSetType="CREATE" if creating else "UPDATE",
        Tags=[{"Key": MANAGED_TAG[0], "Value": MANAGED_TAG[1]}],
        Description="Callback Sandbox approval pipeline",
    )
    described = _wait_change_set(cfn, name, change_set)
    if described["Status"] == "FAILED" and not _no_changes(described):
        raise StackError(f"CloudFormation refused the change set: {described.get('StatusReason')}")
    changes = _changes(described)
    if dry_run or not changes:
        cfn.delete_change_set(StackName=name, ChangeSetName=change_set)
        if creating:
            cfn.delete_stack(StackName=name)  # the empty REVIEW_IN_PROGRESS stack a CREATE change set makes
        return changes, None if dry_run else outputs_of(stack or {})
    cfn.execute_change_set(StackName=name, ChangeSetName=change_set)
    deployed = _wait_stack(cfn, name)
    return changes, outputs_of(deployed or {})


def destroy(clients: AwsClients, config: DeployConfig, *, dry_run: bool = False,
            report: Callable[[str], None] = print) -> list[Change]:
    """Delete the stack and everything it made, the records in its bucket and the uploaded code included."""
    cfn, name = clients.cloudformation, stack_name(config)
    stack = _describe(cfn, name)
    if stack is None:
        return []
    resources = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
    changes = [Change("delete", r["ResourceType"], r.get("PhysicalResourceId") or r["LogicalResourceId"])
               for r in resources]
    if dry_run:
        return changes
    bucket = next((r.get("PhysicalResourceId") for r in resources if r["LogicalResourceId"] == "RecordsBucket"), None)
    if bucket:
        report(f"Emptying {bucket} (decision records)")
        try:
            empty_bucket(clients.s3, bucket)
        except ClientError as error:
            if "NoSuchBucket" not in str(error):
                raise
    report(f"Deleting stack {name}")
    cfn.delete_stack(StackName=name)
    _wait_stack(cfn, name, deleting=True)
    _delete_code(clients, name)
    return changes


def _delete_code(clients: AwsClients, name: str) -> None:
    bucket, s3 = artifacts_bucket(clients.account, clients.region), clients.s3
    try:
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{name}/").get("Contents", [])
    except ClientError:
        return
    for item in listed:
        s3.delete_object(Bucket=bucket, Key=item["Key"])
    if not s3.list_objects_v2(Bucket=bucket, MaxKeys=1).get("KeyCount"):
        s3.delete_bucket(Bucket=bucket)  # other stacks' code keeps it
