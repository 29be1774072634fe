"""Pure parts of SNS email subscriptions: the confirmation setting, AWS's mail texts, the links and their pages."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sandbox_localstack import sns_mail
from sandbox_localstack.sns_mail import EmailConfirmation

TOPIC = "arn:aws:sns:us-east-1:000000000000:approvals"
SUBSCRIPTION = f"{TOPIC}:0b5e7a86-2f3c-4c55-9f0e-3f6f6a0c1d2e"


@pytest.mark.parametrize(
    ("value", "mode"),
    [(None, EmailConfirmation.AUTO), ("", EmailConfirmation.AUTO), ("auto", EmailConfirmation.AUTO),
     ("required", EmailConfirmation.REQUIRED), (" Required ", EmailConfirmation.REQUIRED)],
)
def test_confirmation_setting(value, mode):
    env = {} if value is None else {sns_mail.CONFIRMATION_SETTING: value}
    assert sns_mail.confirmation_mode_from_env(env) is mode


def test_a_bad_confirmation_setting_names_the_choices():
    with pytest.raises(ValueError, match="SANDBOX_SNS_EMAIL_CONFIRMATION must be auto or required, not 'strict'"):
        sns_mail.confirmation_mode_from_env({sns_mail.CONFIRMATION_SETTING: "strict"})


def test_confirmation_link_is_path_style_on_the_gateway_and_round_trips():
    token = "75732d656173742d312f" + "ab12" * 11
    url = sns_mail.confirmation_url("http://localhost:4566/", TOPIC, token, "a+b@example.com")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "localhost:4566", "/_sandbox/sns/confirmation.html")
    assert parse_qs(parts.query) == {"TopicArn": [TOPIC], "Token": [token], "Endpoint": ["a+b@example.com"]}
    assert f"TopicArn={TOPIC}&" in url  # readable, as AWS writes it


def test_unsubscribe_link_round_trips():
    url = sns_mail.unsubscribe_url("http://localhost:4566", SUBSCRIPTION, "approver@example.com")
    parts = urlsplit(url)
    assert parts.path == "/_sandbox/sns/unsubscribe.html"
    assert parse_qs(parts.query) == {"SubscriptionArn": [SUBSCRIPTION], "Endpoint": ["approver@example.com"]}


def test_confirmation_mail_has_awss_wording_in_text_and_html():
    url = "http://localhost:4566/_sandbox/sns/confirmation.html?TopicArn=x&Token=t&Endpoint=a@b"
    text = sns_mail.confirmation_text(TOPIC, url)
    assert text.startswith(f"You have chosen to subscribe to the topic: \n{TOPIC}\n")
    assert f"(If this was in error no action is necessary): \n{url}\n" in text
    html = sns_mail.confirmation_html(TOPIC, url)
    assert '<a href="http://localhost:4566/_sandbox/sns/confirmation.html?TopicArn=x&amp;Token=t&amp;Endpoint=a@b">' \
        "Confirm subscription</a>" in html


def test_html_of_the_confirmation_escapes_what_it_shows():
    html = sns_mail.confirmation_html('arn:<script>"', 'http://x/?a="><script>')
    assert "<script>" not in html


def test_notification_keeps_the_message_and_adds_awss_unsubscribe_footer():
    text = sns_mail.notification_text("Please approve.", "http://localhost:4566/_sandbox/sns/unsubscribe.html?S=1")
    message, footer = text.split("\n\n--\n", 1)
    assert message == "Please approve."
    assert footer.startswith("If you wish to stop receiving notifications from this topic, please click or visit "
                             "the link below to unsubscribe:\nhttp://localhost:4566/_sandbox/sns/unsubscribe.html?S=1\n")
    assert "https://aws.amazon.com/support" in footer


def test_email_json_confirmation_message():
    assert sns_mail.email_json_confirmation_message(TOPIC) == (
        f"You have chosen to subscribe to the topic {TOPIC}.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message."
    )


def test_pages_escape_every_value_and_forbid_framing_and_scripts():
    html = sns_mail.page("<b>", "a <script>x</script>", link=("go", 'javascript:"><img>'))
    assert "<script>" not in html and "<img>" not in html and "&lt;b&gt;" in html
    assert sns_mail.PAGE_HEADERS["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in sns_mail.PAGE_HEADERS["Content-Security-Policy"]
