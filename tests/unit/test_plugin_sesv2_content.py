"""Pure parts of the SESv2 provider: SESv2 pieces as SES v1 takes them, and the MIME message for headers and
attachments."""

from __future__ import annotations

import email
import email.policy
import json

import pytest
from sandbox_localstack import sesv2_content


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def test_identity_type():
    assert sesv2_content.identity_type("sender@example.com") == "EMAIL_ADDRESS"
    assert sesv2_content.identity_type("example.com") == "DOMAIN"


def test_template_name_from_name_arn_or_inline():
    assert sesv2_content.template_name({"TemplateName": "welcome"}) == "welcome"
    arn = "arn:aws:ses:us-east-1:000000000000:template/welcome-2"
    assert sesv2_content.template_name({"TemplateArn": arn}) == "welcome-2"
    assert sesv2_content.template_name({"TemplateContent": {"Subject": "Hi"}}) is None
    with pytest.raises(ValueError, match="TemplateArn"):
        sesv2_content.template_name({"TemplateArn": "arn:aws:sns:us-east-1:000000000000:topic"})
    with pytest.raises(ValueError, match="TemplateName, a TemplateArn or TemplateContent"):
        sesv2_content.template_name({})


def test_bulk_data_is_the_default_with_the_entrys_values_over_it():
    merged = sesv2_content.merged_template_data('{"name": "Default", "team": "ops"}', '{"name": "Bo"}')
    assert json.loads(merged) == {"name": "Bo", "team": "ops"}
    assert json.loads(sesv2_content.merged_template_data(None, None)) == {}


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"'])
def test_template_data_must_be_a_json_object(raw):
    with pytest.raises(ValueError, match="TemplateData"):
        sesv2_content.template_data(raw)


def test_templates_translate_both_ways():
    v1 = sesv2_content.v1_template("t", {"Subject": "S {{a}}", "Text": "T", "Html": "<p>H</p>"})
    assert v1 == {"TemplateName": "t", "SubjectPart": "S {{a}}", "TextPart": "T", "HtmlPart": "<p>H</p>"}
    assert sesv2_content.v2_template_content(v1) == {"Subject": "S {{a}}", "Text": "T", "Html": "<p>H</p>"}
    assert "HtmlPart" not in sesv2_content.v1_template("t", {"Subject": "S", "Text": "T"})


def test_simple_parts():
    simple = {"Subject": {"Data": "Hello"}, "Body": {"Html": {"Data": "<b>x</b>"}}}
    assert sesv2_content.simple_parts(simple) == ("Hello", None, "<b>x</b>")


def test_only_headers_or_attachments_need_a_raw_message():
    assert not sesv2_content.needs_mime([], None)
    assert sesv2_content.needs_mime([{"Name": "X-A", "Value": "1"}], [])
    assert sesv2_content.needs_mime(None, [{"FileName": "a.txt", "RawContent": b"x"}])


def test_mime_message_carries_headers_attachments_and_no_bcc():
    data = sesv2_content.mime_message(
        source="Sender <s@example.com>",
        destination={"ToAddresses": ["to@example.com"], "BccAddresses": ["hidden@example.com"]},
        subject="Report",
        text="See the file.",
        html="<p>See the file.</p>",
        reply_to=["r@example.com"],
        headers=[{"Name": "X-Campaign", "Value": "spring"}],
        attachments=[
            {"FileName": "report.csv", "RawContent": b"a,b\n1,2\n", "ContentType": "text/csv"},
            {"FileName": "logo.png", "RawContent": b"\x89PNG", "ContentType": "image/png",
             "ContentDisposition": "INLINE", "ContentId": "logo", "ContentDescription": "The logo"},
        ],
    )
    message = parse(data)
    assert message.get_content_type() == "multipart/mixed"
    assert message["X-Campaign"] == "spring" and message["Reply-To"] == "r@example.com"
    assert "Bcc" not in message and "Message-ID" not in message
    assert message.get_body(("plain",)).get_content().strip() == "See the file."
    assert message.get_body(("html",)).get_content().strip() == "<p>See the file.</p>"
    parts = {part.get_filename(): part for part in message.iter_attachments()}
    assert parts["report.csv"].get_content() == "a,b\n1,2\n"
    logo = parts["logo.png"]
    assert logo.get_content() == b"\x89PNG" and logo["Content-ID"] == "<logo>"
    assert logo.get_content_disposition() == "inline" and logo["Content-Description"] == "The logo"


@pytest.mark.parametrize(
    "header",
    [{"Name": "From", "Value": "x@example.com"}, {"Name": "bcc", "Value": "x@example.com"},
     {"Name": "X-Bad:Name", "Value": "v"}, {"Name": "X-Inject", "Value": "v\r\nBcc: x@example.com"}],
)
def test_headers_that_would_change_the_envelope_or_inject_are_refused(header):
    with pytest.raises(ValueError, match="[Hh]eader"):
        sesv2_content.mime_message(source="s@example.com", destination={"ToAddresses": ["t@example.com"]},
                                   subject="s", text="t", html=None, headers=[header])


def test_an_attachment_with_a_bad_content_type_is_refused():
    with pytest.raises(ValueError, match="ContentType"):
        sesv2_content.mime_message(source="s@example.com", destination={"ToAddresses": ["t@example.com"]},
                                   subject="s", text="t", html=None,
                                   attachments=[{"FileName": "a", "RawContent": b"x", "ContentType": "text"}])
