"""One way to replace a LocalStack method or function in place, idempotently: installing twice wraps once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

_MARK = "__sandbox_wrapped__"


def wrap_once(owner: Any, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> bool:
    """Replace `owner.name` by `make(original)` unless it was replaced already. Returns whether it replaced it."""
    original = getattr(owner, name)
    if getattr(original, _MARK, False):
        return False
    replacement = functools.wraps(original)(make(original))
    setattr(replacement, _MARK, True)
    setattr(owner, name, replacement)
    return True


def is_wrapped(function: Any) -> bool:
    return bool(getattr(function, _MARK, False))
