"""AWS::SQS::Queue: the verification queue and its dead-letter queue."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from bootstrap.changes import is_managed, is_not_found, require_managed
from bootstrap.engine import Context, Handler, Result, new

KIND = "sqs queue"
ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "RedrivePolicy")


def _url(client, name: str) -> str | None:
    try:
        return client.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as error:
        if is_not_found(error):
            return None
        raise


def attributes(p: dict) -> dict[str, str]:
    """CloudFormation's properties as SQS attributes (all strings; the redrive policy as JSON)."""
    out = {k: str(p[k]) for k in ATTRIBUTES if k in p and k != "RedrivePolicy"}
    if "RedrivePolicy" in p:
        out["RedrivePolicy"] = json.dumps({k: str(v) for k, v in p["RedrivePolicy"].items()})
    return out


def _normalise(key: str, value: str | None) -> object:
    if key == "RedrivePolicy" and value:
        return {k: str(v) for k, v in json.loads(value).items()}
    return value


def predict(ctx: Context, p: dict, url: str | None = None) -> Result:
    name = p["QueueName"]
    return Result(url or f"{ctx.endpoint_url}/{ctx.account.account_id}/{name}",
                  {"Arn": ctx.account.queue(name), "QueueName": name})


def ensure(ctx: Context, p: dict, _deps_changed: bool) -> Result:
    sqs, name, wanted = ctx.clients.sqs, p["QueueName"], attributes(p)
    url = None if ctx.empty else _url(sqs, name)
    if url is None:
        if not ctx.changes.apply("create", KIND, name):
            return new(predict(ctx, p))
        url = sqs.create_queue(QueueName=name, Attributes=wanted, tags=ctx.tags)["QueueUrl"]
        return predict(ctx, p, url)
    require_managed(sqs.list_queue_tags(QueueUrl=url).get("Tags", {}), KIND, name)
    current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(wanted))["Attributes"]
    differing = {k: v for k, v in wanted.items() if _normalise(k, current.get(k)) != _normalise(k, v)}
    if differing and ctx.changes.apply("update", KIND, name, ", ".join(sorted(differing))):
        sqs.set_queue_attributes(QueueUrl=url, Attributes=differing)
    return predict(ctx, p, url)


def delete(ctx: Context, p: dict) -> None:
    sqs, name = ctx.clients.sqs, p["QueueName"]
    url = _url(sqs, name)
    if url and is_managed(sqs.list_queue_tags(QueueUrl=url).get("Tags", {})) and ctx.changes.apply(
            "delete", KIND, name):
        sqs.delete_queue(QueueUrl=url)


HANDLER = Handler(KIND, "QueueName", predict, ensure, delete)
