"""The store's writer: what arrives together is committed together, and each sender learns its own outcome.

A real store (SQLite in a temporary folder), a real event loop, the writer's real thread and its real parser
process; the store's methods are only wrapped to count the batches or to fail once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mailcatcher.parser_process import ParseFailed, ParserGone, ParserProcess, parse_batch
from mailcatcher.store import Store
from mailcatcher.writer import StoreWriter


def _raw(subject: str) -> bytes:
    return f"From: a@example.com\r\nTo: b@example.com\r\nSubject: {subject}\r\n\r\nbody\r\n".encode()


async def _queued_behind_a_held_lock(store: Store, first: str, rest: list[str], parser=None) -> list[Any]:
    """Queue ``first``, let the writer take it and wait for the store's lock (held here, as a long search holds it),
    queue ``rest`` meanwhile; every outcome, in order (a summary or the exception)."""
    writer = StoreWriter(store, asyncio.get_running_loop(), parser)
    try:
        with store._lock:
            futures = [writer.store_message(_raw(first), "a@example.com", ["b@example.com"])]
            while writer._queue:  # the writer has taken the first message once the queue is empty
                await asyncio.sleep(0.005)
            futures += [writer.store_message(_raw(subject), "a@example.com", ["b@example.com"]) for subject in rest]
        return await asyncio.gather(*futures, return_exceptions=True)
    finally:
        writer.close()


def test_messages_that_arrive_while_a_batch_is_stored_are_committed_together(tmp_path: Path):
    store = Store(str(tmp_path / "mail.sqlite"))
    batches: list[int] = []
    add_parsed = store.add_parsed

    def counted(batch):
        batches.append(len(batch))
        return add_parsed(batch)

    store.add_parsed = counted  # type: ignore[method-assign]
    subjects = [f"message {n}" for n in range(6)]
    summaries = asyncio.run(_queued_behind_a_held_lock(store, subjects[0], subjects[1:]))
    assert batches == [1, 5]
    assert [summary["Subject"] for summary in summaries] == subjects
    ids = [int(summary["ID"]) for summary in summaries]
    assert ids == list(range(ids[0], ids[0] + 6))  # arrival order
    assert store.search()[0] == 6
    store.close()


class _RefusingPoison:
    """Parses in this process, as the child does, but fails messages that say "poison" (real mail never makes
    ``record.build`` raise: it is built not to)."""

    def start(self) -> None: ...

    def close(self) -> None: ...

    def parse_many(self, items):
        return [ParseFailed("unreadable") if b"poison" in raw else parsed
                for (raw, _, _), parsed in zip(items, parse_batch(items), strict=True)]


def test_a_message_that_cannot_be_parsed_costs_only_itself(tmp_path: Path):
    store = Store(str(tmp_path / "mail.sqlite"))
    outcomes = asyncio.run(_queued_behind_a_held_lock(store, "first", ["second", "poison", "third"],
                                                      parser=_RefusingPoison()))
    assert [o["Subject"] for o in outcomes if isinstance(o, dict)] == ["first", "second", "third"]
    assert isinstance(outcomes[2], ParseFailed)
    assert store.search()[0] == 3
    store.close()


def test_a_parser_process_that_dies_costs_its_batch_and_is_replaced(tmp_path: Path):
    store = Store(str(tmp_path / "mail.sqlite"))

    async def scenario() -> list[Any]:
        writer = StoreWriter(store, asyncio.get_running_loop())
        try:
            first = await writer.store_message(_raw("before"), "", ["b@example.com"])
            assert isinstance(writer.parser, ParserProcess) and writer.parser.pid
            os.kill(writer.parser.pid, signal.SIGKILL)
            outcomes: list[Any] = [first]
            for subject in ("during", "after"):  # the first finds the child dead, or meets its replacement
                outcomes.append((await asyncio.gather(
                    writer.store_message(_raw(subject), "", ["b@example.com"]), return_exceptions=True))[0])
            return outcomes
        finally:
            writer.close()

    outcomes = asyncio.run(scenario())
    assert outcomes[0]["Subject"] == "before"
    assert isinstance(outcomes[1], ParserGone) or outcomes[1]["Subject"] == "during"
    assert outcomes[2]["Subject"] == "after"
    store.close()


def test_a_failed_commit_fails_its_batch_and_the_writer_goes_on(tmp_path: Path):
    store = Store(str(tmp_path / "mail.sqlite"))
    add_parsed = store.add_parsed
    failures = [sqlite3.OperationalError("disk I/O error")]

    def failing_once(batch):
        if failures:
            raise failures.pop()
        return add_parsed(batch)

    store.add_parsed = failing_once  # type: ignore[method-assign]
    outcomes = asyncio.run(_queued_behind_a_held_lock(store, "lost", ["stored"]))
    assert isinstance(outcomes[0], sqlite3.OperationalError)  # the sender gets 451 and may send it again
    assert outcomes[1]["Subject"] == "stored"
    assert store.search()[0] == 1
    store.close()


def test_closing_stores_what_was_queued_and_refuses_more(tmp_path: Path):
    store = Store(str(tmp_path / "mail.sqlite"))

    async def scenario() -> tuple[list[Any], BaseException | None]:
        writer = StoreWriter(store, asyncio.get_running_loop())
        queued = [writer.store_message(_raw(f"m{n}"), "", ["b@example.com"]) for n in range(3)]
        await asyncio.to_thread(writer.close)
        late = writer.store_message(_raw("late"), "", ["b@example.com"])
        return await asyncio.gather(*queued), late.exception()

    stored, refused = asyncio.run(scenario())
    assert [summary["Subject"] for summary in stored] == ["m0", "m1", "m2"]
    assert isinstance(refused, RuntimeError)
    assert store.search()[0] == 3
    store.close()


@pytest.mark.parametrize("cap", [1, 2])
def test_a_retention_cap_smaller_than_a_batch_keeps_the_newest(tmp_path: Path, cap: int):
    store = Store(str(tmp_path / "mail.sqlite"), max_messages=cap)
    summaries = asyncio.run(_queued_behind_a_held_lock(store, "a", ["b", "c", "d"]))
    assert len(summaries) == 4
    assert [s["Subject"] for s in store.search()[1]] == ["d", "c", "b"][:cap]
    store.close()
