"""The catcher's MIME parsing and HTML sanitising: pure functions over bytes."""

from __future__ import annotations

from email.message import EmailMessage

from mailcatcher.parse import find_part, parse_message, sanitize_html


def _bytes(msg: EmailMessage) -> bytes:
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def test_rfc2047_subject_and_names_are_decoded():
    raw = (
        b"Subject: =?UTF-8?B?7Iq57J24IOyalOyyrQ==?= =?utf-8?q?_caf=C3=A9?=\r\n"
        b"From: =?utf-8?B?7ZmN6ri464+Z?= <hong@example.com>\r\n"
        b"To: a@example.com, \"B, Bee\" <b@example.com>\r\n"
        b"Date: Tue, 01 Jul 2025 09:30:00 +0900\r\n"
        b"Message-ID: <abc@example.com>\r\n\r\nbody\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.subject == "승인 요청 café"
    assert parsed.from_ == {"Name": "홍길동", "Address": "hong@example.com"}
    assert parsed.to == [{"Name": "", "Address": "a@example.com"}, {"Name": "B, Bee", "Address": "b@example.com"}]
    assert parsed.date == "2025-07-01T09:30:00+09:00"
    assert parsed.message_id == "abc@example.com"
    assert parsed.text == "body\n"


def test_raw_utf8_headers_read_as_text():
    raw = "Subject: 안녕\r\nFrom: 홍길동 <hong@example.com>\r\n\r\n본문\r\n".encode()
    parsed = parse_message(raw)
    assert parsed.subject == "안녕"
    assert parsed.from_["Name"] == "홍길동"
    assert parsed.text == "본문\n"


def test_parts_text_html_attachment_inline():
    msg = EmailMessage()
    msg["Subject"] = "parts"
    msg.set_content("plain")
    msg.add_alternative('<p>html <img src="cid:logo"></p>', subtype="html")
    msg.get_payload()[1].add_related(b"\x89PNG fake", maintype="image", subtype="png", cid="<logo>")
    msg.add_attachment(b"%PDF-1.4 data", maintype="application", subtype="pdf", filename="보고서.pdf")
    parsed = parse_message(_bytes(msg))
    assert parsed.text == "plain\n"
    assert parsed.html.startswith("<p>html")
    assert [(p.filename, p.content_type, p.size) for p in parsed.attachments] == [
        ("보고서.pdf", "application/pdf", len(b"%PDF-1.4 data"))
    ]
    [inline] = parsed.inline
    assert (inline.content_id, inline.content_type) == ("logo", "image/png")
    found = find_part(_bytes(msg), parsed.attachments[0].part_id)
    assert found is not None and found[1] == b"%PDF-1.4 data"
    assert find_part(_bytes(msg), "9.9") is None


def test_malformed_message_does_not_raise():
    raw = (
        b"From: <<<>>>\r\nTo: ,,,@@\r\nSubject: =?utf-8?B?broken\r\nDate: soon\r\n"
        b"Content-Type: multipart/mixed\r\nno colon here\r\n\r\n\xff\xfe garbage\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.subject == "=?utf-8?B?broken"
    assert parsed.date == ""
    assert parsed.from_ == {"Name": "", "Address": ""}


def test_unknown_charset_falls_back_to_utf8():
    raw = b"Subject: x\r\nContent-Type: text/plain; charset=no-such-charset\r\n\r\nh\xc3\xa9llo\r\n"
    assert parse_message(raw).text == "héllo\n"


def test_snippet_comes_from_html_when_there_is_no_text():
    raw = b"Subject: x\r\nContent-Type: text/html\r\n\r\n<style>p{}</style><p>Hello   <b>there</b></p>\r\n"
    assert parse_message(raw).snippet == "Hello there"


def test_sanitize_removes_scripts_handlers_and_remote_fetches():
    dirty = (
        '<p onclick="x()" style="color: red; background: url(http://evil/x)">Hi</p>'
        "<script>alert(1)</script><img src=x onerror=alert(1)>"
        '<img src="http://evil.example/pixel.gif"><img src="cid:logo">'
        '<a href="javascript:alert(1)">js</a><a href="https://ok.example/approve">ok</a>'
        "<iframe src=http://evil></iframe><form action=http://evil><input></form>"
        '<svg onload="alert(1)"></svg><style>body{background:url(http://evil)}</style>'
    )
    clean = sanitize_html(dirty, {"logo": "/api/v1/message/1/part/2"})
    lowered = clean.lower()
    for forbidden in ["<script", "onerror", "onclick", "onload", "javascript:", "evil", "<iframe", "<form",
                      "<svg", "<style", "url("]:
        assert forbidden not in lowered, forbidden
    assert '<p style="color:red">Hi</p>' in clean
    assert '<img src="/api/v1/message/1/part/2">' in clean
    assert '<a href="https://ok.example/approve" target="_blank" rel="noopener noreferrer">ok</a>' in clean
