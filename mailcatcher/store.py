"""SQLite message store: the single source of truth the SMTP side writes and the API/UI read.

One connection guarded by a lock keeps it thread-safe (SMTP writes from a worker thread, API reads from
worker threads). Every committed write is announced to listeners, which is what makes the wait call and the live
UI event-driven instead of polling. The file is private to its user (0600, SQLite gives its WAL files the same
mode) in a directory the store creates 0700.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from . import record as records
from . import schema
from .changes import Event, Listener
from .finder import FinderMixin
from .indexer import Indexer
from .query import QueryError, Term, parse_query, terms_sql  # noqa: F401 - the Workflows page imports these here
from .stored import StoredMessage, message_summary
from .tags import TagsMixin

# Moved into the trigram index in batches this big (each batch holds the write lock ~50-100 ms).
INDEX_BATCH = 200
_INSERT = "INSERT INTO messages (created, created_ms, size, attachments, inline) VALUES (?,?,?,?,?)"
_INSERT_PENDING = (
    f"INSERT INTO search_pending (id, {', '.join(schema.SEARCH_COLUMNS)}) "  # noqa: S608 - fixed column names
    f"VALUES (?{', ?' * len(schema.SEARCH_COLUMNS)})"
)
_IDS = "SELECT value FROM json_each(?)"  # lists of IDs go in as one JSON parameter, never as SQL text


def private_file(path: str) -> None:
    """Create ``path`` (and its directory) readable by this user only, or tighten an existing file."""
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        os.makedirs(parent, mode=0o700, exist_ok=True)
        os.chmod(parent, 0o700)  # makedirs' mode is filtered by the umask
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    os.chmod(path, 0o600)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.chmod(path + suffix, 0o600)


class Store(FinderMixin, TagsMixin):
    def __init__(self, path: str, max_messages: int = 1000) -> None:
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1")
        self.path = path
        self.max_messages = max_messages
        if path != ":memory:":
            private_file(path)
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._indexer: Indexer | None = None
        self.pending = 0  # rows waiting in search_pending for the trigram index
        self._counts: tuple[int, int] | None = None  # (total, unread), until the next write
        self.stats: collections.Counter[str] = collections.Counter()  # for /api/v1/info
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        with self._lock:
            # WAL + NORMAL: a committed message survives the process being killed.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            with self._transaction():
                schema.create(self._db, self._migrate_one)
            (self.pending,) = self._db.execute("SELECT COUNT(*) FROM search_pending").fetchone()
        if self.pending:
            self._index_later()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction (call with the lock held). Any write may change the counts."""
        self._counts = None
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        finally:
            self._counts = None

    # --- notifications ---

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` (from the writing thread) after each committed change; returns an unsubscribe."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _notify(self, event: Event) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)

    # --- writes ---

    def _insert(self, found: records.Record, raw: bytes, read: bool = False) -> int:
        """Insert one message and its pending search row (lock held, inside a transaction)."""
        new_id = self._db.execute(_INSERT, (
            found.created, found.created_ms, found.size, found.attachments, found.inline)).lastrowid
        assert new_id is not None
        self._db.execute("INSERT INTO summaries VALUES (?, ?)", (new_id, json.dumps(found.summary)))
        self._db.execute("INSERT INTO message_data VALUES (?, ?, ?, ?, ?)", (
            new_id, found.envelope_from, json.dumps(found.envelope_to), found.view_json, raw))
        if read:
            self._db.execute("UPDATE messages SET read = 1 WHERE id = ?", (new_id,))
        self._db.execute(_INSERT_PENDING, (new_id, *(found.search[c] for c in schema.SEARCH_COLUMNS)))
        self.pending += 1
        if found.tags:
            self._db.executemany("INSERT OR IGNORE INTO message_tags VALUES (?, ?)",
                                 [(new_id, tag) for tag in found.tags])
        return new_id

    def _migrate_one(self, raw: bytes, sender: str, recipients: list[str], created: str, read: bool) -> None:
        moment = datetime.fromisoformat(created.replace("Z", "+00:00"))
        self._insert(records.build(raw, sender, recipients, now=moment), raw, read)

    def add(self, raw: bytes, envelope_from: str = "", envelope_to: Iterable[str] = (),
            tags: Iterable[str] = ()) -> dict[str, Any]:
        """Parse and store one message, prune beyond the retention cap, notify; returns its summary."""
        found = records.build(raw, envelope_from, list(envelope_to))
        for tag in tags:
            cleaned = records.clean_tag(tag)
            if cleaned and cleaned.lower() not in (t.lower() for t in found.tags):
                found.tags.append(cleaned)
        return self.add_parsed([(found, raw)])[0]

    def add_parsed(self, batch: list[tuple[records.Record, bytes]]) -> list[dict[str, Any]]:
        """Store parsed messages in one transaction (one commit however many arrived together), prune beyond the
        retention cap, notify; returns their summaries in order."""
        with self._lock, self._transaction():
            new_ids = [self._insert(found, raw) for found, raw in batch]
            pruned = self._prunable(new_ids[-1]) if new_ids else []
            if pruned:
                self._delete_rows(pruned)
        self._index_later()
        results = [message_summary(new_id, found.created, False, found.size, found.summary, sorted(found.tags))
                   for new_id, (found, _) in zip(new_ids, batch, strict=True)]
        self.stats.update(accepted=len(batch), accepted_size=sum(found.size for found, _ in batch),
                          deleted=len(pruned))
        if pruned:
            self._notify(Event("delete", {"IDs": [str(i) for i in pruned]}))
        gone = set(pruned)  # a retention cap smaller than the batch prunes some of the batch itself
        for new_id, result in zip(new_ids, results, strict=True):
            if new_id not in gone:
                self._notify(Event("new", result))
        return results

    def _index_later(self) -> None:
        if self._indexer is None:
            self._indexer = Indexer(self)
        self._indexer.added()

    def _prunable(self, newest_id: int) -> list[int]:
        """IDs beyond the retention cap, oldest first (lock held, inside the insert's transaction)."""
        # IDs only grow, so there are at most (newest - oldest + 1) messages: when that fits under the cap, skip
        # the OFFSET scan, which walks max_messages index entries.
        (oldest,) = self._db.execute("SELECT MIN(id) FROM messages").fetchone()
        if oldest is None or newest_id - oldest + 1 <= self.max_messages:
            return []
        return [row[0] for row in self._db.execute(
            "SELECT id FROM messages ORDER BY id DESC LIMIT -1 OFFSET ?", (self.max_messages,))]

    def _delete_rows(self, ids: list[int]) -> None:
        wanted = json.dumps(ids)
        for table, column in (("messages", "id"), ("summaries", "id"), ("message_data", "id"),
                              ("search_pending", "id"), ("search", "rowid"), ("message_tags", "message_id")):
            self._db.execute(f"DELETE FROM {table} WHERE {column} IN ({_IDS})", (wanted,))  # noqa: S608
        self.pending = self._db.execute("SELECT COUNT(*) FROM search_pending").fetchone()[0]

    def delete(self, ids: Iterable[int]) -> list[int]:
        wanted = sorted(set(ids))
        if not wanted:
            return []
        with self._lock, self._transaction():
            existing = [r[0] for r in self._db.execute(f"SELECT id FROM messages WHERE id IN ({_IDS})",  # noqa: S608
                                                       (json.dumps(wanted),))]
            self._delete_rows(existing)
        self.stats.update(deleted=len(existing))
        if existing:
            self._notify(Event("delete", {"IDs": [str(i) for i in existing]}))
        return existing

    def delete_matching(self, terms: Iterable[Term]) -> list[int]:
        return self.delete(self.matching_ids(terms))

    def delete_all(self) -> None:
        with self._lock, self._transaction():
            for table in ("messages", "summaries", "message_data", "search_pending", "message_tags"):
                self._db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            schema.recreate_search_index(self._db)
            self.pending = 0
        self._notify(Event("truncate"))

    def set_read(self, ids: Iterable[int] | None, read: bool = True) -> list[int]:
        """Mark messages (all when ``ids`` is None) read or unread; returns the IDs that changed."""
        with self._lock, self._transaction():
            if ids is None:
                selected = "SELECT id FROM messages WHERE read != ?"
                changed = [r[0] for r in self._db.execute(selected, (int(read),))]
            else:
                selected = f"SELECT id FROM messages WHERE id IN ({_IDS}) AND read != ?"  # noqa: S608
                changed = [r[0] for r in self._db.execute(selected, (json.dumps(sorted(set(ids))), int(read)))]
            self._db.execute(f"UPDATE messages SET read = ? WHERE id IN ({_IDS})",  # noqa: S608
                             (int(read), json.dumps(changed)))
        if changed:
            self._notify(Event("read", {"IDs": [str(i) for i in changed], "Read": read}))
        return changed

    # --- the search index ---

    def index_pending(self, batch: int = INDEX_BATCH) -> int:
        """Move up to ``batch`` pending rows into the trigram index; returns how many are left."""
        columns = ", ".join(schema.SEARCH_COLUMNS)
        with self._lock, self._transaction():
            ids = [r[0] for r in self._db.execute("SELECT id FROM search_pending ORDER BY id LIMIT ?", (batch,))]
            if ids:
                wanted = json.dumps(ids)
                self._db.execute(f"INSERT INTO search (rowid, {columns}) SELECT id, {columns} FROM search_pending"  # noqa: S608
                                 f" WHERE id IN ({_IDS})", (wanted,))
                self._db.execute(f"DELETE FROM search_pending WHERE id IN ({_IDS})", (wanted,))  # noqa: S608
            self.pending = max(0, self.pending - len(ids))
            return self.pending

    # --- reads ---

    def counts(self) -> tuple[int, int]:
        """(total, unread), counted once after each write (a list page asks on every request)."""
        with self._lock:
            return self._counted()

    def _counted(self) -> tuple[int, int]:
        if self._counts is None:
            total, unread = self._db.execute("SELECT COUNT(*), COALESCE(SUM(read = 0), 0) FROM messages").fetchone()
            self._counts = (total, unread)
        return self._counts

    def latest_id(self) -> int | None:
        with self._lock:
            return self._db.execute("SELECT MAX(id) FROM messages").fetchone()[0]

    def get(self, message_id: int) -> StoredMessage | None:
        with self._lock:
            row = self._db.execute(
                "SELECT m.id, m.created, m.read, m.size, d.envelope_from, d.envelope_to, s.summary, d.view"
                " FROM messages m JOIN message_data d ON d.id = m.id JOIN summaries s ON s.id = m.id WHERE m.id = ?",
                (message_id,),
            ).fetchone()
            tags = self._tags_of([message_id]).get(message_id, [])
        if row is None:
            return None
        return StoredMessage(row[0], row[1], bool(row[2]), row[3], row[4], json.loads(row[5]), json.loads(row[6]),
                             json.loads(row[7]), tags)

    def raw(self, message_id: int) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT raw FROM message_data WHERE id = ?", (message_id,)).fetchone()
        return None if row is None else bytes(row[0])

    def size_on_disk(self) -> int:
        return sum(os.path.getsize(self.path + s) for s in ("", "-wal") if os.path.exists(self.path + s))

    def ping(self) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1").fetchone() == (1,)

    def close(self) -> None:
        if self._indexer is not None:
            self._indexer.close()
        with self._lock:
            self._db.close()
