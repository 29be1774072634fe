"""The search language (Mailpit's operators) and the SQL it produces (values always as parameters)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from mailcatcher.query import QueryError, Term, glob_pattern, parse_query, terms_sql, time_zone


def test_fields_free_text_and_phrases():
    assert parse_query('to:Alice from:bob@x.test subject:"Leave request" urgent "next week"') == [
        Term("to", "alice"),
        Term("from", "bob@x.test"),
        Term("subject", "leave request"),
        Term("text", "urgent"),
        Term("text", "next week"),
    ]


def test_negation_flags_and_unknown_prefixes():
    assert parse_query("-from:spam !cc:team is:unread has:attachment http://x.test/a 10:30") == [
        Term("from", "spam", negate=True),
        Term("cc", "team", negate=True),
        Term("is", "unread"),
        Term("has", "attachment"),
        Term("text", "http://x.test/a"),
        Term("text", "10:30"),
    ]


def test_mailpit_operators():
    zone = ZoneInfo("Pacific/Auckland")
    terms = parse_query("reply-to:a@x addressed:b@x message-id:abc@x tag:Urgent is:tagged has:inline "
                        "larger:2kb smaller:1.5mb after:2025-07-01 before:\"2025-07-02 13:30\"", zone)
    midnight = int(datetime(2025, 7, 1, tzinfo=zone).timestamp() * 1000)
    half_past = int(datetime(2025, 7, 2, 13, 30, tzinfo=zone).timestamp() * 1000)
    assert terms == [
        Term("reply-to", "a@x"), Term("addressed", "b@x"), Term("message-id", "abc@x"), Term("tag", "Urgent"),
        Term("is", "tagged"), Term("has", "inline"), Term("larger", "2048"), Term("smaller", str(1572864)),
        Term("after", str(midnight)), Term("before", str(half_past)),
    ]
    utc = parse_query("after:2025-07-01T00:00:00Z")[0]
    assert utc.value == str(int(datetime(2025, 7, 1, tzinfo=UTC).timestamp() * 1000))


def test_empty_and_whitespace_queries_have_no_terms():
    assert parse_query("") == []
    assert parse_query('   ""  ') == []


@pytest.mark.parametrize("bad", ['"unbalanced', "to:", 'subject:""', "is:maybe", "has:cats", "x" * 1001,
                                 "before:soon", "after:2025-13-45", "larger:huge", "smaller:-1"])
def test_bad_queries_raise_query_error(bad):
    with pytest.raises(QueryError):
        parse_query(bad)


def test_unknown_time_zone_is_a_query_error():
    with pytest.raises(QueryError):
        time_zone("Mars/Olympus")
    assert time_zone("") is None


def test_sql_is_parameterised_and_escapes_glob_wildcards():
    where, params = terms_sql(parse_query("""subject:100%_off* "'; DROP TABLE messages; --" -is:read"""))
    assert "DROP" not in where and "100" not in where
    assert "search MATCH ?" in where and "subject GLOB ?" in where and "NOT (m.read = 1)" in where
    assert params[:2] == ['{subject} : "100%_off*"', "*100%_off[*]*"]
    assert params[2:4] == ['{text} : "\'; drop table messages; --"', "*'; drop table messages; --*"]
    assert glob_pattern("a[b?c*") == "*a[[]b[?]c[*]*"
    assert terms_sql(parse_query('"say ""hi"""'))[1][0] == '{text} : "say hi"'  # quotes only group
    assert terms_sql(parse_query("ab"))[0].count("GLOB") == 2  # too short for trigrams: GLOB over both


def test_no_terms_match_everything():
    assert terms_sql([]) == ("1 = 1", [])
