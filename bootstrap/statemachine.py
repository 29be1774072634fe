"""AWS::StepFunctions::StateMachine: the WaitForCallback state machine (its definition is in definition.py)."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from bootstrap.changes import is_managed, is_not_found, require_managed
from bootstrap.engine import Context, Handler, Result, new

KIND = "state machine"


def predict(ctx: Context, p: dict) -> Result:
    return Result(ctx.account.state_machine(p["StateMachineName"]), {"Name": p["StateMachineName"]})


def describe(client, arn: str) -> dict | None:
    try:
        return client.describe_state_machine(stateMachineArn=arn)
    except ClientError as error:
        if is_not_found(error) or "DoesNotExist" in str(error):
            return None
        raise


def tags(client, arn: str) -> list:
    return client.list_tags_for_resource(resourceArn=arn).get("tags", [])


def ensure(ctx: Context, p: dict, _deps_changed: bool) -> Result:
    sfn, name, result = ctx.clients.stepfunctions, p["StateMachineName"], predict(ctx, p)
    arn, definition = str(result.ref), p["DefinitionString"]
    current = None if ctx.empty else describe(sfn, arn)
    if current is None:
        if not ctx.changes.apply("create", KIND, name):
            return new(result)
        sfn.create_state_machine(name=name, definition=definition, roleArn=p["RoleArn"], type=p["StateMachineType"],
                                 tags=[{"key": k, "value": v} for k, v in ctx.tags.items()])
        return result
    require_managed(tags(sfn, arn), KIND, name)
    differing = []
    if json.loads(current["definition"]) != json.loads(definition):
        differing.append("definition")
    if current.get("roleArn") != p["RoleArn"]:
        differing.append("role")
    if differing and ctx.changes.apply("update", KIND, name, ", ".join(differing)):
        sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=p["RoleArn"])
    return result


def delete(ctx: Context, p: dict) -> None:
    sfn, arn = ctx.clients.stepfunctions, str(predict(ctx, p).ref)
    if describe(sfn, arn) and is_managed(tags(sfn, arn)) and ctx.changes.apply("delete", KIND, p["StateMachineName"]):
        sfn.delete_state_machine(stateMachineArn=arn)


HANDLER = Handler(KIND, "StateMachineName", predict, ensure, delete)
