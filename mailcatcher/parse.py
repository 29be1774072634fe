"""Turn raw RFC 5322 bytes into the fields the API and UI show.

Everything here is pure and defensive: mail is untrusted input, so a malformed header or part degrades to its
raw text instead of raising. The store keeps the raw bytes; this module only derives views of them.
"""

from __future__ import annotations

import email
import functools
import re
from dataclasses import dataclass, field
from email import headerregistry, policy
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import nh3

SNIPPET_LENGTH = 250
# Header values longer than this are parsed on every access instead of being kept in the cache.
_CACHED_HEADER_LENGTH = 4096
_LINE_BREAK = re.compile(r"\r|\n")


class _HeaderRegistry(headerregistry.HeaderRegistry):
    """The standard registry, but it builds each header class once: the stock one calls type() per header."""

    @functools.lru_cache(maxsize=256)  # noqa: B019 - one registry for the process's lifetime
    def __getitem__(self, name: str) -> type:
        return super().__getitem__(name)


_HEADERS = _HeaderRegistry()


@functools.lru_cache(maxsize=1024)
def _parsed_header(name: str, value: str) -> Any:
    return _HEADERS(name, value)


class _CachingPolicy(policy.EmailPolicy):
    """``policy.default`` that parses each distinct header once.

    ``policy.default`` builds a new header object on every access, and the MIME walk asks for the same
    Content-Type and Content-Disposition many times per part (the feed parser, ``get_content_type``,
    ``get_param``, ``get_filename``...): that was most of the parsing time. Header objects are immutable, so
    sharing one per (name, value) changes nothing but the cost.
    """

    def header_fetch_parse(self, name, value):  # type: ignore[no-untyped-def]
        if hasattr(value, "name"):
            return value
        value = _LINE_BREAK.sub("", value)  # as policy.default does: \r and \n only, not str.splitlines()
        if len(value) > _CACHED_HEADER_LENGTH:
            return self.header_factory(name, value)
        return _parsed_header(name, value)


_POLICY = _CachingPolicy(header_factory=_HEADERS)


@dataclass
class Part:
    """A leaf MIME part that is not the message body: an attachment or an inline (cid:) resource."""

    part_id: str
    filename: str
    content_type: str
    content_id: str
    size: int

    def to_api(self) -> dict[str, Any]:
        return {
            "PartID": self.part_id,
            "FileName": self.filename,
            "ContentType": self.content_type,
            "ContentID": self.content_id,
            "Size": self.size,
        }


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

    @property
    def snippet(self) -> str:
        return self.snippet_from(html_to_text(self.html) if not self.text else "")

    def snippet_from(self, html_text: str) -> str:
        """The snippet, given ``html_to_text(self.html)`` already computed."""
        source = self.text or html_text
        return " ".join(source.split())[:SNIPPET_LENGTH]


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse raw message bytes; never raises on malformed mail."""
    msg = email.message_from_bytes(raw, policy=_POLICY)
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
    )
    senders = _addresses(msg, "From")
    if senders:
        parsed.from_ = senders[0]
    texts: list[str] = []
    for part_id, part in _leaves(msg, ""):
        _classify_part(part_id or "1", part, parsed, texts)
    parsed.text = "\n".join(texts)
    return parsed


def find_part(raw: bytes, part_id: str) -> tuple[Part, bytes] | None:
    """The attachment or inline part with this PartID and its decoded bytes, or None."""
    msg = email.message_from_bytes(raw, policy=_POLICY)
    for candidate_id, part in _leaves(msg, ""):
        if (candidate_id or "1") == part_id:
            return _describe_part(part_id, part), _part_bytes(part)
    return None


def _clean(value: str) -> str:
    """Undo the parser's surrogate escapes so raw UTF-8 (SMTPUTF8) headers read as text."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _raw_header(msg: Message, name: str) -> str | None:
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _decode_rfc2047(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value


def _header_text(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
        return "" if value is None else _clean(str(value))
    except Exception:  # policy.default can raise on some malformed headers; fall back to the raw text
        raw = _raw_header(msg, name)
        return "" if raw is None else _clean(_decode_rfc2047(" ".join(raw.split())))


def _addresses(msg: Message, name: str) -> list[dict[str, str]]:
    result: list[dict[str, str]] = []
    try:
        for header in msg.get_all(name) or []:
            for address in header.addresses:  # type: ignore[union-attr,attr-defined]
                addr_spec = "" if address.addr_spec == "<>" else address.addr_spec  # "<>": no address at all
                if addr_spec or address.display_name:
                    result.append({"Name": _clean(address.display_name), "Address": _clean(addr_spec)})
        return result
    except Exception:
        raw = _raw_header(msg, name)
        if raw is None:
            return []
        return [
            {"Name": _clean(_decode_rfc2047(display)), "Address": _clean(address)}
            for display, address in getaddresses([raw])
            if display or address
        ]


def _date(msg: Message) -> str:
    try:
        header = msg.get("Date")
        moment = getattr(header, "datetime", None)
        return moment.isoformat() if moment is not None else ""
    except Exception:
        return ""


def _all_headers(msg: Message) -> list[tuple[str, str]]:
    headers = []
    for key, raw in msg.raw_items():
        headers.append((key, _clean(_decode_rfc2047(" ".join(str(raw).split())))))
    return headers


def _leaves(part: Message, part_id: str):
    """Yield (PartID, part) for each leaf in MIME order; PartIDs are dotted positions like Mailpit's."""
    payload = part.get_payload()
    if part.get_content_maintype() == "multipart" and isinstance(payload, list):
        for index, child in enumerate(payload, start=1):
            child_id = f"{part_id}.{index}" if part_id else str(index)
            yield from _leaves(child, child_id)
    else:
        # message/rfc822 stays a leaf: an attached mail is an attachment, not part of this body.
        yield part_id, part


def _classify_part(part_id: str, part: Message, parsed: ParsedMessage, texts: list[str]) -> None:
    described = _describe_part(part_id, part)
    disposition = _safe(part.get_content_disposition, None)
    is_body_type = described.content_type in ("text/plain", "text/html") or part.get_content_maintype() == (
        "multipart"  # a multipart without a usable boundary: show its text rather than hide it
    )
    if is_body_type and disposition != "attachment" and not described.filename:
        content = _part_text(part).replace("\r\n", "\n")
        if described.content_type == "text/html":
            if not parsed.html:
                parsed.html = content
        else:
            texts.append(content)
    elif described.content_id and disposition != "attachment":
        parsed.inline.append(described)
    else:
        parsed.attachments.append(described)


def _safe(getter, default):
    try:
        return getter()
    except Exception:
        return default


def _describe_part(part_id: str, part: Message) -> Part:
    filename = _safe(part.get_filename, None) or ""
    content_type = _safe(part.get_content_type, "application/octet-stream")
    if not filename and content_type == "message/rfc822":
        filename = "message.eml"
    content_id = (_header_text(part, "Content-ID") or "").strip().strip("<>")
    return Part(part_id, _clean(filename), content_type, content_id, len(_part_bytes(part)))


def _part_bytes(part: Message) -> bytes:
    payload = part.get_payload()
    if isinstance(payload, list):  # message/rfc822: the attached message itself
        return _safe(lambda: payload[0].as_bytes(), b"") if payload else b""  # type: ignore[union-attr]
    data = _safe(lambda: part.get_payload(decode=True), None)
    return data if isinstance(data, bytes) else b""


def _part_text(part: Message) -> str:
    declared = str(_safe(lambda: part.get_param("charset"), None) or "").lower()
    if declared in ("", "us-ascii", "ascii"):
        # No (or an ASCII) charset but 8-bit bytes: in practice that is UTF-8 (SMTPUTF8/8BITMIME senders).
        try:
            return _part_bytes(part).decode("utf-8")
        except UnicodeDecodeError:
            pass
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return _clean(content)
    except Exception:  # noqa: S110 - unknown charset or broken transfer encoding: decode leniently below
        pass
    data = _part_bytes(part)
    try:
        return data.decode(declared or "utf-8", "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


class _TextExtractor(HTMLParser):
    """Visible text of an HTML document (script and style content dropped)."""

    _SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in ("br", "p", "div", "tr", "li"):
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    if not html:
        return ""
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:
        return ""
    return "".join(extractor.chunks)


# --- links and approval actions ------------------------------------------------------------------------------

# Reject words are checked first because "disapprove" contains "approve".
_REJECT_WORDS = ("reject", "deny", "decline", "refuse", "disapprove", "거절", "거부", "반려")
_APPROVE_WORDS = ("approve", "accept", "confirm", "allow", "승인", "허가", "허용")
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"'\]\[{}|\\^`]+", re.IGNORECASE)


@dataclass(frozen=True)
class Link:
    url: str
    text: str
    action: str | None  # "approve", "reject" or None

    def to_api(self) -> dict[str, Any]:
        query = dict(parse_qsl(urlsplit(self.url).query, keep_blank_values=True))
        return {"URL": self.url, "Text": self.text, "Action": self.action, "Query": query}


def classify_link(url: str, text: str) -> str | None:
    """'approve' or 'reject' when the link text (or else its path and query) says so."""
    parts = urlsplit(url)
    for source in (text.lower(), f"{parts.path}?{parts.query}".lower()):
        if any(word in source for word in _REJECT_WORDS):
            return "reject"
        if any(word in source for word in _APPROVE_WORDS):
            return "approve"
    return None


class _AnchorCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "a":
            self._close()
            self._href = dict(attrs).get("href") or ""
            self._text = []
        elif tag == "img" and self._href is not None:
            self._text.append(dict(attrs).get("alt") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._close()

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def _close(self) -> None:
        if self._href is not None:
            self.anchors.append((self._href.strip(), " ".join("".join(self._text).split())))
        self._href = None

    def close(self) -> None:
        super().close()
        self._close()


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def extract_links(text: str, html: str) -> list[Link]:
    """http(s) links found in the HTML anchors and the plain text, de-duplicated, HTML labels first.

    Only http(s) URLs are kept: these become clickable buttons in the UI, so javascript: and friends must not.
    """
    found: dict[str, str] = {}
    if html:
        collector = _AnchorCollector()
        try:
            collector.feed(html)
            collector.close()
        except Exception:  # noqa: S110 - keep the anchors found before the parser gave up
            pass
        for url, label in collector.anchors:
            if _is_web_url(url) and url not in found:
                found[url] = label
    for match in _URL_IN_TEXT.finditer(text or ""):
        url = match.group(0).rstrip(".,;:!?)")
        if _is_web_url(url) and url not in found:
            found[url] = ""
    return [Link(url, label, classify_link(url, label)) for url, label in found.items()]


# --- HTML sanitising -----------------------------------------------------------------------------------------

_TAGS = set(nh3.ALLOWED_TAGS) | {"tfoot", "font"}
_ATTRIBUTES: dict[str, set[str]] = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
_ATTRIBUTES.setdefault("*", set()).update({"style", "title", "dir", "lang", "align", "valign", "width", "height"})
for _tag in ("table", "td", "th", "tr", "tbody", "thead", "tfoot"):
    _ATTRIBUTES.setdefault(_tag, set()).update({"bgcolor", "border", "cellpadding", "cellspacing"})
_ATTRIBUTES.setdefault("font", set()).update({"color", "face", "size"})
_ATTRIBUTES["a"] = {"href", "hreflang"}  # rel and target are forced below
# Only properties that cannot fetch anything (no url(), no background-image) survive in style attributes.
_STYLE_PROPERTIES = {
    "background-color", "border", "border-bottom", "border-collapse", "border-color", "border-left",
    "border-radius", "border-right", "border-spacing", "border-style", "border-top", "border-width", "color",
    "display", "font", "font-family", "font-size", "font-style", "font-weight", "height", "letter-spacing",
    "line-height", "margin", "margin-bottom", "margin-left", "margin-right", "margin-top", "max-width",
    "min-width", "padding", "padding-bottom", "padding-left", "padding-right", "padding-top", "text-align",
    "text-decoration", "text-transform", "vertical-align", "white-space", "width", "word-break",
}


def sanitize_html(html: str, cid_url: dict[str, str] | None = None) -> str:
    """Sanitised HTML for display: no scripts, handlers or unsafe URLs; links open in a new tab.

    ``cid_url`` maps Content-IDs to same-origin URLs so inline images still show.
    """
    cid_url = cid_url or {}

    def rewrite(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            if value.lower().startswith("cid:"):
                return cid_url.get(value[4:].strip("<>"))
            if not (value.lower().startswith("data:image/") or value.startswith("/")):
                return None  # remote images would leave the sandbox (and tell a sender the mail was read)
        if attribute == "href" and urlsplit(value).scheme.lower() not in ("http", "https", "mailto", ""):
            return None
        return value

    return nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags={"script", "style", "title"},
        attributes=_ATTRIBUTES,
        attribute_filter=rewrite,
        url_schemes={"http", "https", "mailto", "cid", "data"},
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        filter_style_properties=_STYLE_PROPERTIES,
    )
