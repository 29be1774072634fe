"""How `make up`, `make down` and `make status` put a restart's loss into words, and tell each loss once."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from sandbox import restarts
from sandbox.config import Settings


@pytest.mark.parametrize(("running", "waiting", "phrase"), [
    (1, 0, "1 execution"),
    (1, 1, "1 execution, waiting for approval"),
    (3, 3, "3 executions, all waiting for approval"),
    (3, 2, "3 executions, 2 of them waiting for approval"),
    (2, 0, "2 executions"),
])
def test_counts_in_words(running: int, waiting: int, phrase: str) -> None:
    assert restarts.executions_phrase(running, waiting) == phrase


def test_a_crash_and_a_stop_are_told_apart() -> None:
    crash = restarts.loss_sentence({"clean": False, "restarted": "2026-01-01T10:05:07Z", "running": 2, "waiting": 1})
    assert crash.startswith("LocalStack stopped unexpectedly (a crash or a kill) before 10:05:07 UTC; lost with "
                            "it: 2 executions, 1 of them waiting for approval.")
    assert "send those requests again" in crash
    stop = restarts.loss_sentence({"clean": True, "restarted": "2026-01-01T10:05:07Z", "running": 1, "waiting": 1})
    assert stop.startswith("LocalStack was stopped and started again before 10:05:07 UTC; lost with it: 1 execution, "
                           "waiting for approval.")


def test_each_loss_is_told_once_and_empty_restarts_never(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    answer = {"instance": "now", "restarts": [
        {"instance": "a", "running": 2, "waiting": 1},
        {"instance": "b", "running": 0, "waiting": 0},
        {"instance": "c", "running": 1, "waiting": 0},
    ]}
    assert [r["instance"] for r in restarts.untold_losses(settings, answer)] == ["a", "c"]
    restarts.mark_told(settings, ["a"])
    assert [r["instance"] for r in restarts.untold_losses(settings, answer)] == ["c"]
    restarts.mark_told(settings, ["c"])
    assert restarts.untold_losses(settings, answer) == []
    assert restarts.untold_losses(settings, None) == []
    assert stat.S_IMODE((tmp_path / "restarts-told").stat().st_mode) == 0o600
