"""Helpers for the mail tests against LocalStack and the SMTP sink: unique names, the SNS email subscription a
test sends to, and a marker mail that proves the relay has sent everything queued before it."""

from __future__ import annotations

import uuid

from localstack_support import ReceivedMail, SmtpSink

SENDER = "sender@example.com"
CONFIRMATION_SUBJECT = "AWS Notification - Subscription Confirmation"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def subscribe_email(sns, protocol: str = "email", **kwargs) -> tuple[str, str]:
    """A new topic with an email subscription of a new address; returns (topic ARN, address)."""
    topic_arn = sns.create_topic(Name=unique("topic"))["TopicArn"]
    address = f"{unique('approver')}@example.com"
    sns.subscribe(TopicArn=topic_arn, Protocol=protocol, Endpoint=address, **kwargs)
    return topic_arn, address


def confirmation_to(address: str):
    return lambda m: address in m.recipients and m.subject == CONFIRMATION_SUBJECT


def notification_to(address: str):
    return lambda m: address in m.recipients and m.subject != CONFIRMATION_SUBJECT


def flush_relay(ses, smtp_sink: SmtpSink) -> ReceivedMail:
    """Send a marker mail and wait for it: the relay delivers in order, so whatever it sent before is in too."""
    marker = unique("marker")
    ses.send_email(
        Source=SENDER,
        Destination={"ToAddresses": ["marker@example.com"]},
        Message={"Subject": {"Data": marker}, "Body": {"Text": {"Data": "marker"}}},
    )
    return smtp_sink.wait_for(lambda m: m.subject == marker)
