"""The catcher over real SMTP and real HTTP: what goes in over SMTP comes out of the Mailpit-shaped API."""

from __future__ import annotations

import http.client
import smtplib
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from mailcatcher_support import message, unique


def test_plain_message_is_listed_and_readable(mailcatcher):
    subject = unique("plain")
    mailcatcher.send(message(subject, "Just text.\nSecond line.", sender="Alice <alice@example.com>"))

    listing = mailcatcher.get("/api/v1/messages").json()
    summary = next(m for m in listing["messages"] if m["Subject"] == subject)
    assert summary["From"] == {"Name": "Alice", "Address": "alice@example.com"}
    assert summary["To"] == [{"Name": "", "Address": "approver@example.com"}]
    assert summary["Read"] is False
    assert summary["Snippet"] == "Just text. Second line."
    assert listing["total"] >= 1 and listing["messages_count"] == listing["total"]

    detail = mailcatcher.get(f"/api/v1/message/{summary['ID']}").json()
    assert detail["Text"] == "Just text.\nSecond line.\n"
    assert detail["HTML"] == ""
    assert detail["Attachments"] == []
    assert detail["Size"] > 0
    # Mailpit behaviour: reading a message marks it read.
    assert mailcatcher.get(f"/api/v1/message/{summary['ID']}").json()["Read"] is True


def test_newest_first_and_latest(mailcatcher):
    first, second = unique("order-a"), unique("order-b")
    mailcatcher.send(message(first))
    mailcatcher.send(message(second))
    subjects = [m["Subject"] for m in mailcatcher.get("/api/v1/messages", params={"limit": 2}).json()["messages"]]
    assert subjects == [second, first]
    assert mailcatcher.get("/api/v1/message/latest").json()["Subject"] == second
    page = mailcatcher.get("/api/v1/messages", params={"start": 1, "limit": 1}).json()
    assert page["start"] == 1 and page["count"] == 1 and page["messages"][0]["Subject"] == first


def test_multipart_alternative_has_text_and_html(mailcatcher):
    subject = unique("alternative")
    msg = message(subject, "Plain version")
    msg.add_alternative("<p>HTML <b>version</b></p>", subtype="html")
    mailcatcher.send(msg)

    detail = mailcatcher.only(f'subject:"{subject}"')
    assert detail["Text"] == "Plain version\n"
    assert detail["HTML"] == "<p>HTML <b>version</b></p>\n"
    assert detail["Attachments"] == []


def test_attachment_is_listed_and_downloadable(mailcatcher):
    subject = unique("attachment")
    payload = bytes(range(256)) * 10
    msg = message(subject, "See attached.")
    msg.add_attachment(payload, maintype="application", subtype="octet-stream", filename="report.bin")
    mailcatcher.send(msg)

    detail = mailcatcher.only(subject)
    assert detail["Text"] == "See attached.\n"
    [attachment] = detail["Attachments"]
    assert attachment["FileName"] == "report.bin"
    assert attachment["ContentType"] == "application/octet-stream"
    assert attachment["Size"] == len(payload)
    part = mailcatcher.get(f"/api/v1/message/{detail['ID']}/part/{attachment['PartID']}")
    assert part.status_code == 200
    assert part.content == payload
    assert "attachment" in part.headers["Content-Disposition"]
    assert mailcatcher.search(f"{subject} has:attachment")["messages_count"] == 1


def test_korean_subject_and_body(mailcatcher):
    tag = unique("ko")
    msg = message(f"[승인 요청] 휴가 신청 {tag}", "안녕하세요.\n휴가 신청을 승인해 주세요.",
                  sender="홍길동 <hong@example.com>", to="김철수 <kim@example.com>")
    msg.add_alternative("<p>휴가 신청을 <a href='http://127.0.0.1:9/approve?t=1'>승인</a></p>", subtype="html")
    mailcatcher.send(msg)

    # The subject travels RFC 2047-encoded; the API returns it decoded.
    raw = mailcatcher.get(f"/api/v1/message/{mailcatcher.search(tag)['messages'][0]['ID']}/raw").content
    assert b"=?utf-8?" in raw.lower()
    detail = mailcatcher.only(f"subject:휴가 {tag}")
    assert detail["Subject"] == f"[승인 요청] 휴가 신청 {tag}"
    assert detail["From"] == {"Name": "홍길동", "Address": "hong@example.com"}
    assert detail["To"] == [{"Name": "김철수", "Address": "kim@example.com"}]
    assert detail["Text"] == "안녕하세요.\n휴가 신청을 승인해 주세요.\n"
    assert "휴가 신청을" in detail["HTML"]
    assert mailcatcher.search(f'"승인해 주세요" {tag}')["messages_count"] == 1


def test_smtputf8_raw_utf8_headers(mailcatcher):
    tag = unique("utf8")
    raw = (
        f"From: 홍길동 <hong@example.com>\r\nTo: 수신자 <받는이@example.com>\r\nSubject: 결재 {tag}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "본문 8bit\r\n"
    ).encode()
    mailcatcher.sendmail("hong@example.com", ["받는이@example.com"], raw, ["SMTPUTF8", "BODY=8BITMIME"])
    detail = mailcatcher.only(tag)
    assert detail["Subject"] == f"결재 {tag}"
    assert detail["From"]["Name"] == "홍길동"
    assert detail["Text"] == "본문 8bit\n"
    assert detail["Envelope"]["To"] == ["받는이@example.com"]


def test_several_recipients_including_bcc(mailcatcher):
    subject = unique("recipients")
    msg = message(subject, to="One <one@example.com>, two@example.com", Cc="three@example.com")
    with mailcatcher.smtp() as client:
        refused = client.send_message(
            msg, to_addrs=["one@example.com", "two@example.com", "three@example.com", "hidden@example.com"]
        )
    assert refused == {}

    detail = mailcatcher.only(subject)
    assert [a["Address"] for a in detail["To"]] == ["one@example.com", "two@example.com"]
    assert [a["Address"] for a in detail["Cc"]] == ["three@example.com"]
    assert detail["Envelope"]["To"] == ["one@example.com", "two@example.com", "three@example.com",
                                        "hidden@example.com"]
    # A recipient only in the envelope is shown in Bcc, as Mailpit does; bcc: and addressed: find it, to: not.
    assert detail["Bcc"] == [{"Name": "", "Address": "hidden@example.com"}]
    assert mailcatcher.search(f"bcc:hidden@example.com {subject}")["messages_count"] == 1
    assert mailcatcher.search(f"addressed:hidden@example.com {subject}")["messages_count"] == 1
    assert mailcatcher.search(f"to:hidden@example.com {subject}")["messages_count"] == 0


def test_oversize_message_gets_552_and_the_server_stays_healthy(mailcatcher):
    big = message(unique("too-big"), "x" * (2 * 1024 * 1024))
    # smtplib announces SIZE= at MAIL FROM, so the refusal comes before any data is sent...
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        mailcatcher.send(big)
    assert refused.value.smtp_code == 552

    # ...and a client that does not announce the size is refused after DATA.
    with mailcatcher.smtp() as client:
        client.ehlo()
        assert client.mail("sender@example.com")[0] == 250
        assert client.rcpt("approver@example.com")[0] == 250
        code, reply = client.data(big.as_bytes(policy=big.policy.clone(linesep="\r\n")))
        assert code == 552, reply
        # Same connection still usable.
        assert client.noop()[0] == 250

    assert mailcatcher.get("/readyz").status_code == 200
    after = unique("after-oversize")
    mailcatcher.send(message(after))
    assert mailcatcher.search(after)["messages_count"] == 1
    assert mailcatcher.search(big["Subject"])["messages_count"] == 0


MALFORMED = (
    b"From: <<<not an address>>>\r\n"
    b"To: ,,,@@@, \"unclosed <x@example.com>\r\n"
    b"Subject: =?utf-8?B?not-base64!!?= TAG\r\n"
    b"Date: yesterday-ish\r\n"
    b"Content-Type: multipart/mixed\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"X-Binary: \xff\xfe\xfd\r\n"
    b"this header line has no colon\r\n"
    b"\r\n"
    b"--no-boundary-declared\r\n"
    b"\xc3\x28 invalid utf-8 \xa0\xa1\r\n"
)


def test_malformed_headers_and_mime_are_stored_as_is(mailcatcher):
    tag = unique("malformed")
    raw = MALFORMED.replace(b"TAG", tag.encode())
    mailcatcher.sendmail("weird@example.com", ["approver@example.com"], raw)

    found = mailcatcher.search(tag)
    assert found["messages_count"] == 1
    message_id = found["messages"][0]["ID"]
    stored = mailcatcher.get(f"/api/v1/message/{message_id}/raw")
    assert stored.status_code == 200
    # Byte for byte as received, after the trace headers every MTA puts in front (Return-Path, Received).
    trace, received = stored.content[: -len(raw)], stored.content[-len(raw):]
    assert received == raw
    assert trace.startswith(b"Return-Path: <weird@example.com>\r\nReceived: from ") and trace.endswith(b"\r\n")
    for path in ("", "/headers", "/approval"):
        assert mailcatcher.get(f"/api/v1/message/{message_id}{path}").status_code == 200
    assert mailcatcher.get(f"/view/{message_id}").status_code == 200
    assert mailcatcher.get(f"/view/{message_id}/html").status_code == 200
    assert mailcatcher.get("/readyz").status_code == 200


def test_bare_lf_line_ends_and_long_lines_are_accepted(mailcatcher):
    subject = unique("bare-lf")
    long_line = "y" * 5000
    raw = f"Subject: {subject}\nFrom: a@example.com\nTo: b@example.com\n\nfirst\n{long_line}\n".encode()
    mailcatcher.sendmail("a@example.com", ["b@example.com"], raw)  # smtplib sends bytes without fixing line ends
    detail = mailcatcher.only(subject)
    assert detail["Text"].rstrip("\n") == f"first\n{long_line}"  # smtplib adds a CRLF before the final dot


def test_headers_endpoint(mailcatcher):
    subject = unique("headers")
    mailcatcher.send(message(subject, X_Request_Id="req-42"))
    detail = mailcatcher.only(subject)
    headers = mailcatcher.get(f"/api/v1/message/{detail['ID']}/headers").json()
    assert headers["Subject"] == [subject]
    assert headers["X-Request-Id"] == ["req-42"]


def test_approval_view_lists_approve_and_reject_links(mailcatcher):
    subject = unique("approval")
    msg = message(subject, "Approve: http://127.0.0.1:9/decide?token=abc&action=approve\n"
                           "Reject: http://127.0.0.1:9/decide?token=abc&action=reject\n")
    msg.add_alternative(
        '<p><a href="http://127.0.0.1:9/decide?token=abc&amp;action=approve">Approve</a> '
        '<a href="http://127.0.0.1:9/decide?token=abc&amp;action=reject">Reject</a> '
        '<a href="javascript:alert(1)">Approve (evil)</a> <a href="http://127.0.0.1:9/help">Help</a></p>',
        subtype="html",
    )
    mailcatcher.send(msg)
    detail = mailcatcher.only(subject)
    approval = mailcatcher.get(f"/api/v1/message/{detail['ID']}/approval").json()
    assert [link["URL"] for link in approval["Approve"]] == ["http://127.0.0.1:9/decide?token=abc&action=approve"]
    assert [link["URL"] for link in approval["Reject"]] == ["http://127.0.0.1:9/decide?token=abc&action=reject"]
    assert approval["Approve"][0]["Query"] == {"token": "abc", "action": "approve"}
    assert approval["Approve"][0]["Text"] == "Approve"
    assert {link["URL"] for link in approval["Links"]} == {
        "http://127.0.0.1:9/decide?token=abc&action=approve",
        "http://127.0.0.1:9/decide?token=abc&action=reject",
        "http://127.0.0.1:9/help",
    }  # javascript: never becomes a link

    page = mailcatcher.get(f"/view/{detail['ID']}")
    assert 'href="http://127.0.0.1:9/decide?token=abc&amp;action=approve" target="_blank"' in page.text
    assert 'href="javascript:' not in page.text  # (the escaped source view shows it as text)


def test_delete_one_message(mailcatcher):
    keep, drop = unique("keep"), unique("drop")
    mailcatcher.send(message(keep))
    mailcatcher.send(message(drop))
    drop_id = mailcatcher.search(drop)["messages"][0]["ID"]
    response = mailcatcher.request("DELETE", "/api/v1/messages", json={"IDs": [drop_id]})
    assert response.status_code == 200 and response.text == "ok"
    assert mailcatcher.get(f"/api/v1/message/{drop_id}").status_code == 404
    assert mailcatcher.search(keep)["messages_count"] == 1


def test_delete_all_messages(start_mailcatcher):
    catcher = start_mailcatcher()
    for i in range(3):
        catcher.send(message(f"to be deleted {i}"))
    assert catcher.get("/api/v1/messages").json()["total"] == 3
    assert catcher.request("DELETE", "/api/v1/messages").status_code == 200
    assert catcher.get("/api/v1/messages").json()["total"] == 0
    assert catcher.get("/api/v1/message/latest").status_code == 404


def test_mark_read_and_unread(mailcatcher):
    subject = unique("read-flag")
    mailcatcher.send(message(subject))
    message_id = mailcatcher.search(subject)["messages"][0]["ID"]
    assert mailcatcher.search(f"{subject} is:unread")["messages_count"] == 1
    assert mailcatcher.request("PUT", "/api/v1/messages", json={"IDs": [message_id], "Read": True}).status_code == 200
    assert mailcatcher.search(f"{subject} is:read")["messages_count"] == 1
    assert mailcatcher.request("PUT", "/api/v1/messages", json={"IDs": [message_id], "Read": False}).status_code == 200
    assert mailcatcher.search(f"{subject} is:unread")["messages_count"] == 1


def test_health_endpoints(mailcatcher):
    assert mailcatcher.get("/livez").status_code == 200
    assert mailcatcher.get("/readyz").status_code == 200


# Bad input: every case answers a 4xx with a JSON error (HTML/plain for UI pages), never a 5xx.
BAD_REQUESTS = [
    ("GET", "/api/v1/message/abc", None, 404),
    ("GET", "/api/v1/message/0", None, 404),
    ("GET", "/api/v1/message/-1", None, 404),
    ("GET", "/api/v1/message/99999999999999999999999999", None, 404),
    ("GET", "/api/v1/message/%00", None, 404),
    ("GET", "/api/v1/message/..%2F..%2Fetc%2Fpasswd", None, 404),
    ("GET", "/api/v1/message/999999999/raw", None, 404),
    ("GET", "/api/v1/message/999999999/headers", None, 404),
    ("GET", "/api/v1/message/999999999/approval", None, 404),
    ("GET", "/api/v1/message/latest/part/99", None, 404),
    ("GET", "/api/v1/messages?limit=abc", None, 400),
    ("GET", "/api/v1/messages?limit=0", None, 400),
    ("GET", "/api/v1/messages?start=-1", None, 400),
    ("GET", "/api/v1/messages?limit=99999999999999999999999", None, 400),
    ("GET", "/api/v1/search", None, 400),
    ("GET", "/api/v1/search?query=", None, 400),
    ("GET", "/api/v1/search?query=%22unbalanced", None, 400),
    ("GET", "/api/v1/search?query=to%3A", None, 400),
    ("GET", "/api/v1/search?query=is%3Amaybe", None, 400),
    ("GET", "/api/v1/search?query=" + "x" * 2000, None, 400),
    ("GET", "/api/v1/search?query=a&limit=-5", None, 400),
    ("GET", "/api/v1/wait?timeout=abc", None, 400),
    ("GET", "/api/v1/wait?timeout=-1", None, 400),
    ("GET", "/api/v1/wait?timeout=nan", None, 400),
    ("GET", "/api/v1/wait?timeout=1e9", None, 400),
    ("GET", "/api/v1/wait?after=xyz", None, 400),
    ("GET", "/api/v1/wait?query=%22", None, 400),
    ("DELETE", "/api/v1/messages", b"not json", 400),
    ("DELETE", "/api/v1/messages", b'{"IDs": "1"}', 400),
    ("DELETE", "/api/v1/messages", b'{"IDs": [null]}', 400),
    ("DELETE", "/api/v1/messages", b"[1, 2]", 400),
    ("DELETE", "/api/v1/messages", b"\xff\xfe", 400),
    ("PUT", "/api/v1/messages", b'{"Read": "yes"}', 400),
    ("POST", "/api/v1/messages", b"{}", 405),
    ("PATCH", "/api/v1/message/1", None, 405),
    ("GET", "/api/v2/nothing", None, 404),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), BAD_REQUESTS)
def test_bad_input_is_a_clear_4xx(mailcatcher, method, path, body, status):
    response = mailcatcher.request(method, path, data=body)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"Error"}
    assert response.json()["Error"]
    assert "Traceback" not in response.text


@pytest.mark.parametrize("path", ["/view/abc", "/view/999999999", "/view/abc/html", "/nothing-here"])
def test_ui_unknown_pages_are_404(mailcatcher, path):
    response = mailcatcher.get(path)
    assert response.status_code == 404
    assert "Traceback" not in response.text


def test_non_utf8_query_bytes_are_a_4xx_or_handled(mailcatcher):
    host = urlsplit(mailcatcher.url)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    try:
        connection.putrequest("GET", "/api/v1/search?query=%FF%FE", skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 200  # undecodable bytes become replacement characters: a valid, empty search
        response.read()
    finally:
        connection.close()
    assert mailcatcher.get("/readyz").status_code == 200


def test_unknown_smtp_recipients_and_senders_are_accepted(mailcatcher):
    subject = unique("anyone")
    msg = EmailMessage()
    msg["Subject"] = subject
    msg.set_content("no From or To header at all")
    with mailcatcher.smtp() as client:
        client.send_message(msg, from_addr="", to_addrs=["nobody@nowhere.invalid"])
    detail = mailcatcher.only(subject)
    assert detail["From"] == {"Name": "", "Address": ""}
    assert detail["Envelope"]["To"] == ["nobody@nowhere.invalid"]
