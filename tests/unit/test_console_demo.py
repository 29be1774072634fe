"""What the Workflows page tells about the demo's email while an execution waits (issue 15 item 8): being sent,
relayed, retried after a failed or killed send-verification run, or given up; and an execution an email names
that a LocalStack restart lost. Pure, over the facts the page reads (TaskSubmitted, queue attributes, the S3
task record, LocalStack's start)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sandbox.console.demo import delivery, is_demo, lost_in_restart

T0 = datetime(2026, 3, 4, 10, 0, 0, tzinfo=UTC)
QUEUE = {"VisibilityTimeout": "30", "RedrivePolicy": json.dumps({"deadLetterTargetArn": "arn:dlq",
                                                                 "maxReceiveCount": "3"})}


def test_a_fresh_message_is_being_sent():
    assert delivery(T0, T0 + timedelta(seconds=1), QUEUE, 0).state == "sending"
    assert delivery(None, T0, QUEUE, 0).state == "sending"  # not on the queue yet


def test_a_message_without_its_email_after_the_grace_period_is_being_retried_with_its_time():
    note = delivery(T0, T0 + timedelta(seconds=12), QUEUE, 0)
    assert note.state == "retrying"
    assert "retrying, delivery 2 of 3 at about 10:00:30 UTC" in note.message
    later = delivery(T0, T0 + timedelta(seconds=45), QUEUE, 0)
    assert "delivery 3 of 3 at about 10:01:00 UTC" in later.message


def test_after_the_last_delivery_the_dead_letter_queue_says_it_gave_up():
    assert delivery(T0, T0 + timedelta(seconds=95), QUEUE, 1).state == "dead-lettered"
    # Without a message in the dead-letter queue it is not said to be there.
    assert delivery(T0, T0 + timedelta(seconds=95), QUEUE, 0).state == "retrying"


def test_an_email_sns_took_is_being_relayed_not_retried():
    record = {"emailSentAt": "2026-03-04T10:00:01+00:00"}
    note = delivery(T0, T0 + timedelta(seconds=60), QUEUE, 0, record)
    assert note.state == "relaying" and "10:00:01" in note.message
    assert delivery(T0, T0 + timedelta(seconds=60), QUEUE, 0, {"emailSentAt": None}).state == "retrying"


def test_an_execution_named_by_an_email_caught_before_localstack_started_was_lost_in_a_restart():
    started = T0 + timedelta(minutes=5)
    why = lost_in_restart(T0, started)
    assert why is not None and "lost when LocalStack restarted at 2026-03-04 10:05:00 UTC" in why
    assert lost_in_restart(started + timedelta(seconds=1), started) is None
    assert lost_in_restart(T0, None) is None


def test_the_demo_is_the_machine_outputs_json_names_or_the_one_with_its_tag():
    arn = "arn:aws:states:us-east-1:000000000000:stateMachine:acme-WaitForCallback"
    assert is_demo(arn, {}, {"state_machine_arn": arn})
    assert is_demo(arn, {"managed-by": "callback-sandbox"}, None)
    assert not is_demo(arn, {"managed-by": "someone-else"}, {"state_machine_arn": arn + "2"})
