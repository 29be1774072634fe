"""SQLite message store: the single source of truth the SMTP side writes and the API/UI read.

One connection guarded by a lock keeps it thread-safe (SMTP writes from a worker thread, API reads from
Starlette's thread pool). Every committed write is announced to listeners, which is what makes the wait call
and the live UI event-driven instead of polling.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .parse import ParsedMessage, html_to_text, parse_message

MAX_QUERY_LENGTH = 1000

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,   -- AUTOINCREMENT: ids never come back, so `after=ID` stays ordered
    created TEXT NOT NULL,
    read INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL,
    envelope_from TEXT NOT NULL,
    envelope_to TEXT NOT NULL,              -- JSON list
    summary TEXT NOT NULL,                  -- JSON: the parsed summary fields
    has_attachment INTEGER NOT NULL,
    search_from TEXT NOT NULL,              -- lower-cased search columns, filled at insert
    search_to TEXT NOT NULL,
    search_subject TEXT NOT NULL,
    search_text TEXT NOT NULL,
    raw BLOB NOT NULL                       -- last, so listing never touches the (large) raw bytes
);
"""

SUMMARY_COLUMNS = "id, created, read, size, summary"
# Lists of IDs go in as one JSON parameter, so no SQL text is ever built from values.
_SELECT_IDS = "SELECT id FROM messages WHERE id IN (SELECT value FROM json_each(?))"
_INSERT = (
    "INSERT INTO messages (created, size, envelope_from, envelope_to, summary, has_attachment,"
    " search_from, search_to, search_subject, search_text, raw) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)
_DELETE_IDS = "DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?))"


class QueryError(ValueError):
    """A search query the user must fix (answered with 400)."""


@dataclass(frozen=True)
class Term:
    field: str  # "text", "to", "from", "subject", "is", "has"
    value: str
    negate: bool = False


_FIELDS = {"to", "from", "subject", "cc", "bcc", "is", "has"}
_IS_VALUES = {"read", "unread"}
_HAS_VALUES = {"attachment", "attachments"}


def _tokens(query: str) -> list[str]:
    """Split on whitespace, keeping double-quoted runs (also inside `field:"a b"`) together."""
    tokens: list[str] = []
    current: list[str] = []
    quoted = False
    started = False
    for char in query:
        if char == '"':
            quoted = not quoted
            started = True
            current.append(char)
        elif char.isspace() and not quoted:
            if started:
                tokens.append("".join(current))
            current, started = [], False
        else:
            current.append(char)
            started = True
    if quoted:
        raise QueryError("unbalanced double quote in query")
    if started:
        tokens.append("".join(current))
    return tokens


def parse_query(query: str) -> list[Term]:
    """Parse a Mailpit-style search query.

    Supports ``to:``, ``from:``, ``cc:``/``bcc:`` (searched with ``to:``), ``subject:``, ``is:read``/``is:unread``,
    ``has:attachment``, free words, "quoted phrases" and a leading ``-`` to negate. All terms must match.
    An unknown ``word:`` prefix is free text (so URLs and times search as typed).
    """
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryError(f"query is longer than {MAX_QUERY_LENGTH} characters")
    terms: list[Term] = []
    for token in _tokens(query):
        negate = token.startswith("-") and len(token) > 1
        body = token[1:] if negate else token
        field_name, sep, value = body.partition(":")
        field_name = field_name.lower()
        if sep and field_name in _FIELDS:
            value = value.replace('"', "")
            if not value:
                raise QueryError(f"'{field_name}:' needs a value")
            if field_name in ("cc", "bcc"):
                field_name = "to"
            if field_name == "is" and value.lower() not in _IS_VALUES:
                raise QueryError("is: accepts read or unread")
            if field_name == "has" and value.lower() not in _HAS_VALUES:
                raise QueryError("has: accepts attachment")
        else:
            field_name, value = "text", body.replace('"', "")
            if not value:
                continue
        terms.append(Term(field_name, value.lower(), negate))
    return terms


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def terms_sql(terms: Iterable[Term]) -> tuple[str, list[Any]]:
    """A WHERE fragment (always parameterised, so any characters in a query are just data)."""
    clauses: list[str] = []
    params: list[Any] = []
    for term in terms:
        if term.field == "is":
            clause = "read = ?"
            params.append(1 if term.value == "read" else 0)
        elif term.field == "has":
            clause = "has_attachment = 1"
        else:
            column = {"text": "search_text", "to": "search_to", "from": "search_from", "subject": "search_subject"}
            clause = f"{column[term.field]} LIKE ? ESCAPE '\\'"
            params.append(_like(term.value))
        clauses.append(f"NOT ({clause})" if term.negate else clause)
    return (" AND ".join(clauses) or "1 = 1"), params


def _address_text(addresses: Iterable[dict[str, str]]) -> str:
    return " ".join(f"{a.get('Name', '')} <{a.get('Address', '')}>" for a in addresses)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def summary_from_row(row: sqlite3.Row | tuple, summary: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Mailpit message summary for a row selected with SUMMARY_COLUMNS (``summary``: its decoded JSON)."""
    message_id, created, read, size, summary_json = row[:5]
    if summary is None:
        summary = json.loads(summary_json)
    return {
        "ID": str(message_id),
        "MessageID": summary["MessageID"],
        "Read": bool(read),
        "From": summary["From"],
        "To": summary["To"],
        "Cc": summary["Cc"],
        "Bcc": summary["Bcc"],
        "ReplyTo": summary["ReplyTo"],
        "Subject": summary["Subject"],
        "Created": created,
        "Tags": [],
        "Size": size,
        "Attachments": summary["Attachments"],
        "Snippet": summary["Snippet"],
    }


@dataclass(frozen=True)
class StoredMessage:
    id: int
    created: str
    read: bool
    size: int
    envelope_from: str
    envelope_to: list[str]
    raw: bytes


@dataclass(frozen=True)
class Event:
    """What changed: type is "new" (data: summary), "delete" (data: {"IDs": [...]}), "truncate" or "read"."""

    type: str
    data: Any = None


Listener = Callable[[Event], None]


class Store:
    def __init__(self, path: str, max_messages: int = 1000) -> None:
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1")
        self.path = path
        self.max_messages = max_messages
        if path != ":memory:":
            parent = os.path.dirname(os.path.abspath(path))
            os.makedirs(parent, exist_ok=True)
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        with self._lock:
            # WAL + NORMAL: a committed message survives the process being killed (the issue 7 SIGKILL case).
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(SCHEMA)

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

    def add(self, raw: bytes, envelope_from: str = "", envelope_to: Iterable[str] = ()) -> dict[str, Any]:
        """Parse and store one message, prune beyond the retention cap, notify; returns its summary."""
        try:
            parsed = parse_message(raw)
        except Exception:  # never lose a message because it cannot be parsed: keep the raw bytes
            parsed = ParsedMessage(subject="(unparseable message)")
        recipients = list(envelope_to)
        html_text = html_to_text(parsed.html)
        summary = _summary_json(parsed, html_text)
        summary_json = json.dumps(summary)
        created = _now()
        search_to = " ".join([_address_text(parsed.to + parsed.cc + parsed.bcc), *recipients]).lower()
        search_text = " ".join(
            [parsed.subject, _address_text([parsed.from_]), search_to, parsed.text, html_text]
        ).lower()
        row = (
            created,
            len(raw),
            envelope_from,
            json.dumps(recipients),
            summary_json,
            1 if parsed.attachments else 0,
            f"{_address_text([parsed.from_])} {envelope_from}".lower(),
            search_to,
            parsed.subject.lower(),
            search_text,
            raw,
        )
        # Everything above runs outside the lock: only the insert and the pruning are serialised.
        with self._lock:
            # One transaction: the message and the pruning it causes commit together.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                new_id = self._db.execute(_INSERT, row).lastrowid
                pruned = self._prunable(new_id)
                if pruned:
                    self._db.execute(_DELETE_IDS, (json.dumps(pruned),))
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        result = summary_from_row((new_id, created, 0, len(raw), summary_json), summary)
        if pruned:
            self._notify(Event("delete", {"IDs": [str(i) for i in pruned]}))
        self._notify(Event("new", result))
        return result

    def _prunable(self, newest_id: int | None) -> list[int]:
        """IDs beyond the retention cap, oldest first (called under the lock, inside the insert's transaction)."""
        # IDs only grow, so there are at most (newest - oldest + 1) messages: when that fits under the cap, skip
        # the OFFSET scan, which walks max_messages index entries.
        (oldest,) = self._db.execute("SELECT MIN(id) FROM messages").fetchone()
        if newest_id is None or oldest is None or newest_id - oldest + 1 <= self.max_messages:
            return []
        return [
            row[0]
            for row in self._db.execute(
                "SELECT id FROM messages ORDER BY id DESC LIMIT -1 OFFSET ?", (self.max_messages,)
            )
        ]

    def delete(self, ids: Iterable[int]) -> list[int]:
        wanted = sorted(set(ids))
        if not wanted:
            return []
        with self._lock:
            existing = [r[0] for r in self._db.execute(_SELECT_IDS, (json.dumps(wanted),))]
            self._db.execute(_DELETE_IDS, (json.dumps(wanted),))
        if existing:
            self._notify(Event("delete", {"IDs": [str(i) for i in existing]}))
        return existing

    def delete_all(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM messages")
        self._notify(Event("truncate"))

    def set_read(self, ids: Iterable[int] | None, read: bool = True) -> list[int]:
        """Mark messages (all when ``ids`` is None) read or unread; returns the IDs that changed."""
        with self._lock:
            if ids is None:
                ids = [r[0] for r in self._db.execute("SELECT id FROM messages")]
            wanted = sorted(set(ids))
            changed = [
                r[0]
                for r in self._db.execute(
                    "SELECT id FROM messages WHERE id IN (SELECT value FROM json_each(?)) AND read != ?",
                    (json.dumps(wanted), int(read)),
                )
            ]
            self._db.execute(
                "UPDATE messages SET read = ? WHERE id IN (SELECT value FROM json_each(?))",
                (int(read), json.dumps(changed)),
            )
        if changed:
            self._notify(Event("read", {"IDs": [str(i) for i in changed], "Read": read}))
        return changed

    # --- reads ---

    def counts(self) -> tuple[int, int]:
        """(total, unread)."""
        with self._lock:
            total, unread = self._db.execute("SELECT COUNT(*), COALESCE(SUM(read = 0), 0) FROM messages").fetchone()
        return total, unread

    # The WHERE text comes from terms_sql: fixed SQL fragments only, every value is a bound parameter.
    def search(self, terms: Iterable[Term] = (), start: int = 0, limit: int = 50) -> tuple[int, list[dict[str, Any]]]:
        """(number of matches, one page of summaries newest first)."""
        where, params = terms_sql(terms)
        with self._lock:
            (count,) = self._db.execute(f"SELECT COUNT(*) FROM messages WHERE {where}", params).fetchone()  # noqa: S608
            rows = self._db.execute(
                f"SELECT {SUMMARY_COLUMNS} FROM messages WHERE {where} ORDER BY id DESC LIMIT ? OFFSET ?",  # noqa: S608
                [*params, limit, start],
            ).fetchall()
        return count, [summary_from_row(r) for r in rows]

    def first_match_after(self, terms: Iterable[Term], after: int) -> int | None:
        """The oldest message newer than ``after`` that matches, or None."""
        where, params = terms_sql(terms)
        with self._lock:
            row = self._db.execute(
                f"SELECT id FROM messages WHERE id > ? AND {where} ORDER BY id LIMIT 1",  # noqa: S608
                [after, *params],
            ).fetchone()
        return row[0] if row else None

    def latest_id(self) -> int | None:
        with self._lock:
            row = self._db.execute("SELECT MAX(id) FROM messages").fetchone()
        return row[0]

    def get(self, message_id: int) -> StoredMessage | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, created, read, size, envelope_from, envelope_to, raw FROM messages WHERE id = ?",
                (message_id,),
            ).fetchone()
        if row is None:
            return None
        return StoredMessage(row[0], row[1], bool(row[2]), row[3], row[4], json.loads(row[5]), bytes(row[6]))

    def ping(self) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1").fetchone() == (1,)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _summary_json(parsed: ParsedMessage, html_text: str) -> dict[str, Any]:
    return {
        "MessageID": parsed.message_id,
        "From": parsed.from_,
        "To": parsed.to,
        "Cc": parsed.cc,
        "Bcc": parsed.bcc,
        "ReplyTo": parsed.reply_to,
        "Subject": parsed.subject,
        "Attachments": len(parsed.attachments),
        "Snippet": parsed.snippet_from(html_text),
    }
