"""The relay queue with a fake transport: retries passing failures, drops permanent ones, gives up after the
window, delivers every message exactly once and in order."""

import smtplib
import threading
import time

import pytest
from sandbox_localstack.mail import OutgoingMail, RetryPolicy
from sandbox_localstack.relay import MailRelay

FAST = RetryPolicy(window_s=5, first_delay_s=0.01, factor=2, max_delay_s=0.05)


def outgoing(n: int) -> OutgoingMail:
    return OutgoingMail("s@example.com", ("a@example.com",), f"Subject: {n}\r\n\r\nbody".encode(), f"id-{n}")


class FakeTransport:
    def __init__(self, failures: list[Exception] | None = None):
        self.failures = list(failures or [])
        self.attempts: list[str] = []
        self.delivered: list[str] = []
        self.changed = threading.Condition()

    def __call__(self, mail: OutgoingMail) -> None:
        with self.changed:
            self.attempts.append(mail.message_id)
            self.changed.notify_all()
            if self.failures:
                raise self.failures.pop(0)
            self.delivered.append(mail.message_id)

    def wait(self, predicate, timeout: float = 10.0) -> None:
        with self.changed:
            assert self.changed.wait_for(predicate, timeout), (self.attempts, self.delivered)


@pytest.fixture
def relay_for():
    relays = []

    def make(transport, policy=FAST):
        relay = MailRelay(transport, policy)
        relay.start()
        relays.append(relay)
        return relay

    yield make
    for relay in relays:
        relay.stop()


def test_passing_failures_are_retried_and_the_mail_is_delivered_once(relay_for):
    transport = FakeTransport(
        [ConnectionRefusedError(), smtplib.SMTPServerDisconnected(), smtplib.SMTPDataError(451, b"later")]
    )
    relay = relay_for(transport)

    relay.enqueue(outgoing(1))
    relay.enqueue(outgoing(2))

    transport.wait(lambda: len(transport.delivered) == 2)
    assert transport.delivered == ["id-1", "id-2"]
    assert transport.attempts == ["id-1"] * 4 + ["id-2"]
    assert relay.delivered == 2 and relay.dropped == 0 and relay.pending() == 0


def test_permanent_failure_drops_the_mail_without_retry(relay_for):
    transport = FakeTransport([smtplib.SMTPDataError(554, b"no")])
    relay = relay_for(transport)

    relay.enqueue(outgoing(1))
    relay.enqueue(outgoing(2))

    transport.wait(lambda: transport.delivered == ["id-2"])
    assert transport.attempts == ["id-1", "id-2"]
    assert relay.dropped == 1


def test_mail_is_dropped_when_the_retry_window_closes(relay_for):
    transport = FakeTransport([ConnectionRefusedError()] * 1000)
    relay = relay_for(transport, RetryPolicy(window_s=0.2, first_delay_s=0.01, max_delay_s=0.02))

    relay.enqueue(outgoing(1))

    deadline = time.monotonic() + 10
    while relay.dropped == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert relay.dropped == 1 and relay.delivered == 0
    assert 2 < len(transport.attempts) < 1000


def test_enqueue_never_waits_for_the_transport(relay_for):
    release = threading.Event()

    def slow_transport(mail):
        release.wait(10)

    relay = relay_for(slow_transport)
    for n in range(50):
        relay.enqueue(outgoing(n))  # returns although the transport is stuck on the first message
    assert relay.pending() == 50
    release.set()
