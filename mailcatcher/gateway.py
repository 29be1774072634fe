"""Route AWS execute-api links to the local gateway, so links a user's stack puts in mail open offline.

API Gateway URLs come in host-style forms that cannot be opened on an offline laptop: CDK's
``https://{id}.execute-api.localhost:{port}/{stage}/…`` (Python does not resolve ``*.localhost``, and HTTPS
meets a self-signed certificate), LocalStack's ``https://{id}.execute-api.localhost.localstack.cloud:{port}/…``
(a public DNS name) and AWS's ``https://{id}.execute-api.{region}.amazonaws.com/{stage}/…`` (the internet).
LocalStack serves every API on its gateway at the path-style URL
``http://{gateway}/_aws/execute-api/{id}/{stage}/{path}?{query}``; ``route`` rewrites the first three into it.
Pure functions: no I/O.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# The host of an execute-api endpoint: "{api id}.execute-api." then one of the known suffixes.
_EXECUTE_API_HOST = re.compile(
    r"^(?P<id>[a-z0-9]{1,64})\.execute-api\."
    r"(?:localhost|(?:[a-z0-9-]+\.)?localhost\.localstack\.cloud|[a-z]{2}(?:-[a-z]+)+-\d\.amazonaws\.com(?:\.cn)?)$"
)
PATH_PREFIX = "/_aws/execute-api/"


def execute_api_id(url: str) -> tuple[str, str] | None:
    """(api id, path) when ``url`` is a host-style execute-api URL, else None."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or parts.username or parts.password:
        return None
    match = _EXECUTE_API_HOST.match(host)
    if not match:
        return None
    return match.group("id"), parts.path


def route(url: str, gateway: str) -> str | None:
    """The local gateway's path-style URL for an execute-api ``url``; None when ``url`` is not one.

    ``gateway`` is the gateway's base URL (``http://localhost:4566``). The stage and the rest of the path,
    the query and the fragment are kept as written (CDK's ``api.url`` ends in ``/``, so ``url + "/x"`` gives
    ``/dev//x``, which the gateway treats as the API would).
    """
    if not gateway:
        return None
    found = execute_api_id(url)
    if found is None:
        return None
    api_id, path = found
    parts = urlsplit(url)
    routed = f"{gateway.rstrip('/')}{PATH_PREFIX}{api_id}/{path.lstrip('/')}"
    if parts.query:
        routed += f"?{parts.query}"
    if parts.fragment:
        routed += f"#{parts.fragment}"
    return routed


def router(gateway: str | None):
    """``route`` bound to one gateway, or None when no gateway is configured (nothing is rewritten)."""
    if not gateway:
        return None
    return lambda url: route(url, gateway)
