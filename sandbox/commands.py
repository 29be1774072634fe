"""The CLI's workflow commands: `trigger`, `executions`, `history`, `tasks` and `answer`.

They read every state machine in the sandbox (not only the demo) through ``sandbox.console``, the same code the
Workflows page uses, print through ``sandbox.terminal`` (data never reaches the terminal raw), and take ``--json``
for scripts.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from sandbox.config import Settings
from sandbox.console import STATUSES
from sandbox.services import url_ready
from sandbox.terminal import print_json, say, table

Add = Callable[[str, Callable[[argparse.Namespace, Settings], int], str], argparse.ArgumentParser]


class CommandError(Exception):
    """A problem the user can fix; printed as one line."""


def _text_or_file(raw: str, what: str) -> str:
    if not raw.startswith("@"):
        return raw
    try:
        return Path(raw[1:]).read_text()
    except OSError as error:
        raise CommandError(f"cannot read {what} file {raw[1:]}: {error.strerror}") from None


def _load_payload(raw: str | None) -> dict:
    if not raw:
        return {"title": "Sandbox approval request"}
    try:
        payload = json.loads(_text_or_file(raw, "payload"))
    except json.JSONDecodeError as error:
        raise CommandError(f"payload is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") \
            from None
    if not isinstance(payload, dict):
        raise CommandError("payload must be a JSON object, e.g. '{\"title\": \"Deploy v2\"}'")
    return payload


def cmd_trigger(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox import workflow

    payload = _load_payload(args.payload)
    if not url_ready(f"{settings.localstack_url}/_localstack/health"):
        raise CommandError(f"LocalStack does not answer at {settings.localstack_url}; run `make up` first")
    say(workflow.trigger(settings, payload))
    return 0


def _duration(row: dict) -> str:
    from datetime import datetime

    if not row.get("started"):
        return ""
    start = datetime.fromisoformat(row["started"])
    seconds = ((datetime.fromisoformat(row["stopped"]) if row.get("stopped") else datetime.now(start.tzinfo))
               - start).total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes} min {seconds} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def cmd_executions(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.console import listing
    from sandbox.console.reader import Reader

    data = listing.executions(Reader(settings), args.machine, args.status, args.search or "", args.limit)
    if args.json:
        print_json(data)
        return 0
    rows = data["executions"]
    table(("machine", "name", "status", "decision", "request or input", "started", "duration"), [
        (r["machine"], r["name"], r["status"], r.get("decision") or "-",
         "(unreadable: LocalStack cannot describe this name)" if r.get("unreadable") else
         r.get("title") or r.get("input") or "", (r.get("started") or "")[:19], _duration(r))
        for r in rows])
    if data["total"] > len(rows):
        say(f"(the newest {len(rows)} of {data['total']}; --limit shows more)")
    return 0


def cmd_history(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox import workflow
    from sandbox.console.reader import Reader

    if not args.name.strip():
        raise CommandError("an execution name is needed: `make history NAME=<name>` (see `make executions`)")
    _, arn = Reader(settings).find(args.name, args.machine)
    steps = workflow.execution_history(settings, arn)
    if args.json:
        print_json([{k: v for k, v in s.items() if k != "event"} for s in steps])
        return 0
    table(("time", "event", "state", "detail"),
          [(s.get("time", ""), s.get("type", ""), s.get("state") or "", s.get("detail") or "") for s in steps])
    return 0


def _short(value: str | None, limit: int = 24) -> str:
    value = value or "-"
    return value if len(value) <= limit else value[: limit - 1] + "…"


def cmd_tasks(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.console import listing
    from sandbox.console.ledger import Ledger
    from sandbox.console.reader import Reader

    data = listing.tasks(Reader(settings), args.machine, Ledger(settings.home))
    if args.json:
        print_json(data)
        return 0
    table(("machine", "execution", "state", "waits on", "token", "heartbeat due", "times out"), [
        (t["machine"], t["execution"], t["state"], t["resource"] if t["kind"] == "callback" else
         f"activity {t['resource'].rsplit(':', 1)[-1]}", _short(t["token"]), (t["heartbeatDue"] or "-")[:19],
         (t["timeoutAt"] or "-")[:19]) for t in data["tasks"]])
    for unreadable in data["unreadable"]:
        say(f"unreadable: {unreadable['machine']} {unreadable['execution']}: {unreadable['problem']}")
    if data["tasks"]:
        say("Answer one with `sandbox answer EXECUTION --success JSON | --failure ERROR | --heartbeat`.")
    return 0


def cmd_answer(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.console import answer
    from sandbox.console.ledger import Ledger
    from sandbox.console.reader import Reader

    reader, ledger = Reader(settings), Ledger(settings.home)
    machine, arn = reader.find(args.execution, args.machine)
    if args.take:
        done = answer.take_activity(reader, ledger, arn, args.task)
    else:
        action = "success" if args.success is not None else "failure" if args.failure is not None else "heartbeat"
        output = _text_or_file(args.success, "output") if args.success is not None else None
        done = answer.answer(reader, ledger, machine, arn, action, task_id=args.task, output=output,
                             error=args.failure, cause=args.cause)
    if args.json:
        print_json(done)
    else:
        say(done["message"])
    return 0


def register(add: Add) -> None:
    p = add("trigger", cmd_trigger, "send a manual approval request to the demo; prints the execution name")
    p.add_argument("payload", nargs="?", help="request as JSON, or @file.json (default: a sample title)")

    p = add("executions", cmd_executions, "list recent executions of every state machine (newest first)")
    p.add_argument("--machine", help="only this state machine (name)")
    p.add_argument("--status", choices=STATUSES, help="only executions with this status")
    p.add_argument("--search", help="only executions whose name or input contains this text")
    p.add_argument("--limit", type=int, default=20, help="how many (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = add("history", cmd_history, "show the state transitions of one execution")
    p.add_argument("name", help="execution name (as printed by `trigger` or `executions`) or ARN")
    p.add_argument("--machine", help="the state machine, when several have an execution of that name")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = add("tasks", cmd_tasks, "list every task waiting on a task token or an activity worker, all machines")
    p.add_argument("--machine", help="only this state machine (name)")
    p.add_argument("--json", action="store_true", help="print JSON (with the full tokens)")

    p = add("answer", cmd_answer, "answer the task an execution waits on: success, failure or heartbeat "
                                  "(the demo's decisions go through its decision API)")
    p.add_argument("execution", help="execution name or ARN")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--success", nargs="?", const="{}", metavar="JSON",
                      help="send success with this output (JSON, or @file.json; default {})")
    what.add_argument("--failure", metavar="ERROR", help="send failure with this error name")
    what.add_argument("--heartbeat", action="store_true", help="send a heartbeat")
    what.add_argument("--take", action="store_true", help="take an activity task as a worker (GetActivityTask)")
    p.add_argument("--cause", help="the failure's cause")
    p.add_argument("--task", type=int, help="which task (its id in `sandbox tasks --json`) when several wait")
    p.add_argument("--machine", help="the state machine, when several have an execution of that name")
    p.add_argument("--json", action="store_true", help="print JSON")


def user_errors() -> tuple[type[Exception], ...]:
    from sandbox.console.reader import Unavailable

    return (CommandError, Unavailable)
