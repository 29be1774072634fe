"""SANDBOX_SNS_EMAIL_CONFIRMATION=required: email subscriptions behave exactly as on AWS. Subscribe answers
"pending confirmation", the subscription receives nothing until its confirmation link is opened (or
ConfirmSubscription is called with the mail's token), and then it does. Runs its own LocalStack with the setting."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
from localstack_support import LocalStackSandbox, SmtpSink, running_localstack
from mail_support import SENDER, confirmation_to, flush_relay, notification_to, unique

CONFIRM_LINK = re.compile(r"http://\S+/_sandbox/sns/confirmation\.html\?\S+")


@pytest.fixture(scope="module")
def required_localstack(tmp_path_factory: pytest.TempPathFactory, smtp_sink: SmtpSink) -> Iterator[LocalStackSandbox]:
    with running_localstack(tmp_path_factory.mktemp("localstack-required"), smtp_sink.port,
                            {"SANDBOX_SNS_EMAIL_CONFIRMATION": "required"}) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def sns(required_localstack):
    return required_localstack.client("sns")


@pytest.fixture(scope="module")
def ses(required_localstack):
    client = required_localstack.client("ses")
    client.verify_email_address(EmailAddress=SENDER)
    return client


def confirmation_link(smtp_sink: SmtpSink, address: str, nth: int = 1) -> str:
    smtp_sink.wait_for(lambda m: len(smtp_sink.matching(confirmation_to(address))) >= nth)
    mail = smtp_sink.matching(confirmation_to(address))[nth - 1]
    return CONFIRM_LINK.search(mail.body("plain") or "").group(0)


def nothing_arrives(ses, smtp_sink: SmtpSink, subject: str) -> bool:
    flush_relay(ses, smtp_sink)
    return smtp_sink.matching(lambda m: m.subject == subject) == []


def test_a_subscription_receives_nothing_until_its_link_is_opened(sns, ses, smtp_sink):
    topic_arn = sns.create_topic(Name=unique("approvals"))["TopicArn"]
    address = f"{unique('approver')}@example.com"

    assert sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=address)["SubscriptionArn"] == (
        "pending confirmation"
    )
    link = confirmation_link(smtp_sink, address)
    [listed] = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    assert listed["SubscriptionArn"] == "PendingConfirmation"

    early = unique("Before confirming")
    sns.publish(TopicArn=topic_arn, Subject=early, Message="dropped, as AWS drops it")
    assert nothing_arrives(ses, smtp_sink, early)

    page = requests.get(link, timeout=10)
    assert page.status_code == 200 and "Subscription confirmed!" in page.text

    later = unique("After confirming")
    sns.publish(TopicArn=topic_arn, Subject=later, Message="delivered")
    assert smtp_sink.wait_for(lambda m: m.subject == later).recipients == [address]
    assert smtp_sink.matching(lambda m: m.subject == early) == []


def test_confirm_subscription_with_the_token_from_the_mail(sns, smtp_sink):
    topic_arn = sns.create_topic(Name=unique("reports"))["TopicArn"]
    address = f"{unique('reader')}@example.com"
    arn = sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=address, ReturnSubscriptionArn=True)[
        "SubscriptionArn"
    ]
    assert arn.startswith(f"{topic_arn}:")
    token = re.search(r"Token=(\w+)", confirmation_link(smtp_sink, address)).group(1)

    assert sns.confirm_subscription(TopicArn=topic_arn, Token=token)["SubscriptionArn"] == arn

    sns.publish(TopicArn=topic_arn, Message="now delivered")
    assert "now delivered" in smtp_sink.wait_for(notification_to(address)).body()


def test_subscribing_again_while_pending_sends_the_confirmation_again(sns, smtp_sink):
    topic_arn = sns.create_topic(Name=unique("alerts"))["TopicArn"]
    address = f"{unique('oncall')}@example.com"
    sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=address)
    first = confirmation_link(smtp_sink, address)

    sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=address)

    assert confirmation_link(smtp_sink, address, nth=2) == first
    assert len(sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]) == 1
