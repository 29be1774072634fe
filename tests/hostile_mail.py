"""Mail built to be expensive to parse (issue 11 finding 7), shared by the parser's unit tests and the catcher's
fault tests: many attachments, and multiparts nested deeper than any parser should recurse."""

from __future__ import annotations


def many_attachments(count: int, subject: str = "many") -> bytes:
    """A text part, then `count` base64 attachments of the three bytes "ABC"."""
    head = (f"From: a@example.com\r\nTo: b@example.com\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n".encode()
            + b"Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nhello\r\n")
    part = (b"--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; "
            b"filename=\"f.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJD\r\n")
    return head + part * count + b"--B--\r\n"


def deep_multipart(depth: int, subject: str = "deep") -> bytes:
    """`depth` multiparts, each inside the one before, around one text part "deep text"."""
    opening = b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n" % (i - 1, i)
                       for i in range(1, depth))
    closing = b"".join(b"--b%d--\r\n" % i for i in range(depth - 1, -1, -1))
    return (f"Subject: {subject}\r\nFrom: a@example.com\r\n".encode()
            + b"Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n" + opening
            + b"--b%d\r\nContent-Type: text/plain\r\n\r\ndeep text\r\n" % (depth - 1) + closing)
