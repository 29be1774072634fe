"""The demo pipeline among the machines: how it is recognised, and what only it has.

Recognition lives here and only here: the machine named in ``outputs.json`` when that file exists, or one
carrying the tag ``bootstrap`` puts on what it deploys (so a demo deployed under another name prefix, or whose
outputs.json is gone, is still the demo). Nothing else depends on outputs.json: without a demo the console works.

What only the demo has: decisions go through its decision API (so the exactly-once record and the 409s stay
true), and its waiting task sends an email first, whose delivery the page reports (sent, being sent, retrying
after a failed send, given up).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bootstrap.changes import MANAGED_TAG
from sandbox.config import Settings

# A send-verification run takes well under a second; a message on the queue this long without its email means
# the run failed or was killed and SQS holds the message until its visibility timeout ends.
SEND_GRACE_SECONDS = 5.0


def load_outputs(settings: Settings) -> dict[str, Any] | None:
    """outputs.json, or None when it is missing or unreadable (the demo is then recognised by its tag)."""
    try:
        data = json.loads(settings.outputs_path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_demo(machine_arn: str, tags: Mapping[str, str], outputs: Mapping[str, Any] | None) -> bool:
    if outputs and outputs.get("state_machine_arn") == machine_arn:
        return True
    key, value = MANAGED_TAG
    return tags.get(key) == value


# --- the email's delivery, while the demo waits for a decision -------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    state: str  # sending | relaying | retrying | dead-lettered
    message: str


def delivery(submitted: datetime | None, now: datetime, queue: Mapping[str, str] | None,
             dead_letters: int | None, record: Mapping[str, Any] | None = None) -> Delivery:
    """What happened to the verification message of a waiting demo execution whose email is not caught yet.

    ``submitted``: when the message went to SQS (TaskSubmitted); ``queue``: the queue's attributes
    (VisibilityTimeout, RedrivePolicy); ``dead_letters``: messages in its dead-letter queue; ``record``: the task
    record send-verification keeps in S3 (``emailSentAt`` once SNS took the email). SQS shows no per-message
    state without receiving the message (which would hide it from the Lambda), so a retry is told from the time
    the message has been on the queue and the queue's own settings.
    """
    if record and record.get("emailSentAt"):
        return Delivery("relaying", f"The approval email was sent at {record['emailSentAt']} and has not reached "
                                    "the catcher yet; the mail relay keeps retrying while the catcher is "
                                    "unreachable. Approve and Reject appear once it arrives.")
    if submitted is None or (now - submitted).total_seconds() < SEND_GRACE_SECONDS or queue is None:
        return Delivery("sending", "The approval email is being sent; Approve and Reject appear as soon as it is "
                                   "in the catcher (its links only work from then on).")
    visibility = int(queue.get("VisibilityTimeout") or 30)
    try:
        attempts = int(json.loads(queue.get("RedrivePolicy") or "{}").get("maxReceiveCount") or 0)
    except (TypeError, ValueError, AttributeError):
        attempts = 0
    failed = int((now - submitted).total_seconds() // visibility) + 1  # deliveries so far (all without email)
    if attempts and failed >= attempts and dead_letters:
        return Delivery("dead-lettered", f"The approval email could not be sent in {attempts} deliveries; the "
                                         "message is in the dead-letter queue and no email will come. "
                                         "See `make logs` for the send-verification errors.")
    next_try = submitted + timedelta(seconds=failed * visibility)
    of = f" of {attempts}" if attempts else ""
    return Delivery("retrying", f"Sending the approval email failed (the send-verification run failed or was "
                                f"stopped); SQS delivers the message again when its {visibility} s visibility "
                                f"timeout ends: retrying, delivery {failed + 1}{of} at about "
                                f"{next_try.astimezone(UTC):%H:%M:%S} UTC.")


# --- executions lost in a LocalStack restart ---------------------------------------------------------------------


def lost_in_restart(caught_at: datetime | None, localstack_started: datetime | None) -> str | None:
    """Why an execution named by a caught email no longer exists, when the email predates LocalStack's start."""
    if caught_at is None or localstack_started is None or caught_at >= localstack_started:
        return None
    restarted = f"{localstack_started.astimezone(UTC):%Y-%m-%d %H:%M:%S}"
    return (f"This execution was lost when LocalStack restarted at {restarted} UTC: community LocalStack keeps no "
            "state across restarts, so executions, their waiting "
            f"approvals and the links in their emails (this one was caught at "
            f"{caught_at.astimezone(UTC):%H:%M:%S} UTC) are gone. Send the request again to start a new one.")
