"""Message tags (Mailpit's): names matched case-insensitively, kept with the case first given.

A mixin of ``Store``: the same connection, lock and notifications; every change announces a "tags" event.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable
from typing import Any

from .changes import Event
from .record import clean_tag

_IDS = "SELECT value FROM json_each(?)"


class TagsMixin:
    _db: sqlite3.Connection
    _lock: threading.Lock
    _transaction: Callable[[], Any]
    _notify: Callable[[Event], None]

    def _tags_of(self, ids: list[int]) -> dict[int, list[str]]:
        """Tags per message for these IDs (lock held)."""
        found: dict[int, list[str]] = {}
        if ids:
            for message_id, tag in self._db.execute(
                f"SELECT message_id, tag FROM message_tags WHERE message_id IN ({_IDS}) ORDER BY tag",  # noqa: S608
                (json.dumps(ids),),
            ):
                found.setdefault(message_id, []).append(tag)
        return found

    def _spelling(self, tags: Iterable[str]) -> list[str]:
        """Cleaned, de-duplicated tag names, spelled as an existing tag is (lock held)."""
        names: list[str] = []
        for tag in tags:
            cleaned = clean_tag(tag)
            if not cleaned or cleaned.lower() in (n.lower() for n in names):
                continue
            existing = self._db.execute("SELECT tag FROM message_tags WHERE tag = ? LIMIT 1", (cleaned,)).fetchone()
            names.append(existing[0] if existing else cleaned)
        return names

    def set_tags(self, ids: Iterable[int], tags: Iterable[str]) -> list[int]:
        """Replace the tags of these messages (an empty list removes all); returns the IDs that exist."""
        wanted = json.dumps(sorted(set(ids)))
        with self._lock, self._transaction():
            existing = [r[0] for r in self._db.execute(f"SELECT id FROM messages WHERE id IN ({_IDS})",  # noqa: S608
                                                       (wanted,))]
            names = self._spelling(tags)
            self._db.execute(f"DELETE FROM message_tags WHERE message_id IN ({_IDS})", (json.dumps(existing),))  # noqa: S608
            self._db.executemany("INSERT OR IGNORE INTO message_tags VALUES (?, ?)",
                                 [(i, name) for i in existing for name in names])
        if existing:
            self._notify(Event("tags", {"IDs": [str(i) for i in existing], "Tags": names}))
        return existing

    def all_tags(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT tag FROM message_tags GROUP BY tag COLLATE NOCASE ORDER BY tag").fetchall()
        return [row[0] for row in rows]

    def tag_counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT tag, COUNT(*) FROM message_tags GROUP BY tag COLLATE NOCASE").fetchall()
        return dict(rows)

    def rename_tag(self, old: str, new: str) -> bool:
        """Rename a tag on every message (merging into ``new`` if it exists); False when ``old`` is unknown."""
        with self._lock, self._transaction():
            if self._db.execute("SELECT 1 FROM message_tags WHERE tag = ? LIMIT 1", (old,)).fetchone() is None:
                return False
            [name] = self._spelling([new]) or [""]
            if not name:
                raise ValueError("the new tag name is empty once cleaned")
            ids = [r[0] for r in self._db.execute("SELECT message_id FROM message_tags WHERE tag = ?", (old,))]
            self._db.execute("DELETE FROM message_tags WHERE tag = ?", (old,))
            self._db.executemany("INSERT OR IGNORE INTO message_tags VALUES (?, ?)", [(i, name) for i in ids])
        self._notify(Event("tags", {"IDs": [str(i) for i in ids], "Renamed": [old, name]}))
        return True

    def delete_tag(self, name: str) -> bool:
        """Remove a tag from every message (the messages stay); False when it is unknown."""
        with self._lock, self._transaction():
            ids = [r[0] for r in self._db.execute("SELECT message_id FROM message_tags WHERE tag = ?", (name,))]
            self._db.execute("DELETE FROM message_tags WHERE tag = ?", (name,))
        if ids:
            self._notify(Event("tags", {"IDs": [str(i) for i in ids], "Deleted": name}))
        return bool(ids)
