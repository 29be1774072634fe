"""AWS::Events::Rule: the rules that start the workflow, a schedule and manual requests sent with PutEvents."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from bootstrap.changes import is_managed, is_not_found, require_managed
from bootstrap.engine import Context, Handler, Result, new

KIND = "events rule"


def predict(ctx: Context, p: dict) -> Result:
    return Result(p["Name"], {"Arn": ctx.account.rule(p["Name"])})


def _describe(client, name: str) -> dict | None:
    try:
        return client.describe_rule(Name=name)
    except ClientError as error:
        if is_not_found(error):
            return None
        raise


def _tags(client, arn: str) -> list:
    return client.list_tags_for_resource(ResourceARN=arn).get("Tags", [])


def ensure(ctx: Context, p: dict, _deps_changed: bool) -> Result:
    """Get or create the rule and its targets (the state machine; the execution gets the whole event)."""
    events, name, result = ctx.clients.events, p["Name"], predict(ctx, p)
    wanted = {
        "Name": name, "Description": p["Description"], "State": p["State"],
        **({"EventPattern": json.dumps(p["EventPattern"])} if "EventPattern" in p else {}),
        **({"ScheduleExpression": p["ScheduleExpression"]} if "ScheduleExpression" in p else {}),
    }
    current = None if ctx.empty else _describe(events, name)
    if current is None:
        if not ctx.changes.apply("create", KIND, name, p["State"].lower()):
            return new(result)
        events.put_rule(**wanted, Tags=[{"Key": k, "Value": v} for k, v in ctx.tags.items()])
    else:
        require_managed(_tags(events, current["Arn"]), KIND, name)
        differing = [k for k in ("Description", "State", "ScheduleExpression") if current.get(k) != wanted.get(k)]
        if "EventPattern" in p and json.loads(current.get("EventPattern") or "null") != p["EventPattern"]:
            differing.append("EventPattern")
        if differing and ctx.changes.apply("update", KIND, name, ", ".join(differing)):
            events.put_rule(**wanted)

    targets = events.list_targets_by_rule(Rule=name).get("Targets", []) if current else []
    fields = ("Id", "Arn", "RoleArn")
    if [{k: t.get(k) for k in fields} for t in targets] != p["Targets"] and (
        current is None or ctx.changes.apply("update", KIND, name, "targets")
    ):
        stale = [t["Id"] for t in targets if t["Id"] not in {w["Id"] for w in p["Targets"]}]
        if stale:
            events.remove_targets(Rule=name, Ids=stale)
        events.put_targets(Rule=name, Targets=p["Targets"])
    return result


def delete(ctx: Context, p: dict) -> None:
    events, name = ctx.clients.events, p["Name"]
    current = _describe(events, name)
    if current is None or not is_managed(_tags(events, current["Arn"])) or not ctx.changes.apply(
            "delete", KIND, name):
        return
    targets = events.list_targets_by_rule(Rule=name).get("Targets", [])
    if targets:
        events.remove_targets(Rule=name, Ids=[t["Id"] for t in targets])
    events.delete_rule(Name=name)


HANDLER = Handler(KIND, "Name", predict, ensure, delete)
