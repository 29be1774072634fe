"""Restart journal: what a LocalStack restart loses, recorded while LocalStack still knows it.

Community LocalStack keeps Step Functions executions in memory, so after a crash nobody can ask it what was
running. This module keeps a small JSON file, `executions.json` under `SANDBOX_JOURNAL_DIR`, with the running
executions and which of them wait for a callback (a task token: for the sandbox, an approval), rewritten within
half a second of a change. When LocalStack starts again, the previous instance's file becomes a restart record
(the last ten are kept in `restarts.json`). `GET /_sandbox/journal` answers both: this instance's running and
waiting executions, and the restart records, which `make up` and `make status` turn into one sentence.

A clean shutdown marks the file `stopped_cleanly`, so a record can tell a crash from a stop.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)

ROUTE = "/_sandbox/journal"
POLL_SECONDS = 0.5
KEEP_RESTARTS = 10
# Names listed per journal; the counts are always exact.
KEEP_NAMES = 200


# --- pure core ---------------------------------------------------------------------------------------------------


def summarise(executions: Iterable[tuple[str, str, bool]]) -> dict[str, Any]:
    """{running, waiting, executions: [{name, arn, waiting}]} from (name, arn, waiting) of running executions."""
    rows = sorted(executions, key=lambda row: (not row[2], row[0]))
    return {
        "running": len(rows),
        "waiting": sum(1 for _, _, waiting in rows if waiting),
        "executions": [{"name": name, "arn": arn, "waiting": waiting} for name, arn, waiting in rows[:KEEP_NAMES]],
    }


def restart_record(previous: dict[str, Any], started: str) -> dict[str, Any]:
    """What the previous instance's journal says this start lost."""
    return {
        "instance": previous.get("instance"),
        "last_seen": previous.get("updated"),
        "clean": bool(previous.get("stopped_cleanly")),
        "restarted": started,
        "running": int(previous.get("running", 0)),
        "waiting": int(previous.get("waiting", 0)),
        "executions": list(previous.get("executions", []))[:KEEP_NAMES],
    }


def with_record(history: list[dict[str, Any]], record: dict[str, Any]) -> list[dict[str, Any]]:
    return [*history, record][-KEEP_RESTARTS:]


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# --- LocalStack adapter ------------------------------------------------------------------------------------------


def waits_for_callback(execution: Any) -> bool:
    """Whether a running execution is paused on a task token (waitForTaskToken or an activity)."""
    worker = getattr(execution, "exec_worker", None)
    env = getattr(worker, "env", None)
    pool = getattr(getattr(env, "callback_pool_manager", None), "_pool", None) or {}
    return any(endpoint.get_outcome() is None and endpoint.consumer_error is None for endpoint in list(pool.values()))


def running_executions() -> list[tuple[str, str, bool]]:
    from localstack.services.stepfunctions.backend.store import sfn_stores

    rows = []
    for _, _, store in sfn_stores.iter_stores():
        for execution in list(store.executions.values()):
            if execution.exec_status == "RUNNING":
                rows.append((execution.name, execution.exec_arn, waits_for_callback(execution)))
    return rows


def _write_private(path: Path, document: Any) -> None:
    """Atomic replace, readable by the owner only; handed to the directory's owner when LocalStack runs as root
    in a container whose folder is a host user's."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(document, handle)
    folder = path.parent.stat()
    if os.geteuid() == 0 and folder.st_uid != 0:
        os.chown(tmp, folder.st_uid, folder.st_gid)
    os.replace(tmp, path)


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


class Journal:
    def __init__(self, folder: Path):
        self.path = folder / "executions.json"
        self.restarts_path = folder / "restarts.json"
        self.instance = uuid.uuid4().hex
        self.started = now_iso()
        self._last: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def open(self) -> None:
        """Turn the previous instance's journal into a restart record and start this instance's."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        previous = _read(self.path)
        if isinstance(previous, dict) and previous.get("instance") != self.instance:
            history = _read(self.restarts_path)
            history = history if isinstance(history, list) else []
            _write_private(self.restarts_path, with_record(history, restart_record(previous, self.started)))
        self.flush()

    def document(self, summary: dict[str, Any], stopped_cleanly: bool = False) -> dict[str, Any]:
        return {"instance": self.instance, "started": self.started, "updated": now_iso(),
                "stopped_cleanly": stopped_cleanly, **summary}

    def flush(self, stopped_cleanly: bool = False) -> None:
        with self._lock:
            summary = summarise(running_executions())
            if summary == self._last and not stopped_cleanly:
                return
            _write_private(self.path, self.document(summary, stopped_cleanly))
            self._last = summary

    def run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - the journal must never take LocalStack down
                LOG.warning("restart journal: could not write %s", self.path, exc_info=True)

    def close(self) -> None:
        self._stop.set()
        self.flush(stopped_cleanly=True)

    def answer(self, _request: Any = None) -> dict[str, Any]:
        history = _read(self.restarts_path)
        return {**self.document(summarise(running_executions())),
                "restarts": history if isinstance(history, list) else []}


_journal: Journal | None = None


def install() -> None:
    """Called once by the on_infra_start hook; off unless SANDBOX_JOURNAL_DIR names a folder."""
    global _journal
    target = os.environ.get("SANDBOX_JOURNAL_DIR", "").strip()
    if not target or _journal is not None:
        return
    from localstack.services.edge import ROUTER

    journal = Journal(Path(target))
    try:
        journal.open()
    except OSError as error:
        LOG.error("Restart journal disabled: %s", error)
        return
    _journal = journal
    threading.Thread(target=journal.run, name="sandbox-journal", daemon=True).start()
    ROUTER.add(ROUTE, journal.answer, methods=["GET"])  # type: ignore[arg-type]  # a dict is answered as JSON
    LOG.info("Recording running executions in %s (GET %s)", journal.path, ROUTE)


def shutdown() -> None:
    """Called by the on_infra_shutdown hook: what is still running now is lost by a clean stop."""
    if _journal is not None:
        _journal.close()
