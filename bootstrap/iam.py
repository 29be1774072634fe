"""IAM roles with one inline policy each."""

from __future__ import annotations

import json
from urllib.parse import unquote

from botocore.exceptions import ClientError

from bootstrap.changes import Changes, is_not_found

POLICY_NAME = "least-privilege"


def _as_dict(document: object) -> dict:
    """IAM returns policy documents URL-encoded; boto3 decodes some of them to dicts, not all."""
    if isinstance(document, dict):
        return document
    return json.loads(unquote(str(document)))


def ensure_role(client, name: str, trust_policy: dict, policy: dict, changes: Changes, *, arn: str) -> str:
    """Get or create the role, and make its trust and inline policy exactly the given ones."""
    try:
        role = client.get_role(RoleName=name)["Role"]
    except ClientError as error:
        if not is_not_found(error):
            raise
        if changes.apply("create", "iam role", name):
            arn = client.create_role(
                RoleName=name, AssumeRolePolicyDocument=json.dumps(trust_policy),
                Description="Callback Sandbox approval pipeline",
            )["Role"]["Arn"]
            client.put_role_policy(RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(policy))
        return arn

    if _as_dict(role["AssumeRolePolicyDocument"]) != trust_policy and changes.apply("update", "iam role", name,
                                                                                     "trust policy"):
        client.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust_policy))
    try:
        current = _as_dict(client.get_role_policy(RoleName=name, PolicyName=POLICY_NAME)["PolicyDocument"])
    except ClientError as error:
        if not is_not_found(error):
            raise
        current = None
    if current != policy and changes.apply("update", "iam role", name, "permissions"):
        client.put_role_policy(RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(policy))
    return role["Arn"]


def delete_role(client, name: str, changes: Changes) -> None:
    try:
        policies = client.list_role_policies(RoleName=name)["PolicyNames"]
    except ClientError as error:
        if is_not_found(error):
            return
        raise
    if not changes.apply("delete", "iam role", name):
        return
    for policy_name in policies:
        client.delete_role_policy(RoleName=name, PolicyName=policy_name)
    client.delete_role(RoleName=name)
