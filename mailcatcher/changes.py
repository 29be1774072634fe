"""What the store announces after each committed change (SSE streams, waiters and the live UI listen)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    """"new" (data: summary), "delete" (data: {"IDs": [...]}), "truncate", "read" or "tags"."""

    type: str
    data: Any = None


Listener = Callable[[Event], None]
