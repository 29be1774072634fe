"""The catcher's MIME parsing and HTML sanitising: pure functions over bytes (bounded: issue 11, finding 7)."""

from __future__ import annotations

import hashlib
import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import compat32

import pytest
from hostile_mail import deep_multipart, many_attachments

from mailcatcher import mime
from mailcatcher.parse import parse_message, part_bytes
from mailcatcher.sanitize import sanitize_html


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
    attachment = parsed.attachments[0].to_stored()
    assert part_bytes(_bytes(msg), attachment["Span"]) == b"%PDF-1.4 data"
    assert attachment["Checksums"]["SHA256"] == hashlib.sha256(b"%PDF-1.4 data").hexdigest()
    assert part_bytes(_bytes(msg), inline.to_stored()["Span"]) == b"\x89PNG fake"


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






def test_finding_7_twenty_thousand_attachments_are_bounded_and_say_what_was_cut():
    raw = many_attachments(20_000)
    started = time.process_time()
    parsed = parse_message(raw)
    assert time.process_time() - started < 5  # the feed parser took 5-80 s here; this walk is linear
    assert parsed.text == "hello"
    assert len(parsed.attachments) == mime.MAX_PARTS - 2  # the message, its text, then attachments up to the cap
    assert parsed.attachments[0].size == 3 and part_bytes(raw, parsed.attachments[0].to_stored()["Span"]) == b"ABC"
    assert "more parts" in parsed.notes[0] and "raw source" in parsed.notes[0]


def test_finding_7_a_thousand_nested_multiparts_parse_without_recursion():
    parsed = parse_message(deep_multipart(1000))
    assert parsed.subject == "deep"
    assert any(f"deeper than {mime.MAX_DEPTH} levels" in note for note in parsed.notes)
    shallow = parse_message(deep_multipart(5))
    assert shallow.text == "deep text" and shallow.notes == []


@pytest.mark.parametrize("raw", [
    b"Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!no@@",
    b"Subject: x\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=\r\n=",
    b"Subject: x\r\nContent-Type: text/plain; charset=\"\xff\xfe\"\r\n\r\nbody",
    b"Subject: x\r\nContent-Type: multipart/mixed; boundary=\"\xc3\xa9\"\r\n\r\n--\xc3\xa9\r\n\r\nx\r\n",
    b"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B--",
    b"",
    b"\r\n\r\n",
    b"no headers at all",
])
def test_finding_7_broken_encodings_and_structures_never_raise(raw):
    parsed = parse_message(raw)
    assert isinstance(parsed.text, str)


@pytest.mark.parametrize("url", ["//evil.example/x.png", "\\\\evil.example/x", "/\\evil.example/x",
                                 "https:\\\\evil.example", " //evil.example", "java\tscript:alert(1)"])
def test_finding_9_protocol_relative_and_backslash_urls_are_dropped(url):
    clean = sanitize_html(f'<img src="{url}"><a href="{url}">x</a>')
    assert "evil" not in clean and "script" not in clean
    assert "<img>" in clean and "<a " in clean  # the elements stay, without their URLs


def test_finding_9_same_origin_paths_and_cid_images_stay():
    clean = sanitize_html('<img src="cid:logo"><a href="/view/1">v</a>', {"logo": "/api/v1/message/1/part/2"})
    assert '<img src="/api/v1/message/1/part/2">' in clean and 'href="/view/1"' in clean


@pytest.mark.parametrize("block", [
    b'Content-Type: multipart/mixed; boundary="=_b 1"; charset=utf-8\r\n',
    b"Content-Type: application/pdf; name*0*=UTF-8''r%C3%A9; name*1=sum.pdf\r\n"
    b'Content-Disposition: attachment; filename="a \\"b\\".pdf"\r\n',
    b"Content-Type: text/plain\r\n",
    b"Content-Type: ;;; =x; charset\r\nContent-Disposition: inline; filename=\r\n",
    b"Subject: no content type\r\n",
])
def test_header_blocks_answer_parameters_as_compat32_does_however_often_asked(block: bytes):
    expected = message_from_bytes(block + b"\r\n", policy=compat32)
    headers = mime.parse_headers(block, 0, len(block))
    for _ in range(3):  # the first answer is parsed, the others come from the block's cache
        assert headers.get_params() == expected.get_params()
        assert headers.get_params(header="content-disposition") == expected.get_params(header="content-disposition")
        assert headers.get_param("charset") == expected.get_param("charset")
        assert headers.get_boundary() == expected.get_boundary()
        assert headers.get_filename() == expected.get_filename()
        assert headers.get_content_charset() == expected.get_content_charset()
        assert headers.get_params(failobj="none") == expected.get_params(failobj="none")
