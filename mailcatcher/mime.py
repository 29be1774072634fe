"""A bounded MIME splitter: where each part of a message is, without building a tree of the whole mail.

Python's feed parser is quadratic on mails with many parts (a 3 MB mail with 20,000 attachments: 5 s with
``compat32``, 80 s with ``policy.default``) and recursive (1,000 nested multiparts: RecursionError). This
module walks the raw bytes instead: it finds each multipart's delimiter lines with ``bytes.find`` (linear),
descends at most ``MAX_DEPTH`` levels and lists at most ``MAX_PARTS`` leaves, and parses only the small header
block of each part it lists (by hand, into ``compat32`` Messages: structure needs no header objects). What it
leaves out is reported in ``Split.notes``; the raw mail is kept whole by the store, so nothing is lost, only
not shown.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

MAX_DEPTH = 20
MAX_PARTS = 1000
# A header line: a field name and a colon. Anything else (outside a folded continuation) ends the header block.
_HEADER_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")
_BASE64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")


@dataclass(frozen=True)
class Leaf:
    """A part that is not a multipart: where its body lies in the raw bytes, and its parsed headers."""

    part_id: str  # Mailpit's dotted position: "1", "2.1", ...
    headers: Message  # header fields only (no payload)
    start: int
    end: int


@dataclass
class Split:
    headers: Message
    leaves: list[Leaf] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def header_end(raw: bytes, start: int, end: int) -> tuple[int, int]:
    """(end of the header block, start of the body) for the entity in raw[start:end].

    The block ends at the first empty line, or at the first line that is neither a header field nor a folded
    continuation (as the feed parser treats a missing separator); the body then starts at that line.
    """
    position = start
    while position < end:
        newline = raw.find(b"\n", position, end)
        line_end = end if newline < 0 else newline + 1
        line = raw[position:line_end]
        if line in (b"\r\n", b"\n") or line == b"\r":
            return position, line_end
        if not (_HEADER_LINE.match(line) or (position > start and line[:1] in (b" ", b"\t"))):
            return position, position
        position = line_end
    return end, end


class Headers(Message):
    """A header block with ``compat32`` semantics, whose headers' parameters are parsed once each.

    A part's Content-Type parameters are asked for three or four times (type, charset, boundary, file name), and
    nothing changes a header block after ``parse_headers``; parsing them again was a tenth of a message's cost.
    """

    def _get_params_preserve(self, failobj: Any, header: str) -> Any:
        cache: dict[str, Any] = self.__dict__.setdefault("_params", {})
        key = header.lower()
        if key not in cache:
            cache[key] = super()._get_params_preserve(None, header)  # type: ignore[misc]
        params = cache[key]
        return failobj if params is None else list(params)


def parse_headers(raw: bytes, start: int, end: int) -> Message:
    """The header block raw[start:end] as a ``compat32`` Message without a payload: raw values, folding kept,
    bytes that are not ASCII kept as surrogate escapes (as the feed parser does, at a tenth of its cost)."""
    message = Headers()
    name: str | None = None
    value: list[str] = []
    for line in raw[start:end].split(b"\n"):
        text = line.rstrip(b"\r").decode("ascii", "surrogateescape")
        if text[:1] in (" ", "\t") and name is not None:
            value.append(text)
            continue
        if name is not None:
            message.set_raw(name, "\r\n".join(value))
        field, colon, rest = text.partition(":")
        name, value = (field.strip(), [rest.lstrip(" \t")]) if colon and field.strip() else (None, [])
    if name is not None:
        message.set_raw(name, "\r\n".join(value))
    return message


def _boundary(headers: Message) -> bytes | None:
    try:
        if headers.get_content_maintype() != "multipart":
            return None
        boundary = headers.get_boundary()
    except Exception:
        return None
    if not boundary:
        return None
    try:
        return boundary.encode("ascii")
    except UnicodeEncodeError:
        return None


def _delimiters(raw: bytes, start: int, end: int, boundary: bytes) -> tuple[list[tuple[int, int]], bool]:
    """[(line start, next line start)] of each ``--boundary`` line in raw[start:end], and whether the last one is
    the closing ``--boundary--`` (the parts end there). ``bytes.find`` for the marker, so the scan is linear and
    in C; only lines that start with it are looked at (no per-message regular expression to compile)."""
    marker = b"--" + boundary
    found: list[tuple[int, int]] = []
    def next_line(position: int) -> int:  # where the next line starting with the marker starts, or -1
        at = raw.find(b"\n" + marker, position, end)
        return at + 1 if at >= 0 else -1

    at = start if raw.startswith(marker, start) else next_line(start)
    while at >= 0:
        after = at + len(marker)
        newline = raw.find(b"\n", after, end)
        line_end = end if newline < 0 else newline + 1
        rest = raw[after:line_end]
        if rest.startswith(b"--"):
            found.append((at, line_end))
            return found, True
        if not rest.strip():  # a marker followed by other text is not a delimiter (e.g. a longer boundary)
            found.append((at, line_end))
        at = next_line(after)
    return found, False


def _trim_line_break(raw: bytes, start: int, end: int) -> int:
    """The CRLF (or LF) before a delimiter belongs to the delimiter, not to the part."""
    if end > start and raw[end - 1 : end] == b"\n":
        end -= 1
        if end > start and raw[end - 1 : end] == b"\r":
            end -= 1
    return end


def split(raw: bytes, max_depth: int = MAX_DEPTH, max_parts: int = MAX_PARTS) -> Split:
    """The message's headers and its leaf parts in MIME order, within the depth and part limits.

    ``max_parts`` bounds the parts whose headers are parsed (multiparts included), so the work per message is
    bounded whatever it holds; a multipart without a usable boundary is one leaf (its text is still shown).
    """
    head_end, body = header_end(raw, 0, len(raw))
    result = Split(parse_headers(raw, 0, head_end))
    # Depth-first with an explicit stack, so nesting never touches Python's recursion limit.
    stack: list[tuple[Message, int, int, str, int]] = [(result.headers, body, len(raw), "", 0)]
    parsed = 1
    too_deep = 0
    while stack:
        headers, start, end, part_id, depth = stack.pop()
        boundary = _boundary(headers)
        if boundary is not None and depth >= max_depth:
            too_deep += 1
            boundary = None
        delimiters, closed = _delimiters(raw, start, end, boundary) if boundary is not None else ([], False)
        opening = delimiters[:-1] if closed else delimiters
        if not opening:
            result.leaves.append(Leaf(part_id or "1", headers, start, end))
            continue
        children: list[tuple[Message, int, int, str, int]] = []
        for index, (_, part_start) in enumerate(opening):
            if parsed >= max_parts:
                left = len(opening) - index
                where = f"inside part {part_id}" if part_id else "of the message"
                result.notes.append(f"{left:,} more parts {where} are not listed (at most {max_parts:,} parts are "
                                    "read per message); they are in the raw source.")
                break
            part_end = delimiters[index + 1][0] if index + 1 < len(delimiters) else end
            part_end = _trim_line_break(raw, part_start, part_end)
            child_head_end, child_body = header_end(raw, part_start, part_end)
            child_id = f"{part_id}.{index + 1}" if part_id else str(index + 1)
            children.append((parse_headers(raw, part_start, child_head_end), child_body, part_end,
                             child_id, depth + 1))
            parsed += 1
        stack.extend(reversed(children))
    if too_deep:
        result.notes.append(f"Multiparts nested deeper than {max_depth} levels are shown as single parts "
                            f"({too_deep:,} of them); their contents are in the raw source.")
    return result


def decode_body(raw: bytes, start: int, end: int, transfer_encoding: str) -> bytes:
    """The part's content with its Content-Transfer-Encoding undone (leniently, as mail readers do)."""
    data = raw[start:end]
    encoding = transfer_encoding.strip().lower()
    if encoding == "base64":
        cleaned = _BASE64_JUNK.sub(b"", data)  # line breaks, padding and junk; the padding is put back below
        if len(cleaned) % 4 == 1:
            cleaned = cleaned[:-1]
        cleaned += b"=" * (-len(cleaned) % 4)
        try:
            return binascii.a2b_base64(cleaned)
        except binascii.Error:
            return b""
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    return data
