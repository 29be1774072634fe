"""What a restart of LocalStack cost, in words: read from the plugin's restart journal (`GET /_sandbox/journal`).

A dead LocalStack cannot say what it was running, so the plugin records running and waiting executions as they
change, and a new LocalStack keeps the last instances' lists as restart records. `make up` tells each loss once
(after a crash, a rebuild or a settings change that recreated LocalStack); `make down` tells what it is about to
drop and marks that loss as told; `make status` shows the latest one. Which instances were told is remembered in
the sandbox home.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

from sandbox.config import Settings

JOURNAL_PATH = "/_sandbox/journal"
_TOLD_FILE = "restarts-told"
_KEEP_TOLD = 50


def journal(settings: Settings) -> dict | None:
    """This LocalStack's journal answer, or None (not running, or started without the sandbox's plugins)."""
    try:
        with urllib.request.urlopen(settings.localstack_url + JOURNAL_PATH, timeout=3) as response:  # noqa: S310
            answer = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return answer if isinstance(answer, dict) else None


def executions_phrase(running: int, waiting: int) -> str:
    """'3 executions, 2 of them waiting for approval' (what the counts mean to the person approving)."""
    noun = "execution" if running == 1 else "executions"
    if not waiting:
        return f"{running} {noun}"
    if waiting == running:
        return f"{running} {noun}, all waiting for approval" if running > 1 else f"1 {noun}, waiting for approval"
    return f"{running} {noun}, {waiting} of them waiting for approval"


def loss_sentence(record: dict, advice: bool = True) -> str:
    """One restart record as a sentence for the user (with what to do about it unless `advice` is False)."""
    when = _clock(record.get("restarted") or record.get("last_seen"))
    how = "was stopped and started again" if record.get("clean") else "stopped unexpectedly (a crash or a kill)"
    lost = executions_phrase(int(record.get("running", 0)), int(record.get("waiting", 0)))
    sentence = f"LocalStack {how} before {when}; lost with it: {lost}."
    if advice:
        sentence += (" The Approve/Reject links in their emails no longer reach an execution; send those "
                     "requests again (`make trigger`).")
    return sentence


def _clock(iso: object) -> str:
    text = str(iso or "")
    return f"{text[11:19]} UTC" if len(text) >= 19 else "this start"


def _told_path(settings: Settings) -> Path:
    return settings.home / _TOLD_FILE


def _told(settings: Settings) -> list[str]:
    try:
        return _told_path(settings).read_text().split()
    except OSError:
        return []


def mark_told(settings: Settings, instances: list[str]) -> None:
    told = [i for i in _told(settings) if i not in instances] + instances
    path = _told_path(settings)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(told[-_KEEP_TOLD:]) + "\n")


def untold_losses(settings: Settings, answer: dict | None) -> list[dict]:
    """Restart records that lost something and that the user has not been told about yet."""
    if not answer:
        return []
    told = set(_told(settings))
    return [record for record in answer.get("restarts", [])
            if isinstance(record, dict) and record.get("running") and record.get("instance") not in told]


def tell_losses(settings: Settings, say) -> None:  # noqa: ANN001 - say is output.say
    """After `make up`: say what each untold restart lost, then remember it was told."""
    records = untold_losses(settings, journal(settings))
    for record in records:
        say(loss_sentence(record))
    if records:
        mark_told(settings, [str(record.get("instance")) for record in records])


def tell_what_stopping_drops(settings: Settings, say) -> None:  # noqa: ANN001
    """Before `make down` stops LocalStack: how many executions it drops; the next `make up` then stays quiet."""
    answer = journal(settings)
    if not answer or not answer.get("instance"):
        return
    if answer.get("running"):
        say(f"Stopping LocalStack drops {executions_phrase(int(answer['running']), int(answer.get('waiting', 0)))}.")
    mark_told(settings, [str(answer["instance"])])
