"""POST /api/v1/send (Mailpit's): a message described in JSON is built as MIME and stored like SMTP mail."""

from __future__ import annotations

import base64
import binascii
import mimetypes
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .api_messages import store_of
from .bodies import Field, fields
from .errors import ApiError

MAX_SEND_BODY = 25 * 1024 * 1024
_RESERVED_HEADERS = {"from", "to", "cc", "bcc", "reply-to", "subject", "content-type", "mime-version",
                     "content-transfer-encoding"}
SPECS = (Field("From", object), Field("To", object), Field("Cc", object), Field("Bcc", object),
         Field("ReplyTo", object), Field("Subject", str), Field("Text", str), Field("HTML", str),
         Field("Attachments", object), Field("Headers", object), Field("Tags", list))


def _address(value: Any, where: str) -> Address:
    if not isinstance(value, dict) or not isinstance(value.get("Email"), str) or not value["Email"].strip():
        raise ApiError(400, f"{where} must be an object with an 'Email'")
    unknown = {k for k in value if k.lower() not in ("email", "name")}
    if unknown:
        raise ApiError(400, f"{where} has unknown fields: {', '.join(sorted(map(str, unknown)))}")
    try:
        return Address(display_name=str(value.get("Name") or ""), addr_spec=value["Email"].strip())
    except (ValueError, IndexError) as exc:
        raise ApiError(400, f"{where}: {value['Email']!r} is not an email address ({exc})") from None


def _addresses(value: Any, where: str) -> list[Address]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ApiError(400, f"'{where}' must be a list")
    return [_address(item, f"{where}[{i}]") for i, item in enumerate(value)]


def build(body: dict[str, Any]) -> tuple[EmailMessage, str, list[str]]:
    """(message, envelope sender, envelope recipients) from a Mailpit send request."""
    sender = _address(body.get("From"), "'From'")
    to, cc = _addresses(body.get("To"), "To"), _addresses(body.get("Cc"), "Cc")
    reply_to = _addresses(body.get("ReplyTo"), "ReplyTo")
    bcc = body.get("Bcc") or []
    if not isinstance(bcc, list) or not all(isinstance(b, str) and "@" in b for b in bcc):
        raise ApiError(400, "'Bcc' must be a list of email addresses")
    if not (to or cc or bcc):
        raise ApiError(400, "give at least one recipient in 'To', 'Cc' or 'Bcc'")
    message = EmailMessage()
    message["From"] = sender
    if to:
        message["To"] = to
    if cc:
        message["Cc"] = cc
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = body.get("Subject", "")
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="mailcatcher")
    headers = body.get("Headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise ApiError(400, "'Headers' must be an object of strings")
    for name, value in headers.items():
        if name.lower() in _RESERVED_HEADERS or not name.isascii() or ":" in name or not name.strip():
            raise ApiError(400, f"header {name!r} cannot be set through 'Headers'")
        if "\r" in value or "\n" in value:
            raise ApiError(400, f"header {name!r} has a line break")
        message[name] = value
    message.set_content(body.get("Text", ""))
    if body.get("HTML"):
        message.add_alternative(body["HTML"], subtype="html")
    _attach(message, body.get("Attachments") or [])
    recipients = [a.addr_spec for a in to + cc] + list(bcc)
    return message, sender.addr_spec, recipients


def _attach(message: EmailMessage, attachments: Any) -> None:
    if not isinstance(attachments, list):
        raise ApiError(400, "'Attachments' must be a list")
    for index, item in enumerate(attachments):
        if not isinstance(item, dict) or not isinstance(item.get("Content"), str) \
                or not isinstance(item.get("Filename"), str):
            raise ApiError(400, f"Attachments[{index}] needs 'Content' (base64) and 'Filename'")
        try:
            data = base64.b64decode(item["Content"], validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, f"Attachments[{index}].Content is not base64") from None
        content_type = item.get("ContentType") or mimetypes.guess_type(item["Filename"])[0] \
            or "application/octet-stream"
        maintype, _, subtype = str(content_type).partition("/")
        if item.get("ContentID"):
            message.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream",
                                   filename=item["Filename"], cid=f"<{item['ContentID']}>", disposition="inline")
        else:
            message.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream",
                                   filename=item["Filename"])


async def send(request: Request) -> Response:
    body = await fields(request, *SPECS, limit=MAX_SEND_BODY)
    if not body:
        raise ApiError(400, "send a JSON message with at least 'From' and a recipient")
    message, sender, recipients = build(body)
    raw = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    summary = await run_in_threadpool(store_of(request).add, raw, sender, recipients, body.get("Tags") or [])
    return JSONResponse({"ID": summary["ID"]})
