"""The catcher's own SMTP server over real sockets: the conversation a client (or a stranger) may hold with it."""

from __future__ import annotations

import socket
import time

import pytest
from mailcatcher_support import unique

from mailcatcher.smtp import MAX_RECIPIENTS


class Conversation:
    """A raw SMTP conversation: send exactly these bytes, read the replies."""

    def __init__(self, catcher) -> None:
        self.sock = socket.create_connection((catcher.smtp_host, catcher.smtp_port), timeout=30)
        self.pending = b""
        assert self.reply().startswith("220")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> str:
        """One whole reply (the last line of a multi-line reply has a space after the code)."""
        lines: list[str] = []
        while True:
            while b"\r\n" not in self.pending:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError(f"closed after {lines}")
                self.pending += chunk
            line, self.pending = self.pending.split(b"\r\n", 1)
            lines.append(line.decode())
            if len(line) < 4 or line[3:4] == b" ":
                return "\n".join(lines)

    def command(self, line: str | bytes) -> str:
        self.send((line.encode() if isinstance(line, str) else line) + b"\r\n")
        return self.reply()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def smtp(mailcatcher):
    conversation = Conversation(mailcatcher)
    assert conversation.command("EHLO tests").startswith("250")
    try:
        yield conversation
    finally:
        conversation.close()


def envelope(smtp: Conversation, to: str = "b@example.com") -> None:
    assert smtp.command("MAIL FROM:<a@example.com>") == "250 OK"
    assert smtp.command(f"RCPT TO:<{to}>") == "250 OK"
    assert smtp.command("DATA").startswith("354")


def test_dot_stuffing_and_bare_lf_lines_arrive_as_written(smtp, mailcatcher):
    subject = unique("stuffed")
    envelope(smtp)
    smtp.send(f"Subject: {subject}\r\n\r\n..leading dot\nbare LF line\r\n.\r\n".encode())
    assert smtp.reply().startswith("250 OK: queued as")
    text = mailcatcher.only(subject)["Text"]
    assert ".leading dot" in text and "..leading" not in text and "bare LF line" in text


def test_a_message_in_one_byte_writes_is_stored_once(smtp, mailcatcher):
    subject = unique("trickle")
    envelope(smtp)
    for byte in f"Subject: {subject}\r\n\r\n{'x' * 300}\r\n.\r\n".encode():
        smtp.send(bytes([byte]))
    assert smtp.reply().startswith("250")
    assert mailcatcher.search(f'subject:"{subject}"')["messages_count"] == 1


def test_pipelined_commands_get_their_replies_in_order(smtp, mailcatcher):
    subject = unique("pipelined")
    smtp.send(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
    assert [smtp.reply(), smtp.reply()] == ["250 OK", "250 OK"] and smtp.reply().startswith("354")
    smtp.send(f"Subject: {subject}\r\n\r\nbody\r\n.\r\nRSET\r\nNOOP\r\n".encode())
    assert smtp.reply().startswith("250 OK: queued") and smtp.reply() == "250 OK" and smtp.reply() == "250 OK"
    assert mailcatcher.search(f'subject:"{subject}"')["messages_count"] == 1


def test_commands_out_of_order_and_bad_syntax_get_5xx_and_the_connection_goes_on(smtp):
    assert smtp.command("RCPT TO:<b@example.com>").startswith("503")
    assert smtp.command("DATA").startswith("503")
    assert smtp.command("MAIL TO:<a@example.com>").startswith("501")
    assert smtp.command("MAIL FROM:<a@example.com>") == "250 OK"
    assert smtp.command("MAIL FROM:<a@example.com>").startswith("503")
    assert smtp.command("RCPT FROM:<b@example.com>").startswith("501")
    assert smtp.command("AUTH PLAIN x").startswith("502")
    assert smtp.command("X" * 30).startswith("500")
    assert smtp.command("NOOP") == "250 OK"


def test_an_over_long_command_line_is_refused_without_closing(smtp):
    smtp.send(b"NOOP " + b"x" * 10_000)
    assert smtp.reply().startswith("500")
    smtp.send(b"\r\n")  # the rest of that line is read as a command of its own
    smtp.reply()
    assert smtp.command("NOOP") == "250 OK"


def test_an_oversized_message_gets_552_and_the_next_one_is_taken(smtp, mailcatcher):
    envelope(smtp)
    smtp.send(b"Subject: big\r\n\r\n" + b"y" * (2 * 1024 * 1024) + b"\r\n.\r\n")  # the fixture's limit is 1 MiB
    assert smtp.reply().startswith("552")
    subject = unique("after-big")
    envelope(smtp)
    smtp.send(f"Subject: {subject}\r\n\r\nsmall\r\n.\r\n".encode())
    assert smtp.reply().startswith("250")
    assert mailcatcher.only(subject)


def test_recipients_are_bounded_per_message(smtp):
    assert smtp.command("MAIL FROM:<a@example.com>") == "250 OK"
    smtp.send(b"".join(b"RCPT TO:<r%d@example.com>\r\n" % i for i in range(MAX_RECIPIENTS + 3)))
    replies = [smtp.reply() for _ in range(MAX_RECIPIENTS + 3)]
    assert replies[:MAX_RECIPIENTS] == ["250 OK"] * MAX_RECIPIENTS
    assert all(reply.startswith("452") for reply in replies[MAX_RECIPIENTS:])
    assert smtp.command("RSET") == "250 OK"


def test_an_address_that_is_not_utf8_is_stored_as_text(smtp, mailcatcher):
    subject = unique("latin1")
    assert smtp.command(b"MAIL FROM:<caf\xe9@example.com>") == "250 OK"
    assert smtp.command(b"RCPT TO:<r\xe9@example.com>") == "250 OK"
    assert smtp.command("DATA").startswith("354")
    smtp.send(f"Subject: {subject}\r\n\r\nbody\r\n.\r\n".encode())
    assert smtp.reply().startswith("250")
    detail = mailcatcher.only(subject)
    assert detail["Envelope"]["To"] == ["r\ufffd@example.com"]


def test_quit_closes_and_the_catcher_stays_healthy(mailcatcher):
    conversation = Conversation(mailcatcher)
    try:
        assert conversation.command("QUIT").startswith("221")
        time.sleep(0.1)
        assert conversation.sock.recv(10) == b""
    finally:
        conversation.close()
    assert mailcatcher.get("/readyz").status_code == 200
