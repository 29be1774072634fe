"""One way to replace a LocalStack method, function or module attribute in place, idempotently: installing twice
replaces once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

_MARK = "__sandbox_wrapped__"


def replace_once(owner: Any, name: str, make: Callable[[Any], Any]) -> bool:
    """Replace `owner.name` by `make(original)` unless it was replaced already. Returns whether it replaced it.
    For an attribute that is not a function (a module, a client factory): the replacement is taken as it is."""
    original = getattr(owner, name)
    if is_wrapped(original):
        return False
    replacement = make(original)
    setattr(replacement, _MARK, True)
    setattr(owner, name, replacement)
    return True


def wrap_once(owner: Any, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> bool:
    """`replace_once` for a method or function: the replacement keeps the original's name and docstring."""
    return replace_once(owner, name, lambda original: functools.wraps(original)(make(original)))


def is_wrapped(function: Any) -> bool:
    return bool(getattr(function, _MARK, False))
