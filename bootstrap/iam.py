"""AWS::IAM::Role: one role per component, with one inline least-privilege policy (policies.py)."""

from __future__ import annotations

import json
from urllib.parse import unquote

from botocore.exceptions import ClientError

from bootstrap.changes import is_managed, is_not_found, require_managed
from bootstrap.engine import Context, Handler, Result, new

KIND = "iam role"


def _as_dict(document: object) -> dict:
    """IAM returns policy documents URL-encoded; boto3 decodes some of them to dicts, not all."""
    if isinstance(document, dict):
        return document
    return json.loads(unquote(str(document)))


def predict(ctx: Context, p: dict) -> Result:
    return Result(p["RoleName"], {"Arn": ctx.account.role(p["RoleName"])})


def _get(client, name: str) -> dict | None:
    try:
        return client.get_role(RoleName=name)["Role"]
    except ClientError as error:
        if is_not_found(error):
            return None
        raise


def ensure(ctx: Context, p: dict, _deps_changed: bool) -> Result:
    """Get or create the role, and make its trust and inline policy exactly the declared ones."""
    iam, name, trust = ctx.clients.iam, p["RoleName"], p["AssumeRolePolicyDocument"]
    (policy,) = p["Policies"]
    role = None if ctx.empty else _get(iam, name)
    if role is None:
        if not ctx.changes.apply("create", KIND, name):
            return new(predict(ctx, p))
        arn = iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Description="Callback Sandbox approval pipeline",
            Tags=[{"Key": k, "Value": v} for k, v in ctx.tags.items()],
        )["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName=policy["PolicyName"],
                            PolicyDocument=json.dumps(policy["PolicyDocument"]))
        return Result(name, {"Arn": arn})
    require_managed(role.get("Tags", []), KIND, name)
    if _as_dict(role["AssumeRolePolicyDocument"]) != trust and ctx.changes.apply("update", KIND, name,
                                                                                 "trust policy"):
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
    try:
        current = _as_dict(iam.get_role_policy(RoleName=name, PolicyName=policy["PolicyName"])["PolicyDocument"])
    except ClientError as error:
        if not is_not_found(error):
            raise
        current = None
    if current != policy["PolicyDocument"] and ctx.changes.apply("update", KIND, name, "permissions"):
        iam.put_role_policy(RoleName=name, PolicyName=policy["PolicyName"],
                            PolicyDocument=json.dumps(policy["PolicyDocument"]))
    return Result(name, {"Arn": role["Arn"]})


def delete(ctx: Context, p: dict) -> None:
    iam, name = ctx.clients.iam, p["RoleName"]
    role = _get(iam, name)
    if role is None or not is_managed(role.get("Tags", [])) or not ctx.changes.apply("delete", KIND, name):
        return
    for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
    iam.delete_role(RoleName=name)


HANDLER = Handler(KIND, "RoleName", predict, ensure, delete)
