"""Writing data to the terminal safely: every CLI printer goes through ``printable``.

Execution names, request titles, inputs and errors are written by strangers (anyone who can send a request); a
title holding ``ESC ]`` or ``ESC [`` sequences would retitle, recolour or rewrite the user's terminal if printed
raw. Control characters (C0, DEL, C1) and the Unicode bidirectional controls (which reorder what is shown) are
printed as visible escapes instead, so the data is still there to read but does nothing. ``--json`` output is
``json.dumps`` with ASCII escapes, which is safe the same way.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from typing import Any

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BREAKS = re.compile("[\t\n]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: Any, *, one_line: bool = False) -> str:
    """``value`` as text that cannot control the terminal; ``one_line`` also turns tabs and newlines (which
    would break a table) into escapes."""
    text = _UNSAFE.sub(_escape, "" if value is None else str(value))
    return _BREAKS.sub(_escape, text) if one_line else text


def say(message: Any = "") -> None:
    print(printable(message), flush=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[printable(c, one_line=True) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    if not rows:
        print("(none)")


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)  # ensure_ascii (the default) escapes every control char
    print()
