"""Pure parts of the SESv2 provider: SESv2 request pieces turned into what SES v1 (LocalStack's) takes, and the
MIME message for content SES v1 has no field for (custom headers, attachments). No LocalStack imports, no I/O.

ValueError means the request is bad; the provider answers it with SESv2's BadRequestException.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from typing import Any

from sandbox_localstack import mail

# Headers SES sets itself; a request may not replace them (AWS refuses them too).
_RESERVED_HEADERS = frozenset(
    name.lower()
    for name in (
        "From", "To", "Cc", "Bcc", "Subject", "Reply-To", "Return-Path", "Message-ID", "Date", "MIME-Version",
        "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Sender", "DKIM-Signature",
    )
)
_HEADER_NAME = re.compile(r"^[!-9;-~]{1,126}$")  # printable ASCII without ':' (RFC 5322 field name)
_MAX_HEADER_VALUE = 870
_TEMPLATE_ARN = re.compile(r"^arn:[\w-]+:ses:[\w-]+:\d{12}:template/(?P<name>[\w-]{1,64})$")


def identity_type(identity: str) -> str:
    return "EMAIL_ADDRESS" if "@" in identity else "DOMAIN"


def template_name(template: Mapping[str, Any]) -> str | None:
    """The stored template a SESv2 `Template` names (by TemplateName or TemplateArn), or None for inline content."""
    if template.get("TemplateName"):
        return str(template["TemplateName"])
    if arn := template.get("TemplateArn"):
        found = _TEMPLATE_ARN.match(str(arn))
        if not found:
            raise ValueError(f"Invalid TemplateArn: {arn}")
        return found.group("name")
    if not template.get("TemplateContent"):
        raise ValueError("A Template needs a TemplateName, a TemplateArn or TemplateContent")
    return None


def template_data(raw: str | None) -> dict[str, Any]:
    try:
        data = json.loads(raw or "{}")
    except json.JSONDecodeError:
        raise ValueError("TemplateData is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError("TemplateData must be a JSON object")
    return data


def merged_template_data(default: str | None, replacement: str | None) -> str:
    """A bulk entry's data: the default data with the entry's replacement values over it."""
    return json.dumps({**template_data(default), **template_data(replacement)})


def simple_parts(simple: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    """Subject, text and HTML of a SESv2 `Simple` message."""
    body = simple.get("Body") or {}
    return (
        str((simple.get("Subject") or {}).get("Data", "")),
        (body.get("Text") or {}).get("Data"),
        (body.get("Html") or {}).get("Data"),
    )


def template_content_parts(content: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    return str(content.get("Subject") or ""), content.get("Text"), content.get("Html")


def v1_template(name: str, content: Mapping[str, Any]) -> dict[str, Any]:
    """SES v1's `Template` for SESv2's TemplateName + TemplateContent."""
    subject, text, html = template_content_parts(content)
    template: dict[str, Any] = {"TemplateName": name, "SubjectPart": subject}
    if text is not None:
        template["TextPart"] = text
    if html is not None:
        template["HtmlPart"] = html
    return template


def v2_template_content(v1: Mapping[str, Any]) -> dict[str, Any]:
    content = {"Subject": v1.get("SubjectPart", "")}
    if v1.get("TextPart") is not None:
        content["Text"] = v1["TextPart"]
    if v1.get("HtmlPart") is not None:
        content["Html"] = v1["HtmlPart"]
    return content


def needs_mime(headers: Sequence[Mapping[str, Any]] | None, attachments: Sequence[Mapping[str, Any]] | None) -> bool:
    """Whether the message has parts SES v1's SendEmail cannot carry, so it goes as a raw message."""
    return bool(headers) or bool(attachments)


def mime_message(
    *,
    source: str,
    destination: Mapping[str, Sequence[str]],
    subject: str,
    text: str | None,
    html: str | None,
    reply_to: Sequence[str] = (),
    headers: Sequence[Mapping[str, Any]] = (),
    attachments: Sequence[Mapping[str, Any]] = (),
) -> bytes:
    """The message SES sends for simple content with custom headers and attachments (no Bcc header: the
    envelope carries those recipients). The Message-ID is added when SES has answered with its id."""
    message = mail.compose_message(
        source=source, destination=destination, subject=subject, text=text, html=html, reply_to=reply_to
    )
    for header in headers:
        name, value = str(header.get("Name", "")), str(header.get("Value", ""))
        if not _HEADER_NAME.match(name) or name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"Header {name!r} cannot be set")
        if "\r" in value or "\n" in value or len(value) > _MAX_HEADER_VALUE:
            raise ValueError(f"Invalid value for header {name!r}")
        message[name] = value
    for attachment in attachments:
        _attach(message, attachment)
    return message.as_bytes()


def _attach(message: EmailMessage, attachment: Mapping[str, Any]) -> None:
    raw = attachment.get("RawContent") or b""
    if isinstance(raw, str):  # a client that sent the blob as text
        try:
            content = base64.b64decode(raw, validate=True)
        except ValueError:
            content = raw.encode()
    else:
        content = bytes(raw)
    file_name = str(attachment.get("FileName") or "attachment")
    maintype, _, subtype = str(attachment.get("ContentType") or "application/octet-stream").partition("/")
    if not maintype or not subtype or "\n" in subtype or "\r" in subtype:
        raise ValueError(f"Invalid ContentType for attachment {file_name!r}")
    inline = str(attachment.get("ContentDisposition") or "ATTACHMENT").upper() == "INLINE"
    message.add_attachment(
        content,
        maintype=maintype,
        subtype=subtype,
        filename=file_name,
        disposition="inline" if inline else "attachment",
        cid=f"<{attachment['ContentId']}>" if attachment.get("ContentId") else None,
    )
    if description := attachment.get("ContentDescription"):
        part = next(reversed(list(message.iter_attachments())))
        part["Content-Description"] = str(description)
