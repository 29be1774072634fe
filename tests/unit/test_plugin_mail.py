"""Pure parts of the mail relay: SMTP_HOST, retry schedule, SNS subject/sender, SES message building."""

import email
import email.policy
import smtplib

import pytest
from sandbox_localstack import mail


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:1025", ("127.0.0.1", 1025)),
        ("mailcatcher:1025", ("mailcatcher", 1025)),
        ("smtp.example.com", ("smtp.example.com", 25)),
        ("[::1]:2525", ("::1", 2525)),
        (" localhost:25 ", ("localhost", 25)),
        ("", None),
        (None, None),
    ],
)
def test_parse_smtp_host(value, expected):
    assert mail.parse_smtp_host(value) == expected


@pytest.mark.parametrize("value", ["host:port", "host:0", "host:70000", ":25"])
def test_parse_smtp_host_rejects_bad_values(value):
    with pytest.raises(ValueError, match="SMTP_HOST"):
        mail.parse_smtp_host(value)


def test_retry_delays_double_up_to_the_cap():
    policy = mail.RetryPolicy(window_s=300, first_delay_s=0.5, factor=2, max_delay_s=30)
    assert [policy.delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_retry_attempts_stay_within_the_window():
    times = list(mail.RetryPolicy(window_s=60).attempt_times())
    assert times[:4] == [0, 0.5, 1.5, 3.5]
    assert times[-1] <= 60
    assert len(times) == 7  # 0, .5, 1.5, 3.5, 7.5, 15.5, 31.5; the next (61.5) lies outside


def test_retry_window_from_env():
    assert mail.retry_policy_from_env({}).window_s == mail.DEFAULT_RETRY_SECONDS
    assert mail.retry_policy_from_env({"SMTP_RELAY_RETRY_SECONDS": "30"}).window_s == 30
    with pytest.raises(ValueError, match="SMTP_RELAY_RETRY_SECONDS"):
        mail.retry_policy_from_env({"SMTP_RELAY_RETRY_SECONDS": "soon"})


def test_permanent_and_passing_smtp_failures():
    assert mail.is_permanent_failure(smtplib.SMTPDataError(554, b"rejected"))
    assert not mail.is_permanent_failure(smtplib.SMTPDataError(451, b"try later"))
    assert not mail.is_permanent_failure(ConnectionRefusedError())
    assert not mail.is_permanent_failure(smtplib.SMTPServerDisconnected())
    assert mail.is_permanent_failure(smtplib.SMTPRecipientsRefused({"a@x": (550, b"no such user")}))
    assert not mail.is_permanent_failure(smtplib.SMTPRecipientsRefused({"a@x": (450, b"busy")}))


def test_sns_subject_is_the_publish_subject_or_aws_default():
    assert mail.sns_email_subject("Approval needed") == "Approval needed"
    assert mail.sns_email_subject(None) == "AWS Notification Message"
    assert mail.sns_email_subject("  ") == "AWS Notification Message"


def test_sns_sender_uses_topic_display_name():
    assert mail.sns_email_sender(None) == "AWS Notifications <no-reply@sns.amazonaws.com>"
    assert mail.sns_email_sender("Approvals") == "Approvals <no-reply@sns.amazonaws.com>"


def parse(data: bytes):
    return email.message_from_bytes(data, policy=email.policy.default)


def test_ses_email_with_text_and_html_is_multipart_alternative():
    outgoing = mail.build_ses_email(
        source="Team <team@example.com>",
        destination={"ToAddresses": ["a@example.com"], "CcAddresses": ["b@example.com"], "BccAddresses": ["c@x.org"]},
        subject="Grüße",
        text="plain ü",
        html="<p>html ü</p>",
        message_id="0100-abc",
        reply_to=["r@example.com"],
    )

    message = parse(outgoing.data)
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content().strip() == "plain ü"
    assert message.get_body(("html",)).get_content().strip() == "<p>html ü</p>"
    assert message["Subject"] == "Grüße"
    assert message["To"] == "a@example.com" and message["Cc"] == "b@example.com"
    assert "Bcc" not in message
    assert message["Reply-To"] == "r@example.com"
    assert message["Message-ID"] == "<0100-abc@email.amazonses.com>"
    assert outgoing.recipients == ("a@example.com", "b@example.com", "c@x.org")
    assert outgoing.mail_from == "team@example.com"


@pytest.mark.parametrize(("text", "html", "content_type"), [("t", None, "text/plain"), (None, "<b>h</b>", "text/html")])
def test_ses_email_with_one_part(text, html, content_type):
    outgoing = mail.build_ses_email(
        source="s@example.com",
        destination={"ToAddresses": ["a@example.com"]},
        subject="s",
        text=text,
        html=html,
        message_id="id",
    )
    assert parse(outgoing.data).get_content_type() == content_type


def test_return_path_is_the_envelope_sender():
    outgoing = mail.build_ses_email(
        source="s@example.com",
        destination={"ToAddresses": ["a@example.com"]},
        subject="s",
        text="t",
        html=None,
        message_id="id",
        return_path="bounces@example.com",
    )
    assert outgoing.mail_from == "bounces@example.com"


RAW = (
    b"From: Sender <s@example.com>\r\nTo: a@example.com, B <b@example.com>\r\nBcc: hidden@example.com\r\n"
    b"Subject: raw\r\nX-Custom: kept\r\n\r\nbody\r\n"
)


def test_raw_email_recipients_from_headers_and_bcc_header_removed():
    outgoing = mail.build_raw_email(RAW, source=None, destinations=[], message_id="m1")

    message = parse(outgoing.data)
    assert outgoing.recipients == ("a@example.com", "b@example.com", "hidden@example.com")
    assert outgoing.mail_from == "s@example.com"
    assert "Bcc" not in message
    assert message["X-Custom"] == "kept"
    assert message["Message-ID"] == "<m1@email.amazonses.com>"


def test_raw_email_destinations_override_headers():
    outgoing = mail.build_raw_email(RAW, source="other@example.com", destinations=["d@example.com"], message_id="m")
    assert outgoing.recipients == ("d@example.com",)
    assert outgoing.mail_from == "other@example.com"


def test_template_values_are_text_as_handlebars_prints_them():
    data = {"n": 7, "f": 1.5, "whole": 3.0, "ok": True, "no": None, "items": [{"k": 2}], "s": "x"}
    assert mail.template_values(data) == {
        "n": "7", "f": "1.5", "whole": "3", "ok": "true", "no": "", "items": [{"k": "2"}], "s": "x",
    }
