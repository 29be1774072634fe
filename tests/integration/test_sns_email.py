"""SNS email subscriptions as AWS runs them, against a real LocalStack and a real SMTP server, in the default
mode (SANDBOX_SNS_EMAIL_CONFIRMATION=auto): AWS's confirmation mail arrives and its link confirms; notifications
carry AWS's unsubscribe footer and its link really removes the subscription; email-json carries AWS's JSON."""

from __future__ import annotations

import json
import re

import pytest
import requests
from mail_support import (
    SENDER,
    confirmation_to,
    flush_relay,
    notification_to,
    subscribe_email,
    unique,
)
from sandbox_localstack.mail import SNS_SENDER_ADDRESS

LINK = re.compile(r"http://\S+")


@pytest.fixture(scope="module")
def sns(localstack):
    return localstack.client("sns")


@pytest.fixture(scope="module")
def ses(localstack):
    client = localstack.client("ses")
    client.verify_email_address(EmailAddress=SENDER)
    return client


def link_in(text: str, page: str) -> str:
    links = [link for link in LINK.findall(text) if f"/_sandbox/sns/{page}" in link]
    assert len(links) == 1, text
    return links[0]


def text(mail, subtype: str = "plain") -> str:
    """A part's text with the SMTP line ends (CRLF) as Python's."""
    return (mail.body(subtype) or "").replace("\r\n", "\n")


def subscriptions(sns, topic_arn: str) -> list[dict]:
    return sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]


def test_subscribing_sends_awss_confirmation_mail_and_its_link_confirms(localstack, sns, smtp_sink):
    topic_arn = sns.create_topic(Name=unique("orders"), Attributes={"DisplayName": "Orders"})["TopicArn"]
    address = f"{unique('buyer')}@example.com"
    subscription_arn = sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=address)["SubscriptionArn"]

    mail = smtp_sink.wait_for(confirmation_to(address))
    assert str(mail.message["From"]) == "Orders <no-reply@sns.amazonaws.com>"
    assert mail.message.get_content_type() == "multipart/alternative"
    body = text(mail)
    assert body.startswith(f"You have chosen to subscribe to the topic: \n{topic_arn}\n")
    link = link_in(body, "confirmation.html")
    assert link.startswith(f"{localstack.endpoint_url}/_sandbox/sns/confirmation.html?TopicArn={topic_arn}&Token=")
    assert ">Confirm subscription</a>" in mail.body("html")

    page = requests.get(link, timeout=10)
    assert page.status_code == 200
    assert "<h1>Subscription confirmed!</h1>" in page.text and subscription_arn in page.text
    assert page.headers["X-Frame-Options"] == "DENY" and "default-src 'none'" in page.headers[
        "Content-Security-Policy"]
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription_arn)["Attributes"]
    assert attributes["PendingConfirmation"] == "false"
    # Opening it again (a mail scanner, a second click) changes nothing.
    assert requests.get(link, timeout=10).status_code == 200


def test_confirm_subscription_with_the_mails_token_works(sns, smtp_sink):
    topic_arn, address = subscribe_email(sns)
    link = link_in(text(smtp_sink.wait_for(confirmation_to(address))), "confirmation.html")
    token = re.search(r"Token=(\w+)", link).group(1)

    arn = sns.confirm_subscription(TopicArn=topic_arn, Token=token)["SubscriptionArn"]

    assert [s["SubscriptionArn"] for s in subscriptions(sns, topic_arn)] == [arn]


def test_a_notification_carries_awss_footer_and_its_link_unsubscribes(sns, ses, smtp_sink):
    topic_arn, address = subscribe_email(sns)
    sns.publish(TopicArn=topic_arn, Subject="First", Message="Please approve request 7.")

    mail = smtp_sink.wait_for(notification_to(address))
    message, footer = text(mail).split("\n\n--\n", 1)
    assert message == "Please approve request 7."
    assert footer.startswith("If you wish to stop receiving notifications from this topic, please click or visit "
                             "the link below to unsubscribe:\n")
    page = requests.get(link_in(footer, "unsubscribe.html"), timeout=10)
    assert page.status_code == 200 and "<h1>Subscription removed!</h1>" in page.text and address in page.text
    assert subscriptions(sns, topic_arn) == []

    later = unique("After unsubscribe")
    sns.publish(TopicArn=topic_arn, Subject=later, Message="must not arrive")
    flush_relay(ses, smtp_sink)
    assert smtp_sink.matching(lambda m: m.subject == later) == []
    # The link again: the subscription is gone.
    assert requests.get(link_in(footer, "unsubscribe.html"), timeout=10).status_code == 404


def test_email_json_gets_awss_json_with_token_and_working_urls(sns, smtp_sink):
    topic_arn, address = subscribe_email(sns, protocol="email-json")

    confirmation = json.loads(smtp_sink.wait_for(confirmation_to(address)).body())
    assert confirmation["Type"] == "SubscriptionConfirmation" and confirmation["TopicArn"] == topic_arn
    assert confirmation["Message"].startswith(f"You have chosen to subscribe to the topic {topic_arn}.")
    confirmed = requests.get(confirmation["SubscribeURL"], timeout=10)
    assert confirmed.status_code == 200 and "<ConfirmSubscriptionResponse" in confirmed.text

    sns.publish(TopicArn=topic_arn, Message="machine readable")
    notification = json.loads(smtp_sink.wait_for(notification_to(address)).body())
    assert notification["Type"] == "Notification" and notification["Message"] == "machine readable"
    assert requests.get(notification["UnsubscribeURL"], timeout=10).status_code == 200
    assert subscriptions(sns, topic_arn) == []


def test_notifications_still_arrive_after_the_sns_sender_identity_is_deleted(sns, ses, smtp_sink):
    """The plugin verifies SNS's sender in SES once; a user deleting that identity must not stop SNS email."""
    topic_arn, address = subscribe_email(sns)
    sns.publish(TopicArn=topic_arn, Subject=unique("before"), Message="one")
    smtp_sink.wait_for(notification_to(address))

    ses.delete_identity(Identity=SNS_SENDER_ADDRESS)
    assert SNS_SENDER_ADDRESS not in ses.list_identities()["Identities"]
    after = unique("after")
    sns.publish(TopicArn=topic_arn, Subject=after, Message="two")
    assert smtp_sink.wait_for(lambda m: m.subject == after).body().strip().startswith("two")
    assert SNS_SENDER_ADDRESS in ses.list_identities()["Identities"]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("confirmation.html", 400),
        ("confirmation.html?TopicArn=arn:aws:sns:us-east-1:000000000000:t&Token=<script>", 400),
        ("confirmation.html?TopicArn=arn:aws:sns:us-east-1:000000000000:nope&Token=75732d656173742d312f00", 404),
        ("confirmation.html?TopicArn=not-an-arn&Token=abc", 400),
        ("unsubscribe.html?SubscriptionArn=arn:aws:sns:us-east-1:000000000000:t:0000-1111", 404),
        ("unsubscribe.html?SubscriptionArn=" + "a" * 5000, 400),
        ("unsubscribe.html", 400),
    ],
)
def test_bad_links_get_a_clear_4xx_page(localstack, query, status):
    answer = requests.get(f"{localstack.endpoint_url}/_sandbox/sns/{query}", timeout=10)
    assert answer.status_code == status
    assert answer.headers["Content-Type"].startswith("text/html") and "<script>" not in answer.text
    assert "Traceback" not in answer.text


def test_the_pages_answer_get_only(localstack):
    answer = requests.post(f"{localstack.endpoint_url}/_sandbox/sns/unsubscribe.html", timeout=10)
    assert answer.status_code == 405
