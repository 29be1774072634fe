"""AWS::SNS::Topic and AWS::SNS::Subscription: the topic that emails the approver."""

from __future__ import annotations

from botocore.exceptions import ClientError

from bootstrap.changes import is_managed, is_not_found, require_managed
from bootstrap.engine import Context, Handler, Result, new

TOPIC, SUBSCRIPTION = "sns topic", "sns subscription"


def predict_topic(ctx: Context, p: dict) -> Result:
    return Result(ctx.account.topic(p["TopicName"]), {"TopicName": p["TopicName"]})


def _topic_tags(client, arn: str) -> list | None:
    try:
        client.get_topic_attributes(TopicArn=arn)
    except ClientError as error:
        if is_not_found(error):
            return None
        raise
    return client.list_tags_for_resource(ResourceArn=arn).get("Tags", [])


def ensure_topic(ctx: Context, p: dict, _deps_changed: bool) -> Result:
    sns, result = ctx.clients.sns, predict_topic(ctx, p)
    tags = None if ctx.empty else _topic_tags(sns, str(result.ref))
    if tags is None:
        if not ctx.changes.apply("create", TOPIC, p["TopicName"]):
            return new(result)
        sns.create_topic(Name=p["TopicName"], Tags=[{"Key": k, "Value": v} for k, v in ctx.tags.items()])
    else:
        require_managed(tags, TOPIC, p["TopicName"])
    return result


def _subscriptions(client, topic_arn: str) -> list[dict]:
    out: list[dict] = []
    for page in client.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
        out += page.get("Subscriptions", [])
    return out


def _unsubscribe(client, subscription: dict) -> None:
    # A subscription still pending confirmation has no ARN to unsubscribe by; AWS drops it after three days.
    if subscription["SubscriptionArn"].startswith("arn:"):
        client.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])


def predict_subscription(ctx: Context, p: dict) -> Result:
    return Result(f"{p['TopicArn']}:(subscription)")


def ensure_subscription(ctx: Context, p: dict, _deps_changed: bool) -> Result:
    """Exactly one subscription on the (demo's own) topic: this endpoint; others are removed."""
    sns = ctx.clients.sns
    existing = [] if ctx.empty else _subscriptions(sns, p["TopicArn"])
    mine = [s for s in existing if (s["Protocol"], s["Endpoint"]) == (p["Protocol"], p["Endpoint"])]
    stale = [s for s in existing if s not in mine]
    for subscription in stale:
        if ctx.changes.apply("delete", SUBSCRIPTION, subscription["Endpoint"]):
            _unsubscribe(sns, subscription)
    if any(not s["SubscriptionArn"].startswith("arn:") for s in stale) and not ctx.changes.dry_run:
        # A stale subscription still pending confirmation has no ARN to unsubscribe by: a fresh topic (same name,
        # same ARN) drops it.
        sns.delete_topic(TopicArn=p["TopicArn"])
        sns.create_topic(Name=p["TopicArn"].rsplit(":", 1)[-1],
                         Tags=[{"Key": k, "Value": v} for k, v in ctx.tags.items()])
        mine = []
    if mine:
        return Result(mine[0]["SubscriptionArn"])
    if not ctx.changes.apply("create", SUBSCRIPTION, p["Endpoint"]):
        return new(predict_subscription(ctx, p))
    answer = sns.subscribe(TopicArn=p["TopicArn"], Protocol=p["Protocol"], Endpoint=p["Endpoint"],
                           ReturnSubscriptionArn=True)
    return Result(answer["SubscriptionArn"])


def delete_subscription(ctx: Context, p: dict) -> None:
    sns = ctx.clients.sns
    tags = _topic_tags(sns, p["TopicArn"])
    if tags is None or not is_managed(tags):
        return
    for subscription in _subscriptions(sns, p["TopicArn"]):
        if ctx.changes.apply("delete", SUBSCRIPTION, subscription["Endpoint"]):
            _unsubscribe(sns, subscription)


def delete_topic(ctx: Context, p: dict) -> None:
    sns, arn = ctx.clients.sns, str(predict_topic(ctx, p).ref)
    tags = _topic_tags(sns, arn)
    if tags is not None and is_managed(tags) and ctx.changes.apply("delete", TOPIC, p["TopicName"]):
        for subscription in _subscriptions(sns, arn):  # LocalStack keeps them when the topic goes
            _unsubscribe(sns, subscription)
        sns.delete_topic(TopicArn=arn)


TOPIC_HANDLER = Handler(TOPIC, "TopicName", predict_topic, ensure_topic, delete_topic)
SUBSCRIPTION_HANDLER = Handler(SUBSCRIPTION, "Endpoint", predict_subscription, ensure_subscription,
                               delete_subscription)
