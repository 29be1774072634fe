"""AWS::Logs::LogGroup: each function's log group, created with a retention so logs do not pile up."""

from __future__ import annotations

from bootstrap.changes import is_managed, require_managed
from bootstrap.engine import Context, Handler, Result, new

KIND = "log group"


def predict(ctx: Context, p: dict) -> Result:
    return Result(p["LogGroupName"], {"Arn": ctx.account.arn("logs", f"log-group:{p['LogGroupName']}:*")})


def _find(client, name: str) -> dict | None:
    groups = client.describe_log_groups(logGroupNamePrefix=name).get("logGroups", [])
    return next((g for g in groups if g["logGroupName"] == name), None)


def ensure(ctx: Context, p: dict, _deps_changed: bool) -> Result:
    logs, name, retention = ctx.clients.logs, p["LogGroupName"], p["RetentionInDays"]
    group = None if ctx.empty else _find(logs, name)
    if group is None:
        if not ctx.changes.apply("create", KIND, name):
            return new(predict(ctx, p))
        logs.create_log_group(logGroupName=name, tags=ctx.tags)
        logs.put_retention_policy(logGroupName=name, retentionInDays=retention)
        return predict(ctx, p)
    require_managed(logs.list_tags_log_group(logGroupName=name).get("tags", {}), KIND, name)
    if group.get("retentionInDays") != retention and ctx.changes.apply("update", KIND, name, "retention"):
        logs.put_retention_policy(logGroupName=name, retentionInDays=retention)
    return predict(ctx, p)


def delete(ctx: Context, p: dict) -> None:
    logs, name = ctx.clients.logs, p["LogGroupName"]
    if _find(logs, name) and is_managed(logs.list_tags_log_group(logGroupName=name).get("tags", {})) and \
            ctx.changes.apply("delete", KIND, name):
        logs.delete_log_group(logGroupName=name)


HANDLER = Handler(KIND, "LogGroupName", predict, ensure, delete)
