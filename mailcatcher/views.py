"""View models: the JSON shapes of Mailpit's API v1 (field names, types and casing), built from what the store
kept at arrival. Nothing here parses mail."""

from __future__ import annotations

from typing import Any

from .errors import ApiError
from .store import Store
from .stored import StoredMessage


def parse_id(value: str) -> int | None:
    """A message ID is a positive integer in a string; anything else is unknown (never an error)."""
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return int(value)


def load_message(store: Store, value: str) -> StoredMessage:
    """The stored message for an ID or 'latest', else ApiError 404."""
    message_id = store.latest_id() if value == "latest" else parse_id(value)
    stored = store.get(message_id) if message_id is not None else None
    if stored is None:
        raise ApiError(404, "message not found")
    return stored


def public_part(part: dict[str, Any]) -> dict[str, Any]:
    """A stored part as Mailpit's Attachment (without where it lies in the raw bytes)."""
    return {key: value for key, value in part.items() if key != "Span"}


def message_detail(stored: StoredMessage) -> dict[str, Any]:
    """Mailpit's Message, plus ``Read``, ``Created``, ``Envelope`` and ``Notes`` (what was not read of it)."""
    summary, view = stored.summary, stored.view
    return {
        "ID": str(stored.id),
        "MessageID": summary["MessageID"],
        "Read": stored.read,
        "From": summary["From"],
        "To": summary["To"],
        "Cc": summary["Cc"],
        "Bcc": summary["Bcc"],
        "ReplyTo": summary["ReplyTo"],
        "ReturnPath": view["ReturnPath"],
        "Subject": summary["Subject"],
        "ListUnsubscribe": view["ListUnsubscribe"],
        "Date": view["Date"] or stored.created,
        "Created": stored.created,
        "Tags": stored.tags,
        "Username": summary.get("Username", ""),
        "Text": view["Text"],
        "HTML": view["HTML"],
        "Size": stored.size,
        "Inline": [public_part(part) for part in view["Inline"]],
        "Attachments": [public_part(part) for part in view["Attachments"]],
        "Envelope": {"From": stored.envelope_from, "To": stored.envelope_to},
        "Notes": view["Notes"],
    }


def canonical_header(name: str) -> str:
    """Header names as Mailpit (Go's textproto) returns them: Content-Type, Message-Id, X-Request-Id."""
    if not name.isascii() or any(c in name for c in " \t:"):
        return name
    return "-".join(word[:1].upper() + word[1:].lower() for word in name.split("-"))


def headers_view(stored: StoredMessage) -> dict[str, list[str]]:
    """``/headers``: every header's values in order, keys sorted as Mailpit returns them."""
    headers: dict[str, list[str]] = {}
    for name, value in stored.view["Headers"]:
        headers.setdefault(canonical_header(name), []).append(value)
    return dict(sorted(headers.items()))


def listing(store: Store, count: int, unread: int, start: int, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """Mailpit's MessagesSummary (``count`` is the page's length, as Mailpit reports it)."""
    total, total_unread = store.counts()
    return {
        "total": total,
        "unread": total_unread,
        "count": len(messages),
        "messages_count": count,
        "messages_unread": unread,
        "start": start,
        "tags": store.all_tags(),
        "messages": messages,
    }
