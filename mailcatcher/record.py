"""What the store keeps for one message besides its raw bytes, computed once when it arrives.

The summary (what lists show), the view (what the message views and the API show: bodies, headers, parts
with where they lie in the raw bytes, links, what was left out) and the lower-cased search text per field.
Views never parse the mail again.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .links import extract_links, read_html
from .parse import ParsedMessage, parse_message

MAX_TAG_LENGTH = 100
_TAG_JUNK = re.compile(r"[^\w .\-]+")


def clean_tag(name: str) -> str:
    """A tag as Mailpit keeps them: letters, digits, space, '.', '-', '_', single spaces, at most 100 chars."""
    return " ".join(_TAG_JUNK.sub("", name).split())[:MAX_TAG_LENGTH]


def tags_from_header(value: str) -> list[str]:
    """Tags named in an ``X-Tags`` header (comma-separated), as Mailpit reads them."""
    found: list[str] = []
    for item in value.split(","):
        tag = clean_tag(item)
        if tag and tag.lower() not in (t.lower() for t in found):
            found.append(tag)
    return found


@dataclass
class Record:
    created: str  # RFC 3339 with milliseconds, UTC
    created_ms: int
    size: int
    envelope_from: str
    envelope_to: list[str]
    message_id: str
    subject: str
    attachments: int
    inline: int
    summary: dict[str, Any]
    view_json: str  # the view, encoded as the store keeps it (done where the parsing is: in the parser process)
    search: dict[str, str]  # search-index column -> lower-cased text
    tags: list[str]


def _address_text(addresses: list[dict[str, str]]) -> str:
    return " ".join(f"{a.get('Name', '')} <{a.get('Address', '')}>" for a in addresses)


def _with_envelope_bcc(parsed: ParsedMessage, recipients: list[str]) -> list[dict[str, str]]:
    """Bcc as Mailpit shows it: the header's, plus envelope recipients no address header names."""
    named = {a["Address"].lower() for a in parsed.to + parsed.cc + parsed.bcc}
    extra = [{"Name": "", "Address": r} for r in recipients if r and r.lower() not in named]
    return parsed.bcc + extra


def build(raw: bytes, envelope_from: str = "", envelope_to: list[str] | None = None,
          now: datetime | None = None) -> Record:
    recipients = list(envelope_to or [])
    try:
        parsed = parse_message(raw)
    except Exception:  # never lose a message because it cannot be parsed: keep the raw bytes
        parsed = ParsedMessage(subject="(unparseable message)", notes=["The message could not be parsed."])
    moment = now or datetime.now(UTC)
    created = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    html_text, anchors = read_html(parsed.html)
    bcc = _with_envelope_bcc(parsed, recipients)
    summary = {
        "MessageID": parsed.message_id,
        "From": parsed.from_,
        "To": parsed.to,
        "Cc": parsed.cc,
        "Bcc": bcc,
        "ReplyTo": parsed.reply_to,
        "Subject": parsed.subject,
        "Username": "",
        "Attachments": len(parsed.attachments),
        "Snippet": parsed.snippet_from(html_text),
    }
    links = [{"URL": link.url, "Text": link.text} for link in extract_links(parsed.text, parsed.html, anchors)]
    view = {
        "Date": parsed.date,
        "ReturnPath": parsed.return_path or envelope_from,
        "Text": parsed.text,
        "HTML": parsed.html,
        "Headers": parsed.headers,
        "Inline": [part.to_stored() for part in parsed.inline],
        "Attachments": [part.to_stored() for part in parsed.attachments],
        "ListUnsubscribe": parsed.list_unsubscribe,
        "Links": links,
        "Notes": parsed.notes,
    }
    sender = f"{_address_text([parsed.from_])} {envelope_from}"
    search = {
        "from_": sender,
        "to_": _address_text(parsed.to),
        "cc": _address_text(parsed.cc),
        "bcc": _address_text(bcc),
        "reply_to": _address_text(parsed.reply_to),
        "subject": parsed.subject,
        "message_id": parsed.message_id,
    }
    search["text"] = " ".join([*search.values(), parsed.text, html_text])
    x_tags = " ".join(value for name, value in parsed.headers if name.lower() == "x-tags")
    return Record(
        created=created,
        created_ms=int(moment.timestamp() * 1000),
        size=len(raw),
        envelope_from=envelope_from,
        envelope_to=recipients,
        message_id=parsed.message_id,
        subject=parsed.subject,
        attachments=len(parsed.attachments),
        inline=len(parsed.inline),
        summary=summary,
        view_json=json.dumps(view),
        search={column: text.lower() for column, text in search.items()},
        tags=tags_from_header(x_tags) if x_tags else [],
    )
