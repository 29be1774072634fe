"""The mail relay against a real LocalStack and a real SMTP server: SES sends and SNS email subscriptions arrive
over SMTP, with the SNS Publish subject, and nothing is lost while the SMTP server is down."""

from __future__ import annotations

import time
from email.message import EmailMessage

import pytest
import requests
from mail_support import SENDER, confirmation_to, flush_relay, notification_to, subscribe_email, unique


@pytest.fixture(scope="module")
def ses(localstack):
    client = localstack.client("ses")
    client.verify_email_address(EmailAddress=SENDER)
    return client


@pytest.fixture(scope="module")
def sns(localstack):
    return localstack.client("sns")


def test_sns_email_subscription_arrives_with_the_publish_subject(sns, smtp_sink):
    topic_arn, address = subscribe_email(sns)
    subject = unique("Approval needed")

    sns.publish(TopicArn=topic_arn, Subject=subject, Message="Please approve request 42.")

    mail = smtp_sink.wait_for(notification_to(address))
    assert mail.subject == subject
    assert "Please approve request 42." in mail.body()
    assert "no-reply@sns.amazonaws.com" in str(mail.message["From"])
    assert mail.message["To"] == address


def test_sns_email_without_subject_gets_aws_default_subject(sns, smtp_sink):
    topic_arn, address = subscribe_email(sns)

    sns.publish(TopicArn=topic_arn, Message="no subject here")

    mail = smtp_sink.wait_for(notification_to(address))
    assert mail.subject == "AWS Notification Message"


def test_sns_email_json_subscription_carries_the_subject(sns, smtp_sink):
    topic_arn, address = subscribe_email(sns, protocol="email-json")
    subject = unique("Json subject")

    sns.publish(TopicArn=topic_arn, Subject=subject, Message="machine readable")

    mail = smtp_sink.wait_for(notification_to(address))
    assert mail.subject == subject
    assert '"Subject": "' + subject in mail.body() and "machine readable" in mail.body()


def test_ses_send_email_with_html_and_text_arrives_with_both_parts(ses, smtp_sink):
    to, cc, bcc = (f"{unique(who)}@example.com" for who in ("to", "cc", "bcc"))
    subject = unique("Your request")

    message_id = ses.send_email(
        Source=SENDER,
        Destination={"ToAddresses": [to], "CcAddresses": [cc], "BccAddresses": [bcc]},
        Message={
            "Subject": {"Data": subject},
            "Body": {
                "Text": {"Data": "Plain text: approve at http://example.test/a"},
                "Html": {"Data": "<p>HTML: <a href='http://example.test/a'>approve</a></p>"},
            },
        },
        ReplyToAddresses=["replies@example.com"],
    )["MessageId"]

    mail = smtp_sink.wait_for(lambda m: m.subject == subject)
    assert mail.message.get_content_type() == "multipart/alternative"
    assert mail.body("plain").strip() == "Plain text: approve at http://example.test/a"
    assert "<a href='http://example.test/a'>approve</a>" in mail.body("html")
    assert sorted(mail.recipients) == sorted([to, cc, bcc])
    assert "Bcc" not in mail.message and mail.message["Cc"] == cc
    assert mail.message["Reply-To"] == "replies@example.com"
    assert mail.message["Message-ID"] == f"<{message_id}@email.amazonses.com>"
    assert mail.mail_from == SENDER


def test_ses_send_raw_email_arrives_unchanged(ses, smtp_sink):
    subject = unique("Raw")
    raw = EmailMessage()
    raw["From"], raw["To"], raw["Subject"] = SENDER, "raw-recipient@example.com", subject
    raw["X-Custom"] = "kept"
    raw.set_content("raw body")

    ses.send_raw_email(RawMessage={"Data": raw.as_bytes()})

    mail = smtp_sink.wait_for(lambda m: m.subject == subject)
    assert mail.recipients == ["raw-recipient@example.com"]
    assert mail.message["X-Custom"] == "kept"
    assert mail.body().strip() == "raw body"


def test_ses_send_templated_email_arrives_rendered(ses, smtp_sink):
    template = unique("tpl")
    ses.create_template(
        Template={
            "TemplateName": template,
            "SubjectPart": "Hello {{name}} " + template,
            "TextPart": "Dear {{name}}, text.",
            "HtmlPart": "<b>Dear {{name}}</b>",
        }
    )

    ses.send_templated_email(
        Source=SENDER,
        Destination={"ToAddresses": ["templated@example.com"]},
        Template=template,
        TemplateData='{"name": "Ada"}',
    )

    mail = smtp_sink.wait_for(lambda m: m.subject == f"Hello Ada {template}")
    assert mail.body("plain").strip() == "Dear Ada, text."
    assert mail.body("html").strip() == "<b>Dear Ada</b>"


def wait_until(condition, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not met within {timeout:.0f} s")


def test_mail_published_while_smtp_is_down_arrives_once_it_is_back(localstack, sns, ses, smtp_sink):
    topic_arn, address = subscribe_email(sns)
    subject = unique("Sent while down")
    # The subscription's confirmation mail goes first; once it is in, the relay's queue is empty.
    smtp_sink.wait_for(confirmation_to(address))

    smtp_sink.stop()
    try:
        sns.publish(TopicArn=topic_arn, Subject=subject, Message="queued, not lost")
        # LocalStack keeps SES mail for inspection; its id lets us see the relay fail against the down server.
        message_id = wait_until(
            lambda: next(
                (
                    m["Id"]
                    for m in requests.get(f"{localstack.endpoint_url}/_aws/ses", timeout=5).json()["messages"]
                    if m.get("Subject") == subject
                ),
                None,
            ),
            what="SNS mail in LocalStack's SES store",
        )
        wait_until(
            lambda: f"Mail {message_id} not delivered yet" in localstack.log_path.read_text(errors="replace"),
            what="a failed delivery attempt in LocalStack's log",
        )
        assert smtp_sink.matching(lambda m: m.subject == subject) == []
    finally:
        smtp_sink.start()

    mail = smtp_sink.wait_for(lambda m: m.subject == subject, timeout=60)
    assert address in mail.recipients
    # The relay delivers in order: once a later marker mail is in, a duplicate of the first would be too.
    flush_relay(ses, smtp_sink)
    assert len(smtp_sink.matching(lambda m: m.subject == subject)) == 1


def test_failed_ses_call_relays_nothing(ses, smtp_sink):
    subject = unique("Unverified")
    with pytest.raises(ses.exceptions.MessageRejected):
        ses.send_email(
            Source="not-verified@example.org",
            Destination={"ToAddresses": ["x@example.com"]},
            Message={"Subject": {"Data": subject}, "Body": {"Text": {"Data": "nope"}}},
        )
    flush_relay(ses, smtp_sink)
    assert smtp_sink.matching(lambda m: m.subject == subject) == []
