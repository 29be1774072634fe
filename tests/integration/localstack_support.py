"""Shared integration fixtures: a real LocalStack started the way `make up` starts it, and a real SMTP server.

- `smtp_sink` (session): smtpdfix's throwaway SMTP server (aiosmtpd underneath) on a free loopback port, with
  every message it received kept across restarts; it can be stopped and started again on the same port (to test
  the relay's retries).
- `localstack` (session): LocalStack 4.14 in host mode via `sandbox.services`, with the Lambda executor
  `local` and the mail relay pointed at `smtp_sink`. Yields a `LocalStackSandbox` with a boto3 client factory.

conftest.py re-exports the fixtures so any integration test can use them.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import io
import textwrap
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from smtpdfix import SMTPDFix

from sandbox.config import TEST_CREDENTIALS, Settings
from sandbox.ports import free_port
from sandbox.services import ManagedProcess, localstack_spec


@dataclass
class ReceivedMail:
    mail_from: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    def body(self, subtype: str = "plain") -> str | None:
        part = self.message.get_body(preferencelist=(subtype,))
        return None if part is None else part.get_content()


@dataclass
class SmtpSink:
    """smtpdfix's SMTP server, with what it received kept across a stop and a start, and a wait for a message."""

    port: int
    _kept: list[ReceivedMail] = field(default_factory=list)  # from earlier runs of the server
    _current: list[ReceivedMail] = field(default_factory=list)  # from this run, converted once each
    _server: SMTPDFix | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> SmtpSink:
        if self._server is None:
            self._server = SMTPDFix("127.0.0.1", self.port)
            self._server.__enter__()
        return self

    def stop(self) -> None:
        if self._server is not None:
            kept = self.messages
            with self._lock:
                self._kept, self._current = kept, []
            self._server.__exit__(None, None, None)
            self._server = None

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._lock:
            received = self._server.controller.messages if self._server is not None else []
            self._current += map(_received, received[len(self._current):])
            return [*self._kept, *self._current]

    def matching(self, predicate: Callable[[ReceivedMail], bool]) -> list[ReceivedMail]:
        return [m for m in self.messages if predicate(m)]

    def wait_for(self, predicate: Callable[[ReceivedMail], bool], timeout: float = 30.0) -> ReceivedMail:
        """The first received message matching `predicate`; fails the test if none arrives in time."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages:
                if predicate(message):
                    return message
            if time.monotonic() > deadline:
                subjects = [m.subject for m in self.messages]
                raise AssertionError(f"no matching mail within {timeout:.0f} s; received subjects: {subjects}")
            time.sleep(0.02)


def _received(message: email.message.Message) -> ReceivedMail:
    """smtpdfix's message (the envelope in X-MailFrom / X-RcptTo headers it adds) as the tests read it."""
    recipients = [r for r in str(message["X-RcptTo"] or "").split(", ") if r]
    # Written back unfolded (max_line_length 0), so headers read as the sender wrote them.
    raw = message.as_bytes(policy=email.policy.compat32.clone(max_line_length=0))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return ReceivedMail(str(message["X-MailFrom"] or ""), recipients, parsed)


@dataclass
class LocalStackSandbox:
    settings: Settings
    process: ManagedProcess

    @property
    def endpoint_url(self) -> str:
        return self.settings.localstack_url

    def client(self, service: str, **config: object):  # type: ignore[no-untyped-def]
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.settings.region,
            aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries={"max_attempts": 1}, **config),  # type: ignore[arg-type]
        )

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    def log_tail(self, lines: int = 60) -> str:
        return self.process.log_tail(lines)


def make_zip(files: dict[str, str]) -> bytes:
    """A deployment package from {file name: source}; sources are dedented so tests can indent them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, source in files.items():
            archive.writestr(name, textwrap.dedent(source))
    return buffer.getvalue()


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port()).start()
    try:
        yield sink
    finally:
        sink.stop()


@contextlib.contextmanager
def running_localstack(home: Path, smtp_port: int, env: dict[str, str] | None = None) -> Iterator[LocalStackSandbox]:
    """A LocalStack of its own on a free port, as `make up` starts it, with `env` set besides."""
    settings = Settings(home=home, localstack_port=free_port(), smtp_port=smtp_port)
    spec = localstack_spec(settings)
    process = ManagedProcess(replace(spec, env={**spec.env, **(env or {})}), settings.home)
    process.start()
    try:
        process.wait_ready(timeout=120)
        yield LocalStackSandbox(settings, process)
    finally:
        process.stop()


@pytest.fixture(scope="session")
def localstack(tmp_path_factory: pytest.TempPathFactory, smtp_sink: SmtpSink) -> Iterator[LocalStackSandbox]:
    with running_localstack(tmp_path_factory.mktemp("localstack"), smtp_sink.port) as sandbox:
        yield sandbox
