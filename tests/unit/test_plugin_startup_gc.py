"""No cycle collection while LocalStack starts, then a freeze of what the start made (startup_gc.py)."""

from __future__ import annotations

import gc
import json
import time

import pytest
from sandbox_localstack import startup_gc


@pytest.fixture
def collector(monkeypatch):
    monkeypatch.setattr(startup_gc, "_paused", False)
    runs: list[str] = []

    def seen(phase, info):
        if phase == "start":
            runs.append(info["generation"])

    gc.callbacks.append(seen)
    yield runs
    gc.callbacks.remove(seen)
    gc.unfreeze()
    gc.enable()


def allocate() -> None:
    json.loads(json.dumps([{"k": [i]} for i in range(50_000)]))


def test_python_collects_again_and_again_while_allocating(collector):
    allocate()
    assert len(collector) > 10


def test_no_collection_while_paused_then_the_start_is_frozen_and_collection_resumes(collector):
    assert startup_gc.pause_collection() is True
    assert startup_gc.pause_collection() is False  # paused already: one pause, one resume
    allocate()
    assert collector == [] and not gc.isenabled()
    assert startup_gc.resume_collection() is True
    assert gc.isenabled() and gc.get_freeze_count() > 0
    allocate()
    assert collector  # collecting again
    assert startup_gc.resume_collection() is False


def test_resume_can_wait_a_grace_period(collector):
    startup_gc.pause_collection()
    startup_gc.resume_collection(after=0.2)
    assert not gc.isenabled() and gc.get_freeze_count() > 0
    deadline = time.monotonic() + 5
    while not gc.isenabled() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert gc.isenabled()


def test_a_collector_someone_else_turned_off_is_left_to_them(collector):
    gc.disable()
    assert startup_gc.pause_collection() is False
    assert startup_gc.resume_collection() is False
    assert not gc.isenabled()
