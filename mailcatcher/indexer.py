"""Moves the store's pending search rows into the trigram index when mail stops arriving.

Indexing a message costs a few hundred microseconds of SQLite work; done per message it would halve the SMTP
ingest rate. So it waits for a quiet moment (``QUIET_SECONDS`` without a new message) and then works in small
batches; under a steady stream it starts anyway once ``BACKLOG`` rows wait, which bounds what a search scans
outside the index.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Protocol

log = logging.getLogger("mailcatcher.indexer")

QUIET_SECONDS = 0.5
BACKLOG = 5000


class Indexable(Protocol):
    pending: int

    def index_pending(self, batch: int = ...) -> int: ...


class Indexer:
    def __init__(self, store: Indexable, quiet: float = QUIET_SECONDS, backlog: int = BACKLOG) -> None:
        self.store = store
        self.quiet = quiet
        self.backlog = backlog
        self._last_add = 0.0
        self._wake = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="mailcatcher-indexer", daemon=True)
        self._thread.start()

    def added(self) -> None:
        self._last_add = time.monotonic()
        self._wake.set()

    def close(self) -> None:
        self._stopped = True
        self._wake.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait()
            self._wake.clear()
            while not self._stopped and self.store.pending > 0:
                waited = time.monotonic() - self._last_add
                if self.store.pending < self.backlog and waited < self.quiet:
                    time.sleep(self.quiet - waited)
                    continue
                try:
                    self.store.index_pending()
                except sqlite3.Error:
                    if not self._stopped:
                        log.exception("could not update the search index; searches still find every message")
                    return
