"""The search query parser and the SQL it produces (values always as parameters)."""

from __future__ import annotations

import pytest

from mailcatcher.store import QueryError, Term, parse_query, terms_sql


def test_fields_free_text_and_phrases():
    assert parse_query('to:Alice from:bob@x.test subject:"Leave request" urgent "next week"') == [
        Term("to", "alice"),
        Term("from", "bob@x.test"),
        Term("subject", "leave request"),
        Term("text", "urgent"),
        Term("text", "next week"),
    ]


def test_negation_cc_is_has_and_unknown_prefixes():
    assert parse_query("-from:spam cc:team is:unread has:attachment http://x.test/a 10:30") == [
        Term("from", "spam", negate=True),
        Term("to", "team"),
        Term("is", "unread"),
        Term("has", "attachment"),
        Term("text", "http://x.test/a"),
        Term("text", "10:30"),
    ]


def test_empty_and_whitespace_queries_have_no_terms():
    assert parse_query("") == []
    assert parse_query('   ""  ') == []


@pytest.mark.parametrize("bad", ['"unbalanced', "to:", 'subject:""', "is:maybe", "has:cats", "x" * 1001])
def test_bad_queries_raise_query_error(bad):
    with pytest.raises(QueryError):
        parse_query(bad)


def test_sql_is_parameterised_and_escapes_like_wildcards():
    where, params = terms_sql(parse_query("""subject:100%_off "'; DROP TABLE messages; --" -is:read"""))
    assert "DROP" not in where and "100" not in where
    assert where == (
        "search_subject LIKE ? ESCAPE '\\' AND search_text LIKE ? ESCAPE '\\' AND NOT (read = ?)"
    )
    assert params == ["%100\\%\\_off%", "%'; drop table messages; --%", 1]


def test_no_terms_match_everything():
    assert terms_sql([]) == ("1 = 1", [])
