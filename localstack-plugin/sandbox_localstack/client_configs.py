"""LocalStack 4.14 builds a new boto3 client for every internal call whose Config sets `retries`; reuse one.

LocalStack caches its internal clients (`ClientFactory._get_client`, an LRU of 256) on their arguments, the botocore
Config among them, which it hashes by content (`Config.__hash__` in localstack/aws/connect.py). But while it builds
the client, botocore normalises the Config's `retries` dict in place (adds `mode`, turns `max_attempts` into
`total_max_attempts`): the entry just stored no longer has the hash it was stored under, and is never found
again. Step Functions passes `retries={"total_max_attempts": 1}` on every task (its Lambda invokes, its SQS
messages), so each task built a new client (~40 ms of CPU, behind a lock every thread shares); and since
LocalStack's request parser is cached per service model (`create_parser`, unbounded), each in-memory call through
such a client also built a new parser, werkzeug routing map and all, and kept it for ever. py-spy during 100
concurrent approvals: 18 % of LocalStack's GIL time.

`reuse_clients_per_settings` (idempotent) keys the factory's clients on the Config's settings as they were when
the call asked for them, before botocore touched them, in a cache of the same size. A Config whose settings have no
stable text form (an object without its own repr) goes to LocalStack's cache as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox_localstack.assumed_role_sessions import BoundedCache
from sandbox_localstack.patches import wrap_once


def settings_key(config: Any) -> str | None:
    """A text form of the settings a Config was made with; None when one of them has no stable text form."""
    options = getattr(config, "_user_provided_options", None)
    if options is None:
        return None
    text = repr(sorted(options.items()))
    return None if " at 0x" in text else text


def cached_per_settings(original: Callable[..., Any], clients: BoundedCache) -> Callable[..., Any]:
    def _get_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        settings = settings_key(kwargs.get("config"))
        if settings is None:
            return original(self, *args, **kwargs)
        others = tuple(sorted((name, value) for name, value in kwargs.items() if name != "config"))
        return clients.get_or_make((self, args, others, settings), lambda: original(self, *args, **kwargs))

    return _get_client


def reuse_clients_per_settings() -> None:
    from localstack.aws.connect import ClientFactory

    clients = BoundedCache()
    wrap_once(ClientFactory, "_get_client", lambda original: cached_per_settings(original, clients))


def install() -> None:
    reuse_clients_per_settings()
