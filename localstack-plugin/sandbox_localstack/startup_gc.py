"""Python's cycle collector runs over and over while LocalStack starts, each time over a heap that keeps growing.

LocalStack's start imports ~1,200 modules of its own plus moto, botocore and werkzeug, and its first calls parse
large JSON documents (service models, IAM's 1,443 managed policies): millions of new objects, so the collector's
young generation fills every 2,000 allocations and older generations are walked again and again over everything
loaded so far. Measured on the same JSON parse after LocalStack's imports: 30–50 % of its time was collection.
Objects made while starting (modules, classes, service models) live as long as the process and hold few cycles.

`pause_collection` (as LocalStack's runtime is created) turns automatic collection off; `resume_collection`
(when LocalStack is ready) moves every object made so far into the permanent generation (`gc.freeze`), so that
later collections no longer walk the start's objects, and turns collection back on. It does not collect first: a
full collection over the start's heap took 0.35 s of CPU, just when the deploy's first calls arrive. The cost:
reference cycles that became garbage while starting are never freed (measured below in docs/benchmark.md).
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_paused = False
# Collection stays off this long after LocalStack is ready: `make up` deploys right then (~3 s of first calls that
# load service models and set up moto backends, more allocation than anything after).
GRACE_SECONDS = 10.0


def pause_collection() -> bool:
    """Turn automatic collection off until `resume_collection`; False if it was off already (left to its owner)."""
    global _paused
    with _lock:
        if _paused or not gc.isenabled():
            return False
        gc.disable()
        _paused = True
        return True


def resume_collection(after: float = 0.0) -> bool:
    """Freeze what the start made now and turn collection back on `after` seconds later (at once for 0); False if
    `pause_collection` did not pause."""
    global _paused
    with _lock:
        if not _paused:
            return False
        gc.freeze()
        _paused = False
    if after > 0:
        timer = threading.Timer(after, gc.enable)
        timer.daemon = True
        timer.start()
    else:
        gc.enable()
    return True
