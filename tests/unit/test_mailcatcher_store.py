"""The store on its own (a SQLite file in a temporary folder): retention with gaps, summaries as listed."""

from __future__ import annotations

from pathlib import Path

from mailcatcher.query import parse_query
from mailcatcher.store import Store


def _raw(n: int) -> bytes:
    return f"From: a@example.com\r\nTo: b@example.com\r\nSubject: message {n}\r\n\r\nbody {n}\r\n".encode()


def _ids(store: Store) -> list[int]:
    _, summaries = store.search(limit=100)
    return [int(s["ID"]) for s in summaries]


def test_retention_counts_messages_not_ids_when_deletes_left_gaps(tmp_path: Path):
    store = Store(str(tmp_path / "mail.sqlite"), max_messages=3)
    try:
        for n in range(1, 6):
            store.add(_raw(n))
        assert _ids(store) == [5, 4, 3]
        store.delete([4])
        store.add(_raw(6))  # 3, 5, 6: under the cap although the IDs span four
        assert _ids(store) == [6, 5, 3]
        store.add(_raw(7))
        assert _ids(store) == [7, 6, 5]
        store.delete_all()
        store.add(_raw(8))
        assert _ids(store) == [8]
    finally:
        store.close()


def test_the_summary_add_returns_is_the_one_listed(tmp_path: Path):
    store = Store(str(tmp_path / "mail.sqlite"))
    try:
        added = store.add(_raw(1), "a@example.com", ["b@example.com"])
        _, [listed] = store.search()
        assert added == listed
        assert added["Subject"] == "message 1" and added["Snippet"] == "body 1" and added["Read"] is False
    finally:
        store.close()


def test_finding_9_the_store_is_private_to_its_user(tmp_path: Path):
    path = tmp_path / "new-dir" / "mail.sqlite"
    store = Store(str(path))
    try:
        store.add(_raw(1))
        assert (path.parent.stat().st_mode & 0o777) == 0o700
        for file in [path, Path(f"{path}-wal"), Path(f"{path}-shm")]:
            assert (file.stat().st_mode & 0o777) == 0o600, file
    finally:
        store.close()


def test_search_finds_messages_before_and_after_they_are_indexed(tmp_path: Path):
    store = Store(str(tmp_path / "mail.sqlite"))
    try:
        for n in range(1, 4):
            store.add(_raw(n))
        terms = parse_query("body 2")
        assert [s["ID"] for s in store.search(terms)[1]] == ["2"]
        while store.index_pending() > 0:
            pass
        assert store.pending == 0
        assert [s["ID"] for s in store.search(terms)[1]] == ["2"]
        store.add(_raw(22))  # one indexed, one pending: both found, newest first
        assert [s["ID"] for s in store.search(parse_query("body 2"))[1]] == ["4", "2"]
        assert [s["ID"] for s in store.search(parse_query("-body"))[1]] == []
    finally:
        store.close()


def test_tags_set_rename_delete_and_search(tmp_path: Path):
    store = Store(str(tmp_path / "mail.sqlite"))
    try:
        ids = [int(store.add(_raw(n))["ID"]) for n in range(1, 4)]
        store.set_tags(ids[:2], ["Urgent", "urgent", "ops team!"])
        assert store.all_tags() == ["ops team", "Urgent"]  # sorted without regard to case
        assert [s["ID"] for s in store.search(parse_query("tag:URGENT"))[1]] == ["2", "1"]
        assert store.search(parse_query("is:tagged"))[0] == 2
        assert store.rename_tag("urgent", "Later") and store.all_tags() == ["Later", "ops team"]
        assert store.delete_tag("ops team") and store.all_tags() == ["Later"]
        assert not store.rename_tag("nothing", "x")
        assert store.get(ids[0]).tags == ["Later"]
        store.delete_matching(parse_query("tag:later"))
        assert store.counts() == (1, 1)
    finally:
        store.close()


def test_a_first_version_store_is_carried_over(tmp_path: Path):
    import json
    import sqlite3

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT, read INTEGER, size INTEGER,"
               " envelope_from TEXT, envelope_to TEXT, summary TEXT, has_attachment INTEGER, search_from TEXT,"
               " search_to TEXT, search_subject TEXT, search_text TEXT, raw BLOB)")
    db.execute("INSERT INTO messages VALUES (7, '2025-07-01T00:00:00.000Z', 1, 10, 'a@x', ?, '{}', 0, '', '', '', '',"
               " ?)", (json.dumps(["b@example.com"]), _raw(7)))
    db.commit()
    db.close()
    store = Store(str(path))
    try:
        [summary] = store.search()[1]
        assert summary["Subject"] == "message 7" and summary["Read"] is True
        assert summary["Created"] == "2025-07-01T00:00:00.000Z"
    finally:
        store.close()
