"""Answer only requests addressed to the sandbox by a name it owns: a guard against DNS rebinding.

A hostile page at `http://evil.example:4566` whose name its owner re-points at 127.0.0.1 becomes same-origin with
LocalStack's gateway in the approver's browser: it could read every execution's history (task tokens included)
and send the task success itself, since LocalStack checks no signatures. The page's requests still carry its own
name in `Host`. So the gateway answers only names that mean this machine (localhost and `*.localhost`, which
browsers resolve to loopback themselves; LocalStack's `localhost.localstack.cloud` names; IP addresses, which no
rebinding page can have as its origin), the host in LOCALSTACK_HOST, and the names listed in SANDBOX_ALLOWED_HOSTS
(comma-separated; `.example.com` admits the domain and its subdomains). Anything else gets a 403 naming the
setting, before any service sees the request.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Iterable
from typing import Any

from rolo import Response

LOOPBACK_DOMAINS = (".localhost", ".localhost.localstack.cloud")
LOOPBACK_NAMES = ("localhost", "localhost.localstack.cloud")
ALLOWED_HOSTS_VARIABLE = "SANDBOX_ALLOWED_HOSTS"


def host_name(host: str) -> str:
    """The name in a Host header, without port, brackets or a trailing dot, in lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def host_allowed(host: str, extra: Iterable[str] = ()) -> bool:
    name = host_name(host)
    if not name or _is_ip(name) or name in LOOPBACK_NAMES or name.endswith(LOOPBACK_DOMAINS):
        return True
    for allowed in extra:
        allowed = allowed.strip().lower()
        if allowed.startswith(".") and (name == allowed[1:] or name.endswith(allowed)):
            return True
        if allowed and name == host_name(allowed):
            return True
    return False


def configured_hosts(environ: dict[str, str]) -> list[str]:
    names = [name for name in environ.get(ALLOWED_HOSTS_VARIABLE, "").split(",") if name.strip()]
    if environ.get("LOCALSTACK_HOST"):
        names.append(environ["LOCALSTACK_HOST"])
    return names


class HostGuard:
    """Request handler: 403 for requests whose Host names neither this machine nor an allowed name."""

    def __init__(self, extra: Iterable[str]) -> None:
        self.extra = tuple(extra)

    def __call__(self, chain: Any, context: Any, response: Response) -> None:
        host = context.request.host or ""
        if host_allowed(host, self.extra):
            return
        message = (f"Requests for host {host_name(host)!r} are refused: the sandbox answers only localhost names "
                   f"and IP addresses. To use another name, add it to {ALLOWED_HOSTS_VARIABLE}.")
        response.update_from(Response(json.dumps({"message": message}), status=403, mimetype="application/json"))
        chain.stop()


def install() -> None:
    """Called once by the on_infra_start hook: first in the chain, before anything reads the request."""
    from localstack.aws import handlers

    handlers.preprocess_request.handlers.insert(0, HostGuard(configured_hosts(dict(os.environ))))
