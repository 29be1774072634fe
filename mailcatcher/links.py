"""The web links in a mail and what each one says it does (approve, reject or neither).

A link is classified by what it says, in this order: its text, then an ``action=`` (or ``decision=``) query
value, then the last segment of its path — whole words only, so ``ex=RejectTest`` in the query of an approve
link, "disapprove" or a host named ``approve.example`` never decide. A source that names both (or neither) says
nothing and the next one is asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

_REJECT_WORDS = {"reject", "rejected", "deny", "denied", "decline", "declined", "refuse", "refused", "disapprove",
                 "disapproved", "거절", "거부", "반려"}
# Not "confirm": SNS's "Confirm subscription" link (sent to the same inbox) is no approval.
_APPROVE_WORDS = {"approve", "approved", "accept", "accepted", "allow", "승인", "허가", "허용"}
_ACTION_PARAMETERS = ("action", "decision")
_WORD = re.compile(r"[^\W_]+")
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"'\]\[{}|\\^`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)"


@dataclass(frozen=True)
class Link:
    url: str
    text: str
    action: str | None  # "approve", "reject" or None

    def to_api(self) -> dict[str, Any]:
        query = dict(parse_qsl(urlsplit(self.url).query, keep_blank_values=True))
        return {"URL": self.url, "Text": self.text, "Action": self.action, "Query": query}


# Hangul words take particles ("승인하기"): a word that starts with one of these counts.
_REJECT_STEMS = tuple(word for word in _REJECT_WORDS if not word.isascii())
_APPROVE_STEMS = tuple(word for word in _APPROVE_WORDS if not word.isascii())


def _names(word: str, words: set[str], stems: tuple[str, ...]) -> bool:
    return word in words or (not word.isascii() and word.startswith(stems))


def _says(text: str) -> str | None:
    """'approve' or 'reject' when the words of ``text`` name exactly one of them."""
    words = _WORD.findall(text.lower())
    approve = any(_names(word, _APPROVE_WORDS, _APPROVE_STEMS) for word in words)
    reject = any(_names(word, _REJECT_WORDS, _REJECT_STEMS) for word in words)
    if approve == reject:
        return None
    return "approve" if approve else "reject"


def classify_link(url: str, text: str) -> str | None:
    """'approve' or 'reject' from the link text, an action= value, or the last path segment; else None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    actions = " ".join(value for name, value in parse_qsl(parts.query, keep_blank_values=True)
                       if name.lower() in _ACTION_PARAMETERS)
    last_segment = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1])
    for source in (text, actions, last_segment):
        said = _says(source)
        if said is not None:
            return said
    return None


class _HtmlReader(HTMLParser):
    """One pass over a mail's HTML: its visible text (script and style dropped) and its anchors with labels."""

    _SKIP = {"script", "style", "head", "title"}
    _BREAKS = {"br", "p", "div", "tr", "li"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.anchors: list[tuple[str, str]] = []
        self._skipping = 0
        self._href: str | None = None
        self._label: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BREAKS:
            self.chunks.append("\n")
        if tag == "a":
            self._close_anchor()
            self._href = dict(attrs).get("href") or ""
            self._label = []
        elif tag == "img" and self._href is not None:
            self._label.append(dict(attrs).get("alt") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag == "a":
            self._close_anchor()

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.chunks.append(data)
        if self._href is not None:
            self._label.append(data)

    def _close_anchor(self) -> None:
        if self._href is not None:
            self.anchors.append((self._href.strip(), " ".join("".join(self._label).split())))
        self._href = None

    def close(self) -> None:
        super().close()
        self._close_anchor()


def read_html(html: str) -> tuple[str, list[tuple[str, str]]]:
    """(visible text, [(href, label)]) of an HTML body; what was read before a parse error is kept."""
    if not html:
        return "", []
    reader = _HtmlReader()
    try:
        reader.feed(html)
        reader.close()
    except Exception:  # noqa: S110 - keep what was read before the parser gave up
        pass
    return "".join(reader.chunks), reader.anchors


def is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc) and "\\" not in url


def urls_in_text(text: str) -> list[tuple[int, int, str]]:
    """(start, end, url) of each http(s) URL written in plain text (trailing punctuation left out)."""
    found = []
    for match in _URL_IN_TEXT.finditer(text or ""):
        url = match.group(0).rstrip(_TRAILING)
        found.append((match.start(), match.start() + len(url), url))
    return found


def extract_links(text: str, html: str, anchors: list[tuple[str, str]] | None = None) -> list[Link]:
    """http(s) links found in the HTML anchors and the plain text, de-duplicated, HTML labels first.

    Only http(s) URLs are kept: these become clickable buttons in the UI, so javascript: and friends must not.
    ``anchors``: ``read_html(html)[1]`` when already read.
    """
    found: dict[str, str] = {}
    for url, label in read_html(html)[1] if anchors is None else anchors:
        if is_web_url(url) and url not in found:
            found[url] = label
    for _, _, url in urls_in_text(text):
        if is_web_url(url) and url not in found:
            found[url] = ""
    return [Link(url, label, classify_link(url, label)) for url, label in found.items()]
