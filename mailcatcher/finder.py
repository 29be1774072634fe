"""Searches over the store: a page of summaries, matching IDs, and the checks the long-poll waiters make.

A mixin of ``Store``: the same connection and lock. The WHERE text comes from ``query.terms_sql``: fixed SQL
fragments only, every value a bound parameter.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable
from typing import Any

from .query import Term, terms_sql
from .stored import message_summary

_PAGE = ("SELECT m.id, m.created, m.read, m.size, s.summary FROM messages m JOIN summaries s ON s.id = m.id"
         " WHERE m.id IN (SELECT value FROM json_each(?)) ORDER BY m.id DESC")


class FinderMixin:
    _db: sqlite3.Connection
    _lock: threading.Lock
    _counted: Callable[[], tuple[int, int]]
    _tags_of: Callable[[list[int]], dict[int, list[str]]]
    _summary: Callable[..., dict[str, Any]]

    def search(self, terms: Iterable[Term] = (), start: int = 0, limit: int = 50) -> tuple[int, list[dict[str, Any]]]:
        """(number of matches, one page of summaries newest first)."""
        count, _, page = self.search_page(terms, start, limit)
        return count, page

    def search_page(self, terms: Iterable[Term] = (), start: int = 0,
                    limit: int = 50) -> tuple[int, int, list[dict[str, Any]]]:
        """(matches, unread matches, one page of summaries newest first).

        The matching (id, read) pairs are read unordered, so SQLite drives from the search index (or an index on
        the filtered column) instead of walking every message in ID order; the page's summaries are then read by ID.
        """
        where, params = terms_sql(terms)
        with self._lock:
            if not params and where == "1 = 1":  # the whole mailbox: counted by index, paged by ID
                count, unread = self._counted()
                page = [r[0] for r in self._db.execute("SELECT id FROM messages ORDER BY id DESC LIMIT ? OFFSET ?",
                                                       (limit, start))]
            else:
                found = self._db.execute(f"SELECT m.id, m.read FROM messages m WHERE {where}", params).fetchall()  # noqa: S608
                found.sort(reverse=True)
                count, unread = len(found), sum(1 for _, read in found if not read)
                page = [message_id for message_id, _ in found[start : start + limit]]
            rows = self._db.execute(_PAGE, (json.dumps(page),)).fetchall()
            tags = self._tags_of(page)
        summaries = [message_summary(i, c, bool(r), s, json.loads(j), tags.get(i, [])) for i, c, r, s, j in rows]
        return count, unread, summaries

    def matching_ids(self, terms: Iterable[Term]) -> list[int]:
        where, params = terms_sql(terms)
        with self._lock:
            return [r[0] for r in self._db.execute(f"SELECT m.id FROM messages m WHERE {where}", params)]  # noqa: S608

    def first_match_after(self, terms: Iterable[Term], after: int) -> int | None:
        """The oldest message newer than ``after`` that matches, or None."""
        where, params = terms_sql(terms)
        with self._lock:
            row = self._db.execute(
                f"SELECT m.id FROM messages m WHERE m.id > ? AND {where} ORDER BY m.id LIMIT 1",  # noqa: S608
                [after, *params],
            ).fetchone()
        return row[0] if row else None

    def matches(self, message_id: int, queries: Iterable[list[Term]]) -> list[bool]:
        """For one message, whether it matches each query (one lock, one cheap lookup per query)."""
        answers = []
        with self._lock:
            for terms in queries:
                where, params = terms_sql(terms)
                found = self._db.execute(f"SELECT 1 FROM messages m WHERE m.id = ? AND {where}",  # noqa: S608
                                         [message_id, *params]).fetchone()
                answers.append(found is not None)
        return answers

