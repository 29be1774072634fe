"""The WaitForCallback state machine resource (its definition is in definition.py)."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from bootstrap.changes import Changes, is_not_found


def _describe(client, arn: str) -> dict | None:
    try:
        return client.describe_state_machine(stateMachineArn=arn)
    except ClientError as error:
        if is_not_found(error) or "DoesNotExist" in str(error):
            return None
        raise


def ensure_state_machine(client, name: str, definition: dict, role_arn: str, changes: Changes, *, arn: str) -> str:
    current = _describe(client, arn)
    if current is None:
        if not changes.apply("create", "state machine", name):
            return arn
        return client.create_state_machine(
            name=name, definition=json.dumps(definition, indent=2), roleArn=role_arn, type="STANDARD"
        )["stateMachineArn"]
    differing = []
    if json.loads(current["definition"]) != definition:
        differing.append("definition")
    if current.get("roleArn") != role_arn:
        differing.append("role")
    if differing and changes.apply("update", "state machine", name, ", ".join(differing)):
        client.update_state_machine(
            stateMachineArn=arn, definition=json.dumps(definition, indent=2), roleArn=role_arn
        )
    return current["stateMachineArn"]


def delete_state_machine(client, arn: str, name: str, changes: Changes) -> None:
    if _describe(client, arn) is not None and changes.apply("delete", "state machine", name):
        client.delete_state_machine(stateMachineArn=arn)
