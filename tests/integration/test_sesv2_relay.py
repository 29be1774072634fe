"""SESv2 through the plugin's provider (PROVIDER_OVERRIDE_SESV2=sandbox) against a real LocalStack and a real
SMTP server: simple, raw, templated and bulk mail arrive with their parts; identities and templates are SES's
(shared with v1, as on AWS); errors have SESv2's names."""

from __future__ import annotations

import json
from email.message import EmailMessage

import pytest
from mail_support import unique


@pytest.fixture(scope="module")
def sesv2(localstack):
    client = localstack.client("sesv2")
    sender = f"{unique('v2-sender')}@example.com"
    client.create_email_identity(EmailIdentity=sender)
    client.sender = sender  # type: ignore[attr-defined]
    return client


def test_simple_mail_arrives_with_text_html_cc_bcc_and_reply_to(sesv2, smtp_sink):
    to, cc, bcc = (f"{unique(who)}@example.com" for who in ("to", "cc", "bcc"))
    subject = unique("v2 simple")

    message_id = sesv2.send_email(
        FromEmailAddress=sesv2.sender,
        Destination={"ToAddresses": [to], "CcAddresses": [cc], "BccAddresses": [bcc]},
        ReplyToAddresses=["replies@example.com"],
        Content={"Simple": {"Subject": {"Data": subject},
                            "Body": {"Text": {"Data": "Plain text"}, "Html": {"Data": "<p>HTML</p>"}}}},
    )["MessageId"]

    mail = smtp_sink.wait_for(lambda m: m.subject == subject)
    assert mail.message.get_content_type() == "multipart/alternative"
    assert mail.body("plain").strip() == "Plain text" and mail.body("html").strip() == "<p>HTML</p>"
    assert sorted(mail.recipients) == sorted([to, cc, bcc]) and "Bcc" not in mail.message
    assert mail.message["Reply-To"] == "replies@example.com"
    assert mail.message["Message-ID"] == f"<{message_id}@email.amazonses.com>"
    assert mail.mail_from == sesv2.sender


def test_simple_mail_with_headers_and_attachments_arrives_with_its_parts(sesv2, smtp_sink):
    subject = unique("v2 attachments")

    sesv2.send_email(
        FromEmailAddress=sesv2.sender,
        Destination={"ToAddresses": ["files@example.com"]},
        Content={"Simple": {
            "Subject": {"Data": subject},
            "Body": {"Text": {"Data": "Report attached."}},
            "Headers": [{"Name": "X-Campaign", "Value": "q3"}],
            "Attachments": [{"FileName": "report.csv", "RawContent": b"id,total\n1,42\n", "ContentType": "text/csv"}],
        }},
    )

    mail = smtp_sink.wait_for(lambda m: m.subject == subject)
    assert mail.message["X-Campaign"] == "q3"
    assert mail.body("plain").strip() == "Report attached."
    [attachment] = list(mail.message.iter_attachments())
    assert attachment.get_filename() == "report.csv" and attachment.get_content() == "id,total\n1,42\n"


def test_raw_mail_arrives_unchanged(sesv2, smtp_sink):
    subject = unique("v2 raw")
    raw = EmailMessage()
    raw["From"], raw["To"], raw["Subject"], raw["X-Custom"] = sesv2.sender, "raw@example.com", subject, "kept"
    raw.set_content("raw body")

    sesv2.send_email(Content={"Raw": {"Data": raw.as_bytes()}})

    mail = smtp_sink.wait_for(lambda m: m.subject == subject)
    assert mail.recipients == ["raw@example.com"] and mail.message["X-Custom"] == "kept"
    assert mail.body().strip() == "raw body"


@pytest.fixture(scope="module")
def template(sesv2):
    name = unique("welcome")
    sesv2.create_email_template(TemplateName=name, TemplateContent={
        "Subject": "Welcome {{name}} " + name, "Text": "Hello {{name}}, team {{team}}.", "Html": "<b>{{name}}</b>",
    })
    return name


def test_templates_are_stored_and_read_back(sesv2, template):
    stored = sesv2.get_email_template(TemplateName=template)
    assert stored["TemplateContent"]["Text"] == "Hello {{name}}, team {{team}}."
    assert template in [t["TemplateName"] for t in sesv2.list_email_templates()["TemplatesMetadata"]]
    with pytest.raises(sesv2.exceptions.AlreadyExistsException):
        sesv2.create_email_template(TemplateName=template, TemplateContent={"Subject": "x", "Text": "x"})


def test_templated_mail_arrives_rendered(sesv2, smtp_sink, template):
    sesv2.send_email(
        FromEmailAddress=sesv2.sender,
        Destination={"ToAddresses": ["ada@example.com"]},
        Content={"Template": {"TemplateName": template, "TemplateData": json.dumps({"name": "Ada", "team": 42})}},
    )

    mail = smtp_sink.wait_for(lambda m: m.subject == f"Welcome Ada {template}")
    # Numbers render as Handlebars prints them (moto's renderer alone fails on them).
    assert mail.body("plain").strip() == "Hello Ada, team 42."
    assert mail.body("html").strip() == "<b>Ada</b>"


def test_inline_template_content_is_rendered(sesv2, smtp_sink):
    subject = unique("inline")
    sesv2.send_email(
        FromEmailAddress=sesv2.sender,
        Destination={"ToAddresses": ["inline@example.com"]},
        Content={"Template": {"TemplateContent": {"Subject": subject + " {{n}}", "Text": "n is {{n}}"},
                              "TemplateData": '{"n": 7}'}},
    )
    assert smtp_sink.wait_for(lambda m: m.subject == f"{subject} 7").body().strip() == "n is 7"


def test_bulk_mail_renders_each_entry_with_its_own_data(sesv2, smtp_sink, template):
    first, second = (f"{unique(who)}@example.com" for who in ("first", "second"))

    results = sesv2.send_bulk_email(
        FromEmailAddress=sesv2.sender,
        DefaultContent={"Template": {"TemplateName": template, "TemplateData": '{"name": "friend", "team": "all"}'}},
        BulkEmailEntries=[
            {"Destination": {"ToAddresses": [first]},
             "ReplacementEmailContent": {"ReplacementTemplate": {"ReplacementTemplateData": '{"name": "Bo"}'}}},
            {"Destination": {"ToAddresses": [second]}},
        ],
    )["BulkEmailEntryResults"]

    assert [r["Status"] for r in results] == ["SUCCESS", "SUCCESS"] and all(r["MessageId"] for r in results)
    assert smtp_sink.wait_for(lambda m: first in m.recipients).body("plain").strip() == "Hello Bo, team all."
    assert smtp_sink.wait_for(lambda m: second in m.recipients).body("plain").strip() == "Hello friend, team all."


def test_a_bulk_entry_that_fails_gets_its_own_status(sesv2, template):
    results = sesv2.send_bulk_email(
        FromEmailAddress=sesv2.sender,
        DefaultContent={"Template": {"TemplateName": unique("missing"), "TemplateData": "{}"}},
        BulkEmailEntries=[{"Destination": {"ToAddresses": ["nobody@example.com"]}}],
    )["BulkEmailEntryResults"]
    assert results[0]["Status"] == "TEMPLATE_NOT_FOUND" and "MessageId" not in results[0]


def test_errors_have_sesv2s_names(sesv2):
    with pytest.raises(sesv2.exceptions.MessageRejected):
        sesv2.send_email(FromEmailAddress="not-verified@example.org", Destination={"ToAddresses": ["x@example.com"]},
                         Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}})
    with pytest.raises(sesv2.exceptions.NotFoundException):
        sesv2.get_email_template(TemplateName=unique("missing"))
    with pytest.raises(sesv2.exceptions.NotFoundException):
        sesv2.delete_email_template(TemplateName=unique("missing"))
    with pytest.raises(sesv2.exceptions.BadRequestException):
        sesv2.send_email(FromEmailAddress=sesv2.sender, Destination={"ToAddresses": ["x@example.com"]},
                         Content={"Template": {"TemplateName": "t", "TemplateData": "{not json"}})


def test_identities_are_shared_with_ses_v1(localstack, sesv2):
    address = f"{unique('shared')}@example.com"
    assert sesv2.create_email_identity(EmailIdentity=address)["IdentityType"] == "EMAIL_ADDRESS"
    assert address in localstack.client("ses").list_identities()["Identities"]
    assert sesv2.get_email_identity(EmailIdentity=address)["VerifiedForSendingStatus"] is True
    names = [i["IdentityName"] for i in sesv2.list_email_identities()["EmailIdentities"]]
    assert address in names and sesv2.sender in names
    with pytest.raises(sesv2.exceptions.AlreadyExistsException):
        sesv2.create_email_identity(EmailIdentity=address)
    sesv2.delete_email_identity(EmailIdentity=address)
    with pytest.raises(sesv2.exceptions.NotFoundException):
        sesv2.get_email_identity(EmailIdentity=address)
