"""The background queue that delivers mail over SMTP without ever blocking the AWS call that produced it.

One worker thread delivers messages in order. A message whose delivery fails for a passing reason (server down,
4xx) is retried with backoff until its retry window closes; a 5xx answer drops it at once. A message the server
accepted is never sent again. The queue lives in memory: nothing is lost while LocalStack runs.
"""

from __future__ import annotations

import logging
import smtplib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sandbox_localstack.mail import OutgoingMail, RetryPolicy, is_permanent_failure

LOG = logging.getLogger(__name__)


@dataclass
class _Queued:
    mail: OutgoingMail
    queued_at: float
    failed_attempts: int = 0


class SmtpTransport:
    def __init__(self, host: str, port: int, timeout_s: float = 10.0) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s

    def __call__(self, mail: OutgoingMail) -> None:
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        try:
            smtp.sendmail(mail.mail_from, list(mail.recipients), mail.data)
        finally:
            # Once DATA is accepted the mail is delivered; a failing QUIT must not make us send it twice.
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class MailRelay:
    def __init__(
        self,
        deliver: Callable[[OutgoingMail], None],
        policy: RetryPolicy,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.deliver = deliver
        self.policy = policy
        self.clock = clock
        self._queue: deque[_Queued] = deque()
        self._changed = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sandbox-mail-relay", daemon=True)
        self.delivered = 0
        self.dropped = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        self._thread.join(timeout_s)

    def enqueue(self, mail: OutgoingMail) -> None:
        with self._changed:
            self._queue.append(_Queued(mail, self.clock()))
            self._changed.notify_all()

    def pending(self) -> int:
        with self._changed:
            return len(self._queue)

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._queue and not self._stopping:
                    self._changed.wait()
                if self._stopping:
                    if self._queue:
                        LOG.warning("Mail relay stopping with %d undelivered message(s)", len(self._queue))
                    return
                item = self._queue[0]
            wait_s = self._attempt(item)
            if wait_s is None:
                with self._changed:
                    self._queue.popleft()
            else:
                with self._changed:
                    self._changed.wait_for(lambda: self._stopping, timeout=wait_s)

    def _attempt(self, item: _Queued) -> float | None:
        """Try to deliver the head of the queue; None when it is done with (sent or given up), else the pause."""
        try:
            self.deliver(item.mail)
        except Exception as error:  # noqa: BLE001 - any failure of the transport is a failed attempt
            item.failed_attempts += 1
            if is_permanent_failure(error):
                self.dropped += 1
                LOG.error("SMTP server refused mail %s for good, not retrying: %s", item.mail.message_id, error)
                return None
            pause = self.policy.delay(item.failed_attempts)
            if self.clock() + pause - item.queued_at > self.policy.window_s:
                self.dropped += 1
                LOG.error(
                    "Giving up on mail %s after %d attempts in %.0f s (SMTP_RELAY_RETRY_SECONDS): %s",
                    item.mail.message_id,
                    item.failed_attempts,
                    self.clock() - item.queued_at,
                    error,
                )
                return None
            if item.failed_attempts == 1:
                LOG.warning("Mail %s not delivered yet, will retry: %s", item.mail.message_id, error)
            return pause
        self.delivered += 1
        LOG.debug("Relayed mail %s to %s", item.mail.message_id, ", ".join(item.mail.recipients))
        return None
