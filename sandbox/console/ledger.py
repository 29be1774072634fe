"""What the console knows that execution history does not record, shared by the page and the CLI through a file
in the sandbox home (``console.json``, mode 0600):

- tokens of activity tasks the console took as a worker (GetActivityTask returns the token only to the worker;
  ActivityStarted in history names the worker, so a unique worker name ties the token to its execution);
- when the console last sent a heartbeat for a token (history records no heartbeats; the heartbeat deadline
  shown is counted from the last one known here).

Small and bounded: entries older than a day go, and at most ``LIMIT`` of each are kept. Where the file cannot be
written (docker mode mounts the sandbox home read-only into the web UI), the ledger lives in memory.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lambdas.approval import token_hash

LIMIT = 500
KEEP = timedelta(days=1)
log = logging.getLogger("sandbox.console")


class Ledger:
    def __init__(self, home: Path) -> None:
        self.path = home / "console.json"
        self._memory: dict[str, Any] | None = None  # used instead of the file where it cannot be written

    def _read(self) -> dict[str, Any]:
        if self._memory is not None:
            return self._memory
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {"activities": {}, "heartbeats": {}}
        return data if isinstance(data, dict) else {"activities": {}, "heartbeats": {}}

    @staticmethod
    def _prune(data: dict[str, Any]) -> None:
        cutoff = (datetime.now(UTC) - KEEP).isoformat()
        for section in ("activities", "heartbeats"):
            entries = {k: v for k, v in (data.get(section) or {}).items() if str(v.get("at", "")) >= cutoff}
            data[section] = dict(sorted(entries.items(), key=lambda item: str(item[1].get("at", "")))[-LIMIT:])

    @contextlib.contextmanager
    def _changing(self) -> Iterator[dict[str, Any]]:
        lock = None
        if self._memory is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                lock = os.open(self.path.with_suffix(".lock"), os.O_CREAT | os.O_RDWR, 0o600)
            except OSError as error:  # e.g. the sandbox home mounted read-only into the web UI's container
                log.warning("cannot write %s (%s); the console keeps what it learns in memory", self.path, error)
                self._memory = self._read()
        if lock is None:
            assert self._memory is not None
            yield self._memory
            self._prune(self._memory)
            return
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self._read()
            yield data
            self._prune(data)
            temporary = self.path.with_suffix(".tmp")
            descriptor = os.open(temporary, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                json.dump(data, handle)
            os.replace(temporary, self.path)
        finally:
            os.close(lock)

    def took_activity(self, worker: str, token: str, activity_arn: str) -> None:
        with self._changing() as data:
            data.setdefault("activities", {})[worker] = {
                "token": token, "activity": activity_arn, "at": datetime.now(UTC).isoformat()}

    def activity_token(self, worker: str) -> str | None:
        entry = (self._read().get("activities") or {}).get(worker)
        return entry.get("token") if isinstance(entry, dict) else None

    def heartbeat_sent(self, token: str, when: datetime) -> None:
        with self._changing() as data:
            data.setdefault("heartbeats", {})[token_hash(token)] = {"at": when.astimezone(UTC).isoformat()}

    def last_heartbeat(self, token: str) -> datetime | None:
        entry = (self._read().get("heartbeats") or {}).get(token_hash(token))
        try:
            return datetime.fromisoformat(entry["at"]) if isinstance(entry, dict) else None
        except (KeyError, ValueError):
            return None
