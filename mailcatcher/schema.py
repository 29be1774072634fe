"""The store's SQLite schema, and the upgrade from the first one (which kept only raw bytes and a summary).

``messages`` holds what searches filter on (small rows, so even a scan of 100,000 stays fast); ``summaries``
what a list page shows; ``message_data`` what one message's views need, computed once at arrival
(``record.py``), and the raw bytes. Search text goes first to ``search_pending`` (one cheap row in the
message's own transaction) and is moved in batches into ``search``, an FTS5 trigram index that answers
substring searches without scanning; queries look in both, so a message is searchable the moment it is stored.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

VERSION = 3
SEARCH_COLUMNS = ("text", "from_", "to_", "cc", "bcc", "reply_to", "subject", "message_id")

MESSAGES = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,   -- AUTOINCREMENT: ids never come back, so `after=ID` stays ordered
    created TEXT NOT NULL,                  -- RFC 3339, as the API shows it
    created_ms INTEGER NOT NULL,            -- the same instant, for before:/after:
    read INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL,
    attachments INTEGER NOT NULL,
    inline INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_read ON messages (read);
CREATE INDEX IF NOT EXISTS messages_attachments ON messages (attachments) WHERE attachments > 0;
CREATE INDEX IF NOT EXISTS messages_inline ON messages (inline) WHERE inline > 0;
CREATE INDEX IF NOT EXISTS messages_size ON messages (size);
CREATE TABLE IF NOT EXISTS summaries (
    id INTEGER PRIMARY KEY,                 -- messages.id
    summary TEXT NOT NULL                   -- JSON: what message lists show, read for one page at a time
);
CREATE TABLE IF NOT EXISTS message_data (
    id INTEGER PRIMARY KEY,                 -- messages.id
    envelope_from TEXT NOT NULL,
    envelope_to TEXT NOT NULL,              -- JSON list
    view TEXT NOT NULL,                     -- JSON: what the message views show (bodies, headers, parts, links)
    raw BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_created_ms ON messages (created_ms);
CREATE TABLE IF NOT EXISTS message_tags (
    message_id INTEGER NOT NULL,
    tag TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (message_id, tag)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS message_tags_by_tag ON message_tags (tag);
"""
SEARCH_PENDING = (
    "CREATE TABLE IF NOT EXISTS search_pending (id INTEGER PRIMARY KEY, "
    + ", ".join(f"{column} TEXT NOT NULL" for column in SEARCH_COLUMNS) + ")"
)
SEARCH_INDEX = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS search USING fts5({', '.join(SEARCH_COLUMNS)}, "
    "tokenize='trigram case_sensitive 1')"
)


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() is not None


def _old_rows(db: sqlite3.Connection) -> list[tuple]:
    """(raw, sender, recipients JSON, created, read) of every message of an older store, oldest first."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(messages)")}
    if "raw" in columns:  # version 1: everything in one table
        sql = "SELECT raw, envelope_from, envelope_to, created, read FROM messages ORDER BY id"
    else:  # an interim layout with the raw bytes beside the rows
        sender = "m.envelope_from, m.envelope_to" if "envelope_from" in columns else "d.envelope_from, d.envelope_to"
        sql = (f"SELECT d.raw, {sender}, m.created, m.read FROM messages m"  # noqa: S608 - fixed column names
               " JOIN message_data d ON d.id = m.id ORDER BY m.id")
    return db.execute(sql).fetchall()


def create(db: sqlite3.Connection, rebuild: Callable[[bytes, str, list[str], str, bool], None]) -> None:
    """Create the tables; an older store is carried over message by message through ``rebuild``
    (raw, envelope sender, recipients, created, read), which re-derives everything from the raw bytes."""
    (version,) = db.execute("PRAGMA user_version").fetchone()
    old: list[tuple] = []
    if version < VERSION and _has_table(db, "messages"):
        old = _old_rows(db)
        for table in ("messages", "summaries", "message_data", "message_tags", "search_pending", "search"):
            db.execute(f"DROP TABLE IF EXISTS {table}")  # noqa: S608 - fixed table names
    for statement in MESSAGES.split(";"):  # executescript would commit the caller's transaction
        if statement.strip():
            db.execute(statement)
    db.execute(SEARCH_PENDING)
    db.execute(SEARCH_INDEX)
    for raw, sender, recipients, created, read in old:
        rebuild(bytes(raw), sender, json.loads(recipients), created, bool(read))
    db.execute(f"PRAGMA user_version = {VERSION}")


def recreate_search_index(db: sqlite3.Connection) -> None:
    """Empty the index at once (row-by-row deletes of a large FTS table are slow)."""
    db.execute("DROP TABLE IF EXISTS search")
    db.execute(SEARCH_INDEX)
