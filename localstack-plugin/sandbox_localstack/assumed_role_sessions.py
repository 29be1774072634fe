"""LocalStack 4.14 assumes a role afresh for most calls its services make on a user's behalf; reuse the session.

Measured with py-spy during 100 concurrent approvals, a sixth of LocalStack's CPU went to it: each Step Functions
task (the Lambda invoke, the SQS callback message), each EventBridge target and each API Gateway call through an
integration role ran `connect_to.with_assumed_role`, which calls STS over HTTP for new credentials and, since
LocalStack's client cache is keyed on them, builds a new boto3 client (~40 ms of CPU, behind a lock every thread
shares) that is used once and then takes one of the cache's 256 places. `reuse_assumed_role_sessions`
(idempotent) keeps the session of a role for the same caller, session name and settings for `SESSION_SECONDS`
(LocalStack's STS sessions last an hour; AWS's shortest lasts 15 minutes), so the cached client serves again. A
caller that names its session (API Gateway does) still gets a session of exactly that name; an unnamed one gets
the name of the first call (LocalStack makes a random one each time, which nothing reads). Nothing a call does or
answers changes: the same role gives the same account and permissions, and LocalStack enforces no IAM.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from sandbox_localstack.patches import wrap_once

SESSION_SECONDS = 600.0
MAX_ENTRIES = 256


class BoundedCache:
    """A thread-safe LRU mapping whose entries also expire after `ttl` seconds (None: never)."""

    def __init__(self, size: int = MAX_ENTRIES, ttl: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.size, self.ttl, self.clock = size, ttl, clock
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_make(self, key: Hashable, make: Callable[[], Any]) -> Any:
        now = self.clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and (self.ttl is None or now - entry[0] < self.ttl):
                self._entries.move_to_end(key)
                return entry[1]
        value = make()  # outside the lock: a slow make (an STS call) must not hold up other keys
        with self._lock:
            self._entries[key] = (now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)


def cached_assumed_role(original: Callable[..., Any], cache: BoundedCache) -> Callable[..., Any]:
    """Wrap ClientFactory.with_assumed_role so that one session per role and caller serves for a while."""

    def with_assumed_role(self: Any, *, role_arn: str, service_principal: Any = None, session_name: str | None = None,
                          region_name: str | None = None, endpoint_url: str | None = None,
                          config: Any = None) -> Any:
        def assume() -> Any:
            return original(self, role_arn=role_arn, service_principal=service_principal, session_name=session_name,
                            region_name=region_name, endpoint_url=endpoint_url, config=config)

        # LocalStack's services pass module-level botocore Configs (or none), so the same caller hashes the same
        key = (self, role_arn, str(service_principal), session_name, region_name, endpoint_url, config)
        return cache.get_or_make(key, assume)

    return with_assumed_role


def reuse_assumed_role_sessions() -> None:
    from localstack.aws.connect import ClientFactory

    cache = BoundedCache(ttl=SESSION_SECONDS)
    wrap_once(ClientFactory, "with_assumed_role", lambda original: cached_assumed_role(original, cache))


def install() -> None:
    reuse_assumed_role_sessions()
