"""A cap on the live execution environments of each function, for the `local` executor.

LocalStack starts a new environment for every invocation that finds no idle one, without limit. With Docker that
costs a container per concurrent call; with local processes on a small machine it costs a Python process each
(about 35 MB and a few hundred ms of CPU to start). 100 concurrent workflows then start some 160 processes on two
cores, and starting them takes so long that API Gateway answers clicks with 502 and Step Functions tasks time out.

So invocations of one function wait for one of at most `limit` environments instead of starting more: a queue
in front of the pool, as a small machine needs. The wait happens before the invocation is sent, so it does not
count against the function's timeout. SANDBOX_LAMBDA_MAX_ENVIRONMENTS sets the limit (0: no cap).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

ENV_VAR = "SANDBOX_LAMBDA_MAX_ENVIRONMENTS"


def default_limit() -> int:
    return max(2, 2 * (os.cpu_count() or 1))


def limit_from_env(environ: Mapping[str, str] = os.environ) -> int:
    raw = environ.get(ENV_VAR, "").strip()
    if not raw:
        return default_limit()
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{ENV_VAR} must be a whole number (0 for no cap), not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{ENV_VAR} must be 0 or more, not {value}")
    return value


class EnvironmentCap:
    """One counting semaphore per function version: at most `limit` invocations hold an environment at once."""

    def __init__(self, limit: int):
        self.limit = limit
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def _semaphore(self, key: str) -> threading.BoundedSemaphore:
        with self._lock:
            semaphore = self._slots.get(key)
            if semaphore is None:
                semaphore = self._slots[key] = threading.BoundedSemaphore(self.limit)
            return semaphore

    @contextlib.contextmanager
    def slot(self, key: str) -> Iterator[None]:
        if self.limit <= 0:
            yield
            return
        semaphore = self._semaphore(key)
        semaphore.acquire()
        try:
            yield
        finally:
            semaphore.release()

    def wrap(self, get_environment: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap AssignmentService.get_environment (a context manager) so that it first takes a slot."""

        @contextlib.contextmanager
        def capped(service: Any, version_manager_id: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
            with self.slot(version_manager_id), get_environment(service, version_manager_id, *args, **kwargs) as env:
                yield env

        capped.__wrapped__ = get_environment  # type: ignore[attr-defined]
        return capped


_installed: EnvironmentCap | None = None
_install_lock = threading.Lock()


def installed_limit(environ: Mapping[str, str] = os.environ) -> int:
    """The cap on environments per function this LocalStack applies (0: none, as with LocalStack's own executors),
    also before the first environment has started (when the cap is installed)."""
    if _installed is not None:
        return _installed.limit
    if environ.get("LAMBDA_RUNTIME_EXECUTOR", "").strip() != "local":
        return 0
    try:
        return limit_from_env(environ)
    except ValueError:
        return 0


def install(limit: int | None = None) -> EnvironmentCap:
    """Patch LocalStack's AssignmentService once per process.

    LocalStack asks the plugin for the executor class at every environment start, so this runs many times; a
    second cap (with fresh semaphores) would silently lift the first.
    """
    global _installed
    with _install_lock:
        if _installed is not None:
            return _installed
        from localstack.services.lambda_.invocation.assignment import AssignmentService

        cap = EnvironmentCap(limit_from_env() if limit is None else limit)
        AssignmentService.get_environment = cap.wrap(AssignmentService.get_environment)  # type: ignore[method-assign]
        _installed = cap
        return cap
