"""The SNS topic that emails the approver."""

from __future__ import annotations

from bootstrap.changes import Changes


def _topic_exists(client, arn: str) -> bool:
    for page in client.get_paginator("list_topics").paginate():
        if any(t["TopicArn"] == arn for t in page.get("Topics", [])):
            return True
    return False


def _email_endpoints(client, topic_arn: str) -> set[str]:
    endpoints: set[str] = set()
    for page in client.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
        endpoints |= {s["Endpoint"] for s in page.get("Subscriptions", []) if s["Protocol"] == "email"}
    return endpoints


def ensure_topic(client, name: str, approver_email: str, changes: Changes, *, arn: str) -> str:
    """Get or create the topic with exactly one email subscription: the approver."""
    exists = _topic_exists(client, arn)
    endpoints = _email_endpoints(client, arn) if exists else set()
    if exists and endpoints - {approver_email}:
        # Unconfirmed email subscriptions have no ARN to unsubscribe by, so a changed approver means a fresh
        # topic; its ARN is derived from the name and stays the same.
        if not changes.apply("update", "sns topic", name, f"approver is now {approver_email}"):
            return arn
        client.delete_topic(TopicArn=arn)
        exists, endpoints = False, set()
    if not exists:
        if not changes.apply("create", "sns topic", name):
            return arn
        arn = client.create_topic(Name=name)["TopicArn"]
    if approver_email not in endpoints and (not exists or changes.apply("create", "sns subscription", approver_email)):
        client.subscribe(TopicArn=arn, Protocol="email", Endpoint=approver_email)
    return arn


def delete_topic(client, arn: str, name: str, changes: Changes) -> None:
    if _topic_exists(client, arn) and changes.apply("delete", "sns topic", name):
        client.delete_topic(TopicArn=arn)
