"""The store on its own (a SQLite file in a temporary folder): retention with gaps, summaries as listed."""

from __future__ import annotations

from pathlib import Path

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
