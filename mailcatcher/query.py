"""The search language (Mailpit's) and the SQL it becomes.

A query is a list of terms that must all match: free words, "quoted phrases", and ``field:value`` filters —
``to:``, ``from:``, ``cc:``, ``bcc:``, ``reply-to:``, ``addressed:`` (any of those), ``subject:``,
``message-id:``, ``tag:``, ``is:read|unread|tagged``, ``has:attachment|inline``, ``after:``/``before:`` (the
time received, a date or date and time, read in the ``tz`` time zone), ``larger:``/``smaller:`` (bytes, ``2kb``,
``1.5mb``). A leading ``-`` or ``!`` negates a term. A ``word:`` that is not a filter is free text, so URLs and
times search as typed. Unlike Mailpit, a filter it cannot read (``is:maybe``, ``before:soon``) is a
``QueryError`` (400), never a silent zero-result search.

Text filters match substrings, case-insensitively (text and values are lower-cased), through the store's
trigram index; every value is a bound parameter, never SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_QUERY_LENGTH = 1000

# Filters over the search index's columns (values are substrings).
TEXT_FIELDS = {
    "text": "text", "to": "to_", "from": "from_", "cc": "cc", "bcc": "bcc", "reply-to": "reply_to",
    "subject": "subject", "message-id": "message_id",
}
ADDRESS_COLUMNS = ("to_", "from_", "cc", "bcc", "reply_to")
_FLAGS = {
    ("is", "read"): "m.read = 1",
    ("is", "unread"): "m.read = 0",
    ("is", "tagged"): "EXISTS (SELECT 1 FROM message_tags t WHERE t.message_id = m.id)",
    ("has", "attachment"): "m.attachments > 0",
    ("has", "attachments"): "m.attachments > 0",
    ("has", "inline"): "m.inline > 0",
    ("has", "inlines"): "m.inline > 0",
}
_VALUE_FIELDS = {*TEXT_FIELDS, "addressed", "tag", "after", "before", "larger", "smaller"}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s?(b|k|kb|m|mb)?$")
_SIZE_UNITS = {None: 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024 * 1024, "mb": 1024 * 1024}


class QueryError(ValueError):
    """A search query the user must fix (answered with 400)."""


@dataclass(frozen=True)
class Term:
    field: str  # "text", a TEXT_FIELDS key, "addressed", "tag", "is", "has", "after", "before", "larger", "smaller"
    value: str  # lower-cased (tag names keep their case; sizes and times are normalised numbers as text)
    negate: bool = False


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


def parse_size(text: str) -> int:
    match = _SIZE.match(text.strip().lower())
    if not match:
        raise QueryError(f"{text!r} is not a size (examples: 500, 2kb, 1.5mb)")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2)])


def time_zone(name: str | None) -> tzinfo | None:
    """The ``tz`` parameter (an IANA name such as Pacific/Auckland); None means the server's local time."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise QueryError(f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin)") from None


def parse_moment(text: str, zone: tzinfo | None) -> int:
    """Milliseconds since the epoch for a date, a date and time (ISO 8601) or an RFC 2822 date."""
    value = text.strip().upper().replace("/", "-")
    moment: datetime | None = None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(value), time())
        except ValueError:
            try:
                moment = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                moment = None
    if moment is None:
        raise QueryError(f"{text!r} is not a date (examples: 2025-07-01, \"2025-07-01 13:30\", 2025-07-01T13:30Z)")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone) if zone is not None else moment.astimezone()
    return int(moment.timestamp() * 1000)


def parse_query(query: str, zone: tzinfo | None = None) -> list[Term]:
    """Parse a Mailpit search query into terms (all must match); ``zone`` reads after:/before: dates."""
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryError(f"query is longer than {MAX_QUERY_LENGTH} characters")
    terms: list[Term] = []
    for token in _tokens(query):
        negate = token[0] in "-!" and len(token) > 1
        body = token[1:] if negate else token
        name, sep, value = body.partition(":")
        name = name.lower()
        value = value.replace('"', "")
        if sep and (name, value.lower()) in _FLAGS:
            terms.append(Term(name, value.lower(), negate))
        elif sep and name in ("is", "has"):
            choices = "read, unread or tagged" if name == "is" else "attachment or inline"
            raise QueryError(f"{name}: accepts {choices}")
        elif sep and name in _VALUE_FIELDS:
            if not value.strip():
                raise QueryError(f"'{name}:' needs a value")
            terms.append(_value_term(name, value, negate, zone))
        else:
            text = body.replace('"', "")
            if text:
                terms.append(Term("text", text.lower(), negate))
    return terms


def _value_term(name: str, value: str, negate: bool, zone: tzinfo | None) -> Term:
    if name in ("larger", "smaller"):
        return Term(name, str(parse_size(value)), negate)
    if name in ("after", "before"):
        return Term(name, str(parse_moment(value, zone)), negate)
    if name == "tag":
        return Term(name, value.strip(), negate)
    return Term(name, value.lower(), negate)


def glob_pattern(value: str) -> str:
    """A GLOB matching ``value`` anywhere (GLOB, not LIKE: the trigram index serves GLOB with escapes)."""
    escaped = value.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]")
    return f"*{escaped}*"


def fts_phrase(columns: Iterable[str], value: str) -> str:
    """An FTS5 MATCH expression for ``value`` as a substring of any of ``columns`` (a trigram phrase: exact)."""
    return f"{{{' '.join(columns)}}} : \"{value.replace('"', '""')}\""


def _indexed(columns: Iterable[str], value: str) -> tuple[str, list[Any]]:
    """Messages whose text in any of ``columns`` contains ``value``: the index, plus the rows not indexed yet.

    Three characters or more are a trigram phrase query (answered from the index's positions alone); shorter
    values cannot be in a trigram index and are a GLOB over its text.
    """
    columns = list(columns)
    pattern = glob_pattern(value)
    globs = " OR ".join(f"{column} GLOB ?" for column in columns)
    if len(value) >= 3:
        indexed, params = "SELECT rowid FROM search WHERE search MATCH ?", [fts_phrase(columns, value)]
    else:
        indexed, params = f"SELECT rowid FROM search WHERE {globs}", [pattern] * len(columns)  # noqa: S608
    # Fixed column names only; every value is a parameter.
    sql = f"m.id IN ({indexed} UNION ALL SELECT id FROM search_pending WHERE {globs})"  # noqa: S608
    return sql, [*params, *[pattern] * len(columns)]


def term_sql(term: Term) -> tuple[str, list[Any]]:
    """One term's SQL condition over ``messages m`` (fixed SQL text; the value is a parameter)."""
    if (term.field, term.value) in _FLAGS:
        return _FLAGS[(term.field, term.value)], []
    if term.field == "tag":
        return ("EXISTS (SELECT 1 FROM message_tags t WHERE t.message_id = m.id AND t.tag = ? COLLATE NOCASE)",
                [term.value])
    if term.field in ("larger", "smaller"):
        return ("m.size > ?" if term.field == "larger" else "m.size < ?"), [int(term.value)]
    if term.field in ("after", "before"):
        return ("m.created_ms >= ?" if term.field == "after" else "m.created_ms <= ?"), [int(term.value)]
    columns = ADDRESS_COLUMNS if term.field == "addressed" else (TEXT_FIELDS[term.field],)
    return _indexed(columns, term.value)


def terms_sql(terms: Iterable[Term]) -> tuple[str, list[Any]]:
    """A WHERE fragment over ``messages m`` for all terms (AND), every value a bound parameter."""
    clauses: list[str] = []
    params: list[Any] = []
    for term in terms:
        clause, values = term_sql(term)
        clauses.append(f"NOT ({clause})" if term.negate else clause)
        params.extend(values)
    return (" AND ".join(clauses) or "1 = 1"), params
