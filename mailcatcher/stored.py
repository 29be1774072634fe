"""What the store hands its readers: one stored message, and the Mailpit summary of a message in a list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StoredMessage:
    """One message as the views read it: everything but the raw bytes (``Store.raw`` reads those)."""

    id: int
    created: str
    read: bool
    size: int
    envelope_from: str
    envelope_to: list[str]
    summary: dict[str, Any]
    view: dict[str, Any]
    tags: list[str]


def message_summary(message_id: int, created: str, read: bool, size: int, summary: dict[str, Any],
                    tags: list[str]) -> dict[str, Any]:
    """The Mailpit message summary, as list and search answers carry it."""
    return {"ID": str(message_id), "MessageID": summary["MessageID"], "Read": read, "From": summary["From"],
            "To": summary["To"], "Cc": summary["Cc"], "Bcc": summary["Bcc"], "ReplyTo": summary["ReplyTo"],
            "Subject": summary["Subject"], "Created": created, "Username": summary.get("Username", ""),
            "Tags": tags, "Size": size, "Attachments": summary["Attachments"], "Snippet": summary["Snippet"]}
