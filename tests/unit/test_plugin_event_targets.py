"""The EventBridge -> Step Functions target correction is an idempotent patch (its effect is tested against a real
LocalStack in tests/integration/test_event_targets.py)."""

from __future__ import annotations

import pytest
from localstack.services.events.target import StatesTargetSender
from sandbox_localstack import event_targets, patches

PATCHED = ["process_event", "send_event"]


@pytest.fixture
def installed():
    saved = {name: StatesTargetSender.__dict__.get(name) for name in PATCHED}  # process_event is inherited
    event_targets.install()
    try:
        yield
    finally:
        for name, original in saved.items():
            if original is None:
                delattr(StatesTargetSender, name)
            else:
                setattr(StatesTargetSender, name, original)


def test_install_wraps_each_method_once(installed):
    wrapped = [getattr(StatesTargetSender, name) for name in PATCHED]
    event_targets.install()
    assert all(patches.is_wrapped(function) for function in wrapped)
    assert [getattr(StatesTargetSender, name) for name in PATCHED] == wrapped


def test_execution_is_named_after_the_matched_event_or_gets_a_fresh_name():
    assert event_targets.execution_name("2b1e4b5c-event-id") == "2b1e4b5c-event-id"
    generated = {event_targets.execution_name(None) for _ in range(3)}
    assert len(generated) == 3 and all(len(name) == 36 for name in generated)
