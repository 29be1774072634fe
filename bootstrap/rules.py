"""EventBridge rules that start the workflow: a schedule, and manual requests sent with PutEvents."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from bootstrap.changes import Changes, is_not_found

TARGET_ID = "WaitForCallback"


def manual_request_pattern(source: str, detail_type: str) -> dict:
    return {"source": [source], "detail-type": [detail_type]}


def _describe(client, name: str) -> dict | None:
    try:
        return client.describe_rule(Name=name)
    except ClientError as error:
        if is_not_found(error):
            return None
        raise


def ensure_rule(client, name: str, *, description: str, target_arn: str, role_arn: str, changes: Changes,
                arn: str, pattern: dict | None = None, schedule: str | None = None, enabled: bool = True) -> str:
    """Get or create the rule and its one target (the state machine); the execution gets the whole event."""
    wanted = {
        "Name": name,
        "Description": description,
        "State": "ENABLED" if enabled else "DISABLED",
        **({"EventPattern": json.dumps(pattern)} if pattern else {}),
        **({"ScheduleExpression": schedule} if schedule else {}),
    }
    current = _describe(client, name)
    if current is None:
        if not changes.apply("create", "events rule", name, wanted["State"].lower()):
            return arn
        arn = client.put_rule(**wanted)["RuleArn"]
    else:
        differing = [k for k in ("Description", "State", "ScheduleExpression") if current.get(k) != wanted.get(k)]
        if pattern and json.loads(current.get("EventPattern") or "null") != pattern:
            differing.append("EventPattern")
        if differing and changes.apply("update", "events rule", name, ", ".join(differing)):
            client.put_rule(**wanted)
        arn = current["Arn"]

    target = {"Id": TARGET_ID, "Arn": target_arn, "RoleArn": role_arn}
    targets = client.list_targets_by_rule(Rule=name).get("Targets", []) if current else []
    if [{k: t.get(k) for k in target} for t in targets] != [target] and (
        current is None or changes.apply("update", "events rule", name, "target")
    ):
        stale = [t["Id"] for t in targets if t["Id"] != TARGET_ID]
        if stale:
            client.remove_targets(Rule=name, Ids=stale)
        client.put_targets(Rule=name, Targets=[target])
    return arn


def delete_rule(client, name: str, changes: Changes) -> None:
    if _describe(client, name) is None or not changes.apply("delete", "events rule", name):
        return
    targets = client.list_targets_by_rule(Rule=name).get("Targets", [])
    if targets:
        client.remove_targets(Rule=name, Ids=[t["Id"] for t in targets])
    client.delete_rule(Name=name)
