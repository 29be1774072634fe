"""The restart journal's pure parts, and its reading of LocalStack's own callback classes and files on disk."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest
from localstack.services.stepfunctions.asl.eval.callback.callback import (
    CallbackConsumerTimeout,
    CallbackOutcomeSuccess,
    CallbackPoolManager,
)
from sandbox_localstack import journal


def test_summary_counts_every_execution_and_lists_waiting_ones_first() -> None:
    summary = journal.summarise([("b", "arn:b", False), ("c", "arn:c", True), ("a", "arn:a", True)])
    assert summary["running"] == 3 and summary["waiting"] == 2
    assert [row["name"] for row in summary["executions"]] == ["a", "c", "b"]


def test_summary_lists_a_bounded_number_of_names_but_exact_counts() -> None:
    many = [(f"x{i:04d}", f"arn:{i}", i % 2 == 0) for i in range(journal.KEEP_NAMES + 50)]
    summary = journal.summarise(many)
    assert summary["running"] == journal.KEEP_NAMES + 50
    assert summary["waiting"] == (journal.KEEP_NAMES + 50 + 1) // 2
    assert len(summary["executions"]) == journal.KEEP_NAMES


def test_a_restart_record_says_what_the_previous_instance_lost_and_how_it_ended() -> None:
    previous = {"instance": "old", "updated": "2026-01-01T10:00:00Z", "stopped_cleanly": False,
                "running": 2, "waiting": 1, "executions": [{"name": "a", "arn": "x", "waiting": True}]}
    record = journal.restart_record(previous, started="2026-01-01T10:05:00Z")
    assert record == {"instance": "old", "last_seen": "2026-01-01T10:00:00Z", "clean": False,
                      "restarted": "2026-01-01T10:05:00Z", "running": 2, "waiting": 1,
                      "executions": [{"name": "a", "arn": "x", "waiting": True}]}


def test_restart_history_keeps_the_last_ten() -> None:
    history: list[dict] = []
    for i in range(journal.KEEP_RESTARTS + 3):
        history = journal.with_record(history, {"instance": str(i)})
    assert [r["instance"] for r in history] == [str(i) for i in range(3, journal.KEEP_RESTARTS + 3)]


def _execution(pool: CallbackPoolManager | None) -> SimpleNamespace:
    env = SimpleNamespace(callback_pool_manager=pool) if pool is not None else None
    return SimpleNamespace(exec_worker=SimpleNamespace(env=env))


def test_an_execution_waits_while_its_task_token_has_no_answer() -> None:
    pool = CallbackPoolManager(activity_store={})
    endpoint = pool.add("token-1")
    assert journal.waits_for_callback(_execution(pool))
    endpoint.notify(CallbackOutcomeSuccess(callback_id="token-1", output="{}"))
    assert not journal.waits_for_callback(_execution(pool))


def test_a_timed_out_callback_and_an_execution_not_started_yet_do_not_wait() -> None:
    pool = CallbackPoolManager(activity_store={})
    pool.add("token-2").report(CallbackConsumerTimeout())
    assert not journal.waits_for_callback(_execution(pool))
    assert not journal.waits_for_callback(_execution(None))
    assert not journal.waits_for_callback(SimpleNamespace(exec_worker=None))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "journal"


def test_opening_turns_the_previous_journal_into_a_restart_record(folder: Path) -> None:
    first = journal.Journal(folder)
    first.open()
    assert json.loads(first.path.read_text())["running"] == 0
    # What the first instance would have written while an approval waited, then it died.
    first.path.write_text(json.dumps({**first.document(journal.summarise([("a", "arn:a", True)]))}))

    second = journal.Journal(folder)
    second.open()
    answer = second.answer()
    assert answer["instance"] == second.instance and answer["running"] == 0
    [record] = answer["restarts"]
    assert record["instance"] == first.instance
    assert (record["running"], record["waiting"], record["clean"]) == (1, 1, False)


def test_a_clean_stop_is_recorded_as_one(folder: Path) -> None:
    first = journal.Journal(folder)
    first.open()
    first.close()
    assert json.loads(first.path.read_text())["stopped_cleanly"] is True
    second = journal.Journal(folder)
    second.open()
    assert second.answer()["restarts"][0]["clean"] is True


def test_journal_files_are_the_owners_alone(folder: Path) -> None:
    opened = journal.Journal(folder)
    opened.open()
    journal.Journal(folder).open()  # writes the restart record too
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in (opened.path, opened.restarts_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
