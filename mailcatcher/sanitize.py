"""Sanitised mail HTML for display (nh3): no scripts, handlers, forms, frames or outside fetches.

Links stay links (opening in a new tab); images only from the catcher itself (``cid:`` parts) or ``data:``.
URLs a browser would resolve to another host in a way that is easy to miss — protocol-relative ``//host``,
backslashes (``\\\\host``, ``/\\host``, ``https:\\\\host``: browsers read ``\\`` as ``/``), control characters —
are dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import nh3

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
_LINK_SCHEMES = ("http", "https", "mailto")


def unambiguous(url: str) -> bool:
    """False for URLs whose host a reader cannot tell at a glance: protocol-relative, backslashes, controls."""
    value = url.strip()
    if "\\" in value or any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        return False
    return not value.startswith("//")


def sanitize_html(html: str, cid_url: dict[str, str] | None = None,
                  route_link: Callable[[str], str | None] | None = None) -> str:
    """Sanitised HTML for display: no scripts, handlers or unsafe URLs; links open in a new tab.

    ``cid_url`` maps Content-IDs to same-origin URLs so inline images still show. ``route_link`` may replace a
    link's URL (e.g. an AWS execute-api URL routed to the local gateway); None keeps it.
    """
    cid_url = cid_url or {}

    def rewrite(tag: str, attribute: str, value: str) -> str | None:
        if not unambiguous(value):
            return None
        if tag == "img" and attribute == "src":
            if value.lower().startswith("cid:"):
                return cid_url.get(value[4:].strip("<>"))
            if not (value.lower().startswith("data:image/") or value.startswith("/")):
                return None  # remote images would leave the sandbox (and tell a sender the mail was read)
        if attribute == "href":
            try:
                scheme = urlsplit(value).scheme.lower()
            except ValueError:
                return None
            if scheme not in (*_LINK_SCHEMES, ""):
                return None
            if route_link is not None and scheme in ("http", "https"):
                return route_link(value) or value
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
