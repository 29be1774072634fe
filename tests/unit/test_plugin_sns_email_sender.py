"""SNS email's sender is verified in LocalStack's SES once, not before every email (pure logic: a fake SES that
rejects unverified senders as LocalStack's does)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from sandbox_localstack.sns_email import VerifiedSender

SENDER = "no-reply@sns.amazonaws.com"
EMAIL = {"Source": SENDER, "Destination": {"ToAddresses": ["approver@example.com"]},
         "Message": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}}


class FakeSes:
    def __init__(self) -> None:
        self.verified: set[str] = set()
        self.calls: list[str] = []

    def verify_email_address(self, EmailAddress: str) -> None:  # noqa: N803 - botocore's keyword
        self.calls.append("verify")
        self.verified.add(EmailAddress)

    def send_email(self, **email) -> None:
        self.calls.append("send")
        if email["Source"] not in self.verified:
            raise ClientError({"Error": {"Code": "MessageRejected", "Message": "not verified"}}, "SendEmail")


def test_the_sender_is_verified_once_per_account_and_region():
    ses, sender = FakeSes(), VerifiedSender()
    for _ in range(3):
        sender.send(ses, ("000000000000", "us-east-1"), SENDER, **EMAIL)
    assert ses.calls == ["verify", "send", "send", "send"]

    sender.send(ses, ("000000000000", "eu-west-1"), SENDER, **EMAIL)
    assert ses.calls[4:] == ["verify", "send"]


def test_a_sender_deleted_since_is_verified_again_and_the_email_sent():
    ses, sender = FakeSes(), VerifiedSender()
    sender.send(ses, ("000000000000", "us-east-1"), SENDER, **EMAIL)
    ses.verified.clear()  # DeleteIdentity
    sender.send(ses, ("000000000000", "us-east-1"), SENDER, **EMAIL)
    assert ses.calls == ["verify", "send", "send", "verify", "send"]


def test_other_errors_are_not_retried():
    class Throttled(FakeSes):
        def send_email(self, **email) -> None:
            self.calls.append("send")
            raise ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "SendEmail")

    ses = Throttled()
    with pytest.raises(ClientError, match="Throttling"):
        VerifiedSender().send(ses, ("000000000000", "us-east-1"), SENDER, **EMAIL)
    assert ses.calls == ["verify", "send"]
