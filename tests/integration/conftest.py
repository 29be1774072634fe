"""Fixtures for the integration tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

# Lambda functions created with boto3 in the LocalStack below (a client and cleanup per test module).
from lambda_support import create_function, lambda_client  # noqa: F401

# LocalStack (local Lambda executor, mail relay) and a real SMTP server, shared by all integration tests.
from localstack_support import localstack, smtp_sink  # noqa: F401
from mailcatcher_support import Catcher


@pytest.fixture(scope="session")
def mailcatcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catcher]:
    """One real catcher for the session (SMTP max size 1 MiB, so the oversize case stays small)."""
    catcher = Catcher(tmp_path_factory.mktemp("mailcatcher"), "--max-size", str(1024 * 1024))
    catcher.start()
    try:
        yield catcher
    finally:
        catcher.stop()


@pytest.fixture
def start_mailcatcher(tmp_path) -> Iterator[Callable[..., Catcher]]:
    """Start extra catchers (own database, own ports) for tests that restart, prune or delete everything."""
    started: list[Catcher] = []

    def start(*args: str, **kwargs) -> Catcher:
        catcher = Catcher(kwargs.pop("workdir", tmp_path), *args, **kwargs)
        started.append(catcher)
        return catcher.start()

    try:
        yield start
    finally:
        for catcher in started:
            catcher.stop()
