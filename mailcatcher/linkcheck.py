"""Mailpit's link check: request each http(s) link of a message and report its status.

Only loopback hosts are requested unless the catcher was started with ``--link-check-any-host``: a sandbox
should not make requests to the internet (or the LAN) on a mail author's behalf. Loopback means a literal
loopback address or a ``localhost``/``*.localhost`` name, which is connected to 127.0.0.1 without any DNS
lookup, so a name cannot be re-pointed elsewhere between the check and the request. Each link gets HEAD, then
GET when HEAD is refused; redirects are followed (up to 5, each checked again) only with ``follow=true``.
"""

from __future__ import annotations

import http.client
import ipaddress
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urljoin, urlsplit

MAX_LINKS = 200
MAX_REDIRECTS = 5
TIMEOUT_SECONDS = 5.0


def loopback_address(host: str) -> str | None:
    """The address to connect to for a loopback ``host``, or None when it is not one."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return None
    return str(address) if address.is_loopback else None


def _request(method: str, url: str, any_host: bool) -> tuple[int, str, str | None]:
    """(status code, reason, Location) of one request; code 0 with a reason when it was not made."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    address = loopback_address(host)
    if address is None and not any_host:
        return 0, "not checked: not a loopback host (start the catcher with --link-check-any-host)", None
    connect_to = address or host
    port = parts.port or (443 if parts.scheme == "https" else 80)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = address is None
        connection = http.client.HTTPSConnection(connect_to, port, timeout=TIMEOUT_SECONDS, context=context)
    else:
        connection = http.client.HTTPConnection(connect_to, port, timeout=TIMEOUT_SECONDS)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", parts.netloc.rsplit("@", 1)[-1])
        connection.putheader("User-Agent", "Callback Sandbox mailcatcher link check")
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.reason, response.getheader("Location")
    except (OSError, http.client.HTTPException, ValueError) as error:
        return 0, f"error: {error}", None
    finally:
        connection.close()


def check_link(url: str, follow: bool, any_host: bool) -> dict[str, Any]:
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        code, reason, location = _request("HEAD", current, any_host)
        if code in (405, 501):
            code, reason, location = _request("GET", current, any_host)
        if not (follow and 300 <= code < 400 and location):
            break
        current = urljoin(current, location)
    status = reason if code == 0 else f"{code} {reason}".strip()
    return {"URL": url, "StatusCode": code, "Status": status}


def check_links(urls: list[str], follow: bool, any_host: bool,
                route: Callable[[str], str | None] | None = None) -> dict[str, Any]:
    """Mailpit's LinkCheckResponse: ``Links`` (URL, StatusCode, Status) and ``Errors`` (failed or 4xx/5xx)."""
    unique = list(dict.fromkeys(urls))[:MAX_LINKS]

    def one(url: str) -> dict[str, Any]:
        routed = route(url) if route is not None else None
        result = check_link(routed or url, follow, any_host)
        if routed:
            result = {**result, "URL": url, "Status": f"{result['Status']} (routed to {routed})"}
        return result

    with ThreadPoolExecutor(max_workers=8) as pool:
        links = list(pool.map(one, unique))
    errors = sum(1 for link in links if link["StatusCode"] >= 400
                 or (link["StatusCode"] == 0 and not link["Status"].startswith("not checked")))
    return {"Errors": errors, "Links": links}
