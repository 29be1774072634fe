"""What every HTTP request to the catcher (and the pages mounted in it) passes first: an ASGI middleware.

A hostile web page runs in the same browser as the person using the sandbox. It must not read the API or act
on it:

- **Host allowlist** (DNS rebinding): a page served as ``http://evil.example:8025`` with its DNS pointed at
  127.0.0.1 is same-origin with itself, so the browser lets it read our answers. The ``Host`` header still
  says ``evil.example``, so requests for any host but loopback names (``localhost``, ``*.localhost``,
  ``127.0.0.1``, ``[::1]``), the address the catcher listens on and the names an operator allows are refused
  with 403 before any handler runs or any body is read — the way webpack-dev-server and Vite guard theirs.
- **Cross-site writes**: a POST/PUT/PATCH/DELETE that the browser marks as coming from another site
  (``Sec-Fetch-Site: cross-site``/``same-site``) or whose ``Origin`` is not this server's is refused with 403.
  Clients that send neither header (curl, test clients, the API clients) are unaffected.
- **Framing**: every answer forbids framing by other origins (``X-Frame-Options: SAMEORIGIN``, and CSP
  ``frame-ancestors 'self'`` where a page sets no policy of its own).
- **Over-long URLs** get 414 instead of a dropped connection.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from typing import Any

Scope = dict[str, Any]

MAX_URL_BYTES = 16 * 1024
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_WILDCARD_BINDS = {"", "0.0.0.0", "::"}


def _normalise(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def host_name(header: str) -> str:
    """The host name of a Host header value (``[::1]:8025`` -> ``::1``, ``Example.COM.`` -> ``example.com``)."""
    value = header.strip()
    if value.startswith("["):
        return _normalise(value[1 : value.find("]")] if "]" in value else value)
    name, _, port = value.rpartition(":")
    if name and port.isdigit() and ":" not in name:
        value = name
    return _normalise(value)


class HostAllowlist:
    """Which Host header names are served. Entries: exact names, ``.example.com`` (it and its subdomains) or
    ``*`` (any host: turns the protection off)."""

    def __init__(self, bind: Iterable[str] = (), extra: Iterable[str] = ()) -> None:
        self.names = {*LOOPBACK_NAMES}
        self.suffixes = [".localhost"]
        self.any = False
        for address in bind:
            if _normalise(address) not in _WILDCARD_BINDS:
                self.names.add(_normalise(address))
        for entry in extra:
            name = _normalise(entry)
            if name == "*":
                self.any = True
            elif name.startswith("."):
                self.suffixes.append(name)
                self.names.add(name[1:])
            elif name:
                self.names.add(name)

    def allows(self, header: str) -> bool:
        if self.any:
            return True
        name = host_name(header)
        if not name:
            return False
        if name in self.names or any(name.endswith(suffix) for suffix in self.suffixes):
            return True
        try:
            return ipaddress.ip_address(name).is_loopback
        except ValueError:
            return False


def _headers(scope: Scope) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in scope.get("headers", []):
        name = key.decode("latin-1").lower()
        if name not in found:  # a repeated Host/Origin: the first counts (h11 refuses a repeated Host anyway)
            found[name] = value.decode("latin-1")
    return found


class Guard:
    """The ASGI middleware. ``hint`` names the option that allows another host (shown in the refusal)."""

    def __init__(self, app: Any, allowlist: HostAllowlist, hint: str = "--allowed-hosts") -> None:
        self.app = app
        self.allowlist = allowlist
        self.hint = hint

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        problem = self._problem(scope, headers)
        if problem is not None:
            await _refuse(scope, send, *problem)
            return

        async def send_guarded(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(b"x-frame-options", b"SAMEORIGIN"), (b"cross-origin-resource-policy", b"same-origin")]
                if b"content-security-policy" not in names:
                    extra.append((b"content-security-policy", b"frame-ancestors 'self'"))
                message = {**message, "headers": [*message.get("headers", []),
                                                  *(h for h in extra if h[0] not in names)]}
            await send(message)

        await self.app(scope, receive, send_guarded)

    def _problem(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        host = headers.get("host", "")
        if not self.allowlist.allows(host):
            shown = host_name(host)[:100] or "(none)"
            return 403, (f"Blocked request: the host {shown!r} is not allowed. This sandbox answers only for "
                         f"localhost and its own address (a guard against DNS rebinding). To allow this host, "
                         f"start it with {self.hint} {shown}.")
        length = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        if length > MAX_URL_BYTES:
            return 414, f"URL too long: {length} bytes (at most {MAX_URL_BYTES})"
        if scope["method"] in _UNSAFE_METHODS:
            site = headers.get("sec-fetch-site", "").lower()
            if site and site not in ("same-origin", "none"):
                return 403, f"Cross-site request refused: a page on another site ({site}) cannot change this sandbox."
            origin = headers.get("origin")
            if origin is not None and origin.lower().rstrip("/") != _own_origin(scope, host):
                return 403, f"Cross-origin request refused: {origin[:100]!r} cannot change this sandbox."
        return None


def _own_origin(scope: Scope, host: str) -> str:
    return f"{scope.get('scheme', 'http')}://{host.strip().lower()}"


async def _refuse(scope: Scope, send: Any, status: int, message: str) -> None:
    """Answer without reading the body; JSON for the API, text otherwise."""
    path = scope.get("path", "")
    if path.startswith("/api/") or path.startswith("/workflows/api/"):
        body, media = json.dumps({"Error": message}).encode(), b"application/json"
    else:
        body, media = message.encode(), b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", media), (b"content-length", str(len(body)).encode()), (b"connection", b"close"),
        (b"x-frame-options", b"SAMEORIGIN"), (b"cache-control", b"no-store"),
    ]})
    await send({"type": "http.response.body", "body": body})
