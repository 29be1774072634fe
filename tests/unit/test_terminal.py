"""Issue 11 item 9: data printed by the CLI never controls the terminal. Every printer (tables, messages, JSON)
goes through sandbox.terminal; escape sequences in a request title come out as visible escapes."""

from __future__ import annotations

import json

from sandbox.terminal import print_json, printable, say, table

HOSTILE = "Deploy \x1b]0;pwned\x07\x1b[2J\x1b[31mred\x9b1m \u202eevil\u202c done"


def test_control_and_bidi_characters_become_visible_escapes():
    shown = printable(HOSTILE)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in shown)
    assert "\u202e" not in shown and "\u202c" not in shown
    assert shown == "Deploy \\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mred\\x9b1m \\u202eevil\\u202c done"
    assert printable("line 1\nline 2\ttab") == "line 1\nline 2\ttab"
    assert printable("line 1\nline 2\ttab", one_line=True) == "line 1\\x0aline 2\\x09tab"
    assert printable("Überprüfung 承認 ✓") == "Überprüfung 承認 ✓"  # ordinary text is left alone
    assert printable(None) == ""


def test_every_printer_escapes(capsys):
    table(("name", "title"), [("run-1", HOSTILE), ("run-2", "two\nlines")])
    say(HOSTILE)
    print_json({"title": HOSTILE})
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out and "\u202e" not in out
    rows = out.splitlines()
    assert rows[3] == "run-2  two\\x0alines"  # a newline in data does not break the table
    assert json.loads(out[out.index("{"):])["title"] == HOSTILE  # JSON keeps the data exact, escaped
