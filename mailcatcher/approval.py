"""The approval view of a message: its links, which of them are Approve and Reject buttons, and where each opens.

Two rules decide what becomes a button:

- Links are classified by what they say (``links.classify_link``).
- Trusted decision links: a host app (the sandbox's web UI) names the URL prefixes of its own decision API.
  A mail carrying a link under one of them is that app's own approval mail, and in it only those links can be
  buttons: a URL a requester wrote into the request text never can. If such a mail carries more than one
  different decision link for the same action (a requester pasted another request's link), none is a button.

Links to AWS execute-api hosts are routed to the local gateway (``gateway.route``); each link keeps its
``OriginalURL`` and says whether it was ``Routed``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from .links import Link, classify_link

log = logging.getLogger("mailcatcher.approval")

MessageLinks = Callable[[dict[str, Any]], list[dict[str, str]]]
Router = Callable[[str], str | None]
TrustedPrefixes = Sequence[str] | Callable[[], Sequence[str]]


def _split_prefix(prefix: str) -> tuple[str, str, str] | None:
    try:
        parts = urlsplit(prefix.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return parts.scheme.lower(), parts.netloc.lower(), path


def is_trusted(url: str, prefixes: Sequence[str]) -> bool:
    """Whether ``url`` lies under one of ``prefixes`` (same scheme and host:port, path below the prefix's)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    for prefix in prefixes:
        split = _split_prefix(prefix)
        if split and (parts.scheme.lower(), parts.netloc.lower()) == split[:2] and parts.path.startswith(split[2]):
            return True
    return False


def resolve_prefixes(trusted: TrustedPrefixes | None) -> list[str]:
    if trusted is None:
        return []
    try:
        return [p for p in (trusted() if callable(trusted) else trusted) if p]
    except Exception:
        log.exception("the trusted decision-link prefixes could not be read; no link is trusted")
        return []


def link_view(url: str, text: str, action: str | None, route: Router | None) -> dict[str, Any]:
    routed = route(url) if route is not None else None
    shown = Link(routed or url, text, action).to_api()
    return {**shown, "OriginalURL": url, "Routed": routed is not None}


def approval_view(message_id: str, subject: str, links: list[dict[str, str]], *,
                  trusted: TrustedPrefixes | None = None, route: Router | None = None,
                  message_links: MessageLinks | None = None, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """``/api/v1/message/{ID}/approval``: Approve, Reject (the buttons), every Links entry, Related links."""
    prefixes = resolve_prefixes(trusted)
    classified = []
    for link in links:
        url, text = link["URL"], link.get("Text", "")
        routed = route(url) if route is not None else None
        trusted_link = bool(prefixes) and (is_trusted(url, prefixes) or bool(routed and is_trusted(routed, prefixes)))
        classified.append((url, text, classify_link(url, text), trusted_link))
    own_mail = any(trusted_link for *_, trusted_link in classified)
    notes: list[str] = []
    if own_mail:  # only the app's own decision links can be buttons here
        classified = [(u, t, action if ok else None, ok) for u, t, action, ok in classified]
        for action in ("approve", "reject"):
            urls = {u for u, _, a, _ in classified if a == action}
            if len(urls) > 1:
                notes.append(f"This mail carries {len(urls)} different {action} links to the decision API, so none "
                             "is shown as a button; check the Links tab.")
                classified = [(u, t, None if a == action else a, ok) for u, t, a, ok in classified]
    views = [{**link_view(url, text, action, route), "Trusted": ok} for url, text, action, ok in classified]
    related: list[dict[str, str]] = []
    if message_links is not None:
        try:
            related = list(message_links({**(detail or {}), "Links": views}))
        except Exception:
            log.exception("message_links hook failed for message %s", message_id)
    return {
        "ID": message_id,
        "Subject": subject,
        "Approve": [view for view in views if view["Action"] == "approve"],
        "Reject": [view for view in views if view["Action"] == "reject"],
        "Links": views,
        "Related": related,
        "Notes": notes,
    }
