"""The verification queue and its dead-letter queue."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from bootstrap.changes import Changes, is_not_found


def _queue_url(client, name: str) -> str | None:
    try:
        return client.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as error:
        if is_not_found(error):
            return None
        raise


def ensure_queue(client, name: str, attributes: dict[str, str], changes: Changes, *, placeholder_url: str) -> str:
    """Get or create the queue with these attributes; returns its URL."""
    url = _queue_url(client, name)
    if url is None:
        if changes.apply("create", "sqs queue", name):
            url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        return url or placeholder_url
    current = client.get_queue_attributes(QueueUrl=url, AttributeNames=list(attributes))["Attributes"]
    differing = {k: v for k, v in attributes.items() if _normalise(k, current.get(k)) != _normalise(k, v)}
    if differing and changes.apply("update", "sqs queue", name, ", ".join(sorted(differing))):
        client.set_queue_attributes(QueueUrl=url, Attributes=differing)
    return url


def _normalise(key: str, value: str | None) -> object:
    if key == "RedrivePolicy" and value:
        policy = json.loads(value)
        return {k: str(v) for k, v in policy.items()}
    return value


def redrive_policy(dlq_arn: str, max_receive_count: int) -> str:
    return json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)})


def delete_queue(client, name: str, changes: Changes) -> None:
    url = _queue_url(client, name)
    if url and changes.apply("delete", "sqs queue", name):
        client.delete_queue(QueueUrl=url)
