"""The parser's child process reads mail exactly as the catcher's own process would, however hostile the mail."""

from __future__ import annotations

from dataclasses import asdict
from email.message import EmailMessage

from hostile_mail import deep_multipart, many_attachments

from mailcatcher import record
from mailcatcher.parser_process import ParserProcess


def _plain(subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Sender <sender@example.com>"
    message["To"] = "approver@example.com"
    message["Subject"] = subject
    message.set_content("Approve: http://localhost/approve?token=a%2Bb%2F%3D")
    message.add_alternative("<p>Approve <a href='http://localhost/approve?token=x'>here</a></p>", subtype="html")
    return message.as_bytes()


def _comparable(found: record.Record) -> dict:
    kept = asdict(found)
    for moment in ("created", "created_ms"):  # when it was read, not what was read
        kept.pop(moment)
    return kept


def test_the_child_returns_what_parsing_here_returns():
    items = [(_plain("승인 요청 café"), "sender@example.com", ["approver@example.com", "hidden@example.com"]),
             (many_attachments(2_000), "", ["b@example.com"]),
             (deep_multipart(1_000), "x@example.com", ["b@example.com"]),
             (b"\xff\xfe not mail at all \x00", "", ["b@example.com"])]
    parser = ParserProcess()
    try:
        from_child = parser.parse_many(items)
        again = parser.parse_many(items[:1])  # one child serves batch after batch
    finally:
        parser.close()
    here = [record.build(raw, sender, recipients) for raw, sender, recipients in items]
    assert [_comparable(found) for found in from_child] == [_comparable(found) for found in here]
    assert _comparable(again[0]) == _comparable(here[0])
