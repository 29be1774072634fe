"""Progress steps of `make up` and `make down`: `  label … ok (1.2 s)` (make bench reads these lines)."""

from __future__ import annotations

import time
from collections.abc import Callable


def step(label: str) -> Callable[[], None]:
    """Print `  label …` now and ` ok (1.2 s)` when the returned function is called."""
    started = time.monotonic()
    print(f"  {label} …", end="", flush=True)

    def done() -> None:
        print(f" ok ({time.monotonic() - started:.1f} s)", flush=True)

    return done
