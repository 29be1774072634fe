"""Turn raw RFC 5322 bytes into the fields the API and UI show, once, when a message is stored.

Everything here is pure and defensive: mail is untrusted input, so a malformed header or part degrades to its
raw text instead of raising, and the work per message is bounded (``mime.split``: nesting depth and part
count). What was left out is listed in ``ParsedMessage.notes``; the raw bytes stay whole in the store.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from email import headerregistry
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses
from typing import Any

from . import mime
from .links import read_html

SNIPPET_LENGTH = 250
# Header values longer than this are parsed on every access instead of being kept in the cache.
_CACHED_HEADER_LENGTH = 4096
_LINE_BREAK = re.compile(r"\r|\n")
_ANGLE = re.compile(r"<([^>]*)>")


class _HeaderRegistry(headerregistry.HeaderRegistry):
    """The standard registry, but it builds each header class once: the stock one calls type() per header."""

    @functools.lru_cache(maxsize=256)  # noqa: B019 - one registry for the process's lifetime
    def __getitem__(self, name: str) -> type:
        return super().__getitem__(name)


_HEADERS = _HeaderRegistry()


@functools.lru_cache(maxsize=1024)
def _parsed_header(name: str, value: str) -> Any:
    return _HEADERS(name, value)


@dataclass
class Part:
    """A leaf MIME part that is not the message body: an attachment or an inline (cid:) resource."""

    part_id: str
    filename: str
    content_type: str
    content_id: str
    size: int
    checksums: dict[str, str]
    start: int  # where the encoded content lies in the raw message, and how it is encoded
    end: int
    encoding: str

    def to_api(self) -> dict[str, Any]:
        return {
            "PartID": self.part_id,
            "FileName": self.filename,
            "ContentType": self.content_type,
            "ContentID": self.content_id,
            "Size": self.size,
            "Checksums": self.checksums,
        }

    def to_stored(self) -> dict[str, Any]:
        return {**self.to_api(), "Span": [self.start, self.end, self.encoding]}


@dataclass
class ParsedMessage:
    message_id: str = ""
    from_: dict[str, str] = field(default_factory=lambda: {"Name": "", "Address": ""})
    to: list[dict[str, str]] = field(default_factory=list)
    cc: list[dict[str, str]] = field(default_factory=list)
    bcc: list[dict[str, str]] = field(default_factory=list)
    reply_to: list[dict[str, str]] = field(default_factory=list)
    return_path: str = ""
    subject: str = ""
    date: str = ""
    text: str = ""
    html: str = ""
    attachments: list[Part] = field(default_factory=list)
    inline: list[Part] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    list_unsubscribe: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def snippet(self) -> str:
        return self.snippet_from(html_to_text(self.html) if not self.text else "")

    def snippet_from(self, html_text: str) -> str:
        """The snippet, given ``html_to_text(self.html)`` already computed."""
        source = self.text or html_text
        return " ".join(source.split())[:SNIPPET_LENGTH]


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse raw message bytes; never raises on malformed mail, and costs at most ``mime.MAX_PARTS`` parts."""
    found = mime.split(raw)
    msg = found.headers
    parsed = ParsedMessage(
        message_id=_header_text(msg, "Message-ID").strip().strip("<>"),
        to=_addresses(msg, "To"),
        cc=_addresses(msg, "Cc"),
        bcc=_addresses(msg, "Bcc"),
        reply_to=_addresses(msg, "Reply-To"),
        return_path=_header_text(msg, "Return-Path").strip().strip("<>"),
        subject=_header_text(msg, "Subject"),
        date=_date(msg),
        headers=_all_headers(msg),
        list_unsubscribe=_list_unsubscribe(msg),
        notes=list(found.notes),
    )
    senders = _addresses(msg, "From")
    if senders:
        parsed.from_ = senders[0]
    texts: list[str] = []
    for leaf in found.leaves:
        _classify_part(raw, leaf, parsed, texts)
    parsed.text = "\n".join(texts)
    return parsed


def part_bytes(raw: bytes, span: list[Any]) -> bytes:
    """A stored part's decoded content, from its ``Span`` ([start, end, transfer encoding])."""
    start, end, encoding = span
    return mime.decode_body(raw, int(start), int(end), str(encoding))


def _clean(value: str) -> str:
    """Undo the parser's surrogate escapes so raw UTF-8 (SMTPUTF8) headers read as text."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _raw_values(msg: Message, name: str) -> list[str]:
    """A header's raw values (compat32's get() would wrap ones holding 8-bit bytes in Header objects)."""
    index = getattr(msg, "_by_name", None)
    if index is None:  # built once per message: a dozen lookups would each walk every header
        index = {}
        for key, value in msg.raw_items():
            index.setdefault(key.lower(), []).append(str(value))
        msg._by_name = index  # type: ignore[attr-defined]
    return index.get(name.lower(), [])


def _raw_header(msg: Message, name: str) -> str | None:
    values = _raw_values(msg, name)
    return values[0] if values else None


def _decode_rfc2047(value: str) -> str:
    if "=?" not in value:  # no encoded word: decode_header + make_header would give the value back, at ~10 us
        return value
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value


def _header(name: str, value: str) -> Any:
    """``policy.default``'s header object for one raw value (cached per distinct value)."""
    value = _LINE_BREAK.sub("", value)  # as policy.default does: \r and \n only, not str.splitlines()
    if len(value) > _CACHED_HEADER_LENGTH:
        return _HEADERS(name, value)
    return _parsed_header(name, value)


def _header_text(msg: Message, name: str) -> str:
    raw = _raw_header(msg, name)
    if raw is None:
        return ""
    try:
        return _clean(str(_header(name, raw)))
    except Exception:  # policy.default can raise on some malformed headers; fall back to the raw text
        return _clean(_decode_rfc2047(" ".join(raw.split())))


def _addresses(msg: Message, name: str) -> list[dict[str, str]]:
    result: list[dict[str, str]] = []
    raws = _raw_values(msg, name)
    try:
        for raw in raws:
            for address in _header(name, raw).addresses:
                addr_spec = "" if address.addr_spec == "<>" else address.addr_spec  # "<>": no address at all
                if addr_spec or address.display_name:
                    result.append({"Name": _clean(address.display_name), "Address": _clean(addr_spec)})
        return result
    except Exception:
        return [
            {"Name": _clean(_decode_rfc2047(display)), "Address": _clean(address)}
            for display, address in getaddresses(raws)
            if display or address
        ]


def _date(msg: Message) -> str:
    raw = _raw_header(msg, "Date")
    try:
        moment = getattr(_header("Date", raw), "datetime", None) if raw is not None else None
        return moment.isoformat() if moment is not None else ""
    except Exception:
        return ""


def _all_headers(msg: Message) -> list[tuple[str, str]]:
    return [(key, _clean(_decode_rfc2047(" ".join(str(raw).split())))) for key, raw in msg.raw_items()]


def _list_unsubscribe(msg: Message) -> dict[str, Any]:
    """Mailpit's ListUnsubscribe summary: the header, its links (one mailto:, one http(s)) and what is wrong."""
    header = " ".join((_raw_header(msg, "List-Unsubscribe") or "").split())
    post = " ".join((_raw_header(msg, "List-Unsubscribe-Post") or "").split())
    links: list[str] = []
    errors: list[str] = []
    if header:
        for link in _ANGLE.findall(header):
            scheme = link.split(":", 1)[0].lower()
            if scheme in ("mailto", "http", "https") and not any(existing.startswith(scheme) for existing in links):
                links.append(link)
            else:
                errors.append(f"unexpected link {link!r}")
        if not links:
            errors.append("no <mailto:...> or <https://...> link")
    if post and post.lower() != "list-unsubscribe=one-click":
        errors.append("List-Unsubscribe-Post should be 'List-Unsubscribe=One-Click'")
    return {"Header": header, "HeaderPost": post, "Links": links, "Errors": "; ".join(errors)}


def _safe(getter, default):
    try:
        return getter()
    except Exception:
        return default


def _describe(raw: bytes, leaf: mime.Leaf) -> tuple[Part, bytes]:
    part = leaf.headers
    filename = _filename(part)
    content_type = _safe(part.get_content_type, "application/octet-stream")
    if not filename and content_type == "message/rfc822":
        filename = "message.eml"
    content_id = " ".join((_raw_header(part, "Content-ID") or "").split()).strip("<>")
    encoding = (_raw_header(part, "Content-Transfer-Encoding") or "").strip().lower()
    data = mime.decode_body(raw, leaf.start, leaf.end, encoding)
    checksums = {
        "MD5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
        "SHA1": hashlib.sha1(data, usedforsecurity=False).hexdigest(),
        "SHA256": hashlib.sha256(data).hexdigest(),
    }
    described = Part(leaf.part_id, filename, content_type, content_id, len(data), checksums,
                     leaf.start, leaf.end, encoding)
    return described, data


def _filename(part: Message) -> str:
    """The part's file name: RFC 2231 (what get_filename decodes) or RFC 2047 (what mailers also send)."""
    name = _safe(part.get_filename, None) or ""
    return _clean(_decode_rfc2047(str(name))) if name else ""


def _classify_part(raw: bytes, leaf: mime.Leaf, parsed: ParsedMessage, texts: list[str]) -> None:
    part = leaf.headers
    disposition = _safe(part.get_content_disposition, None)
    content_type = _safe(part.get_content_type, "application/octet-stream")
    filename = _filename(part)
    is_body_type = content_type in ("text/plain", "text/html") or _safe(part.get_content_maintype, "") == (
        "multipart"  # a multipart without a usable boundary: show its text rather than hide it
    )
    if is_body_type and disposition != "attachment" and not filename:
        encoding = _raw_header(part, "Content-Transfer-Encoding") or ""
        data = mime.decode_body(raw, leaf.start, leaf.end, encoding)
        content = _text(data, str(_safe(lambda: part.get_param("charset"), None) or "")).replace("\r\n", "\n")
        if content_type == "text/html":
            if not parsed.html:
                parsed.html = content
        else:
            texts.append(content)
        return
    described, _ = _describe(raw, leaf)
    if described.content_id and disposition != "attachment":
        parsed.inline.append(described)
    else:
        parsed.attachments.append(described)


def _text(data: bytes, charset: str) -> str:
    declared = charset.strip().lower()
    if declared in ("", "us-ascii", "ascii"):
        # No (or an ASCII) charset but 8-bit bytes: in practice that is UTF-8 (SMTPUTF8/8BITMIME senders).
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("latin-1")
    try:
        return data.decode(declared, "replace")
    except (LookupError, ValueError):
        return data.decode("utf-8", "replace")


def html_to_text(html: str) -> str:
    return read_html(html)[0]
