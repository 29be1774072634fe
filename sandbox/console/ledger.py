"""What the console knows that execution history does not record, shared by the page and the CLI through a file
in the sandbox home (``console.json``, mode 0600):

- tokens of activity tasks the console took as a worker (GetActivityTask returns the token only to the worker;
  ActivityStarted in history names the worker, so a unique worker name ties the token to its execution);
- when the console last sent a heartbeat for a token (history records no heartbeats; the heartbeat deadline
  shown is counted from the last one known here).

Small and bounded: entries older than a day go, and at most ``LIMIT`` of each are kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lambdas.approval import token_hash

LIMIT = 500
KEEP = timedelta(days=1)


class Ledger:
    def __init__(self, home: Path) -> None:
        self.path = home / "console.json"

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {"activities": {}, "heartbeats": {}}
        return data if isinstance(data, dict) else {"activities": {}, "heartbeats": {}}

    @contextlib.contextmanager
    def _changing(self) -> Iterator[dict[str, Any]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(self.path.with_suffix(".lock"), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self._read()
            yield data
            cutoff = (datetime.now(UTC) - KEEP).isoformat()
            for section in ("activities", "heartbeats"):
                entries = {k: v for k, v in (data.get(section) or {}).items() if str(v.get("at", "")) >= cutoff}
                newest = sorted(entries.items(), key=lambda item: str(item[1].get("at", "")))[-LIMIT:]
                data[section] = dict(newest)
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
