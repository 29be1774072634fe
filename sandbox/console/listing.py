"""The lists the console shows, as plain data for the page's JSON and the CLI's tables: executions of every
machine (filtered by machine, status, and a search over names and inputs) and every waiting task.

Cost: one ListExecutions per machine per call; descriptions only for the rows shown (and, when searching, the
inputs of the newest SEARCH_INPUTS executions not seen before), each kept per execution and status, so a page
polling a large list reads little and no request reads without bound.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from lambdas.waiting_tasks import WaitingTask
from sandbox import workflow
from sandbox.console import STATUSES

from .ledger import Ledger
from .reader import UNREADABLE, Machine, Reader, Unavailable, iso

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
PREVIEW = 120  # characters of an execution's input shown in a list
SEARCH_INPUTS = 1000  # a search reads the inputs of this many newest executions (names: all)
DESCRIBE_THREADS = 4


def preview(text: str | None, limit: int = PREVIEW) -> str:
    """An execution's input on one line, shortened."""
    try:
        compact = json.dumps(json.loads(text or ""), separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        compact = " ".join((text or "").split())
    return compact if len(compact) <= limit else compact[: limit - 1] + "…"


def execution_fields(machine: Machine, described: dict) -> dict[str, Any]:
    """What the list and the execution view both show of a DescribeExecution answer."""
    fields: dict[str, Any] = {
        "status": described["status"],
        "started": iso(described["startDate"]),
        "stopped": iso(described.get("stopDate")),
        "error": described.get("error"),
        "input": preview(described.get("input")),
        "title": None,
        "decision": None,
    }
    if machine.demo:  # the demo's input is an approval request, and its end a decision
        fields["title"] = str(workflow.request_of(described.get("input")).get("title", "")) or None
        fields["decision"] = workflow.decision_of(described)
    return fields


def _row(reader: Reader, machine: Machine, summary: dict) -> dict[str, Any]:
    row: dict[str, Any] = {"machine": machine.name, "demo": machine.demo, "name": summary["name"],
                           "arn": summary["executionArn"]}
    described = reader.describe(summary["executionArn"], summary["status"])
    if described is None:
        return {**row, "status": summary["status"], "started": iso(summary.get("startDate")),
                "stopped": iso(summary.get("stopDate")), "unreadable": UNREADABLE}
    return {**row, **execution_fields(machine, described)}


def _describe_all(reader: Reader, summaries: list[dict]) -> None:
    """Describe what is not known yet a few at a time (each is a round trip LocalStack serves in parallel)."""
    missing = [s for s in summaries if not reader.described(s["executionArn"], s["status"])]
    if missing:
        with ThreadPoolExecutor(max_workers=DESCRIBE_THREADS) as pool:
            list(pool.map(lambda s: reader.describe(s["executionArn"], s["status"]), missing))


def _matches(reader: Reader, summary: dict, query: str) -> bool:
    if query in summary["name"].lower():
        return True
    described = reader.describe(summary["executionArn"], summary["status"])
    return described is not None and query in (described.get("input") or "").lower()


def executions(reader: Reader, machine: str | None = None, status: str | None = None, query: str = "",
               limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """Newest first across the machines (or one), with every machine's counts by status."""
    if status and status not in STATUSES:
        raise Unavailable(400, "bad_status", f"status must be one of {', '.join(STATUSES)}")
    limit = max(1, min(limit, MAX_LIMIT))
    machines = reader.machines()
    if machine and machine not in {m.name for m in machines}:
        raise Unavailable(404, "machine_not_found", f"There is no state machine named {machine!r}.")
    listed: list[tuple[Machine, dict]] = []
    summary_of_machines = []
    for each in machines:
        entry: dict[str, Any] = {"name": each.name, "arn": each.arn, "type": each.type, "demo": each.demo}
        try:
            found = reader.summaries(each)
        except Unavailable as problem:
            if problem.code == "localstack_unavailable":
                raise
            found, entry["problem"] = [], problem.message
        entry["counts"] = {s: sum(1 for e in found if e["status"] == s) for s in STATUSES}
        if each.type != "STANDARD":
            entry["problem"] = "Step Functions lists no executions of EXPRESS machines."
        summary_of_machines.append(entry)
        listed.extend((each, summary) for summary in found)
    reader.forget({summary["executionArn"] for _, summary in listed})
    listed.sort(key=lambda pair: pair[1]["startDate"], reverse=True)
    wanted = [(m, s) for m, s in listed if (not status or s["status"] == status) and (not machine or m.name == machine)]
    needle = query.strip().lower()
    searched = None
    if needle:  # names of all, inputs of the newest SEARCH_INPUTS (each input is read once, then kept)
        searched = wanted[:SEARCH_INPUTS]
        _describe_all(reader, [s for _, s in searched])
        wanted = [(m, s) for m, s in searched if _matches(reader, s, needle)] + \
                 [(m, s) for m, s in wanted[SEARCH_INPUTS:] if needle in s["name"].lower()]
    _describe_all(reader, [s for _, s in wanted[:limit]])
    return {
        "machines": summary_of_machines,
        "executions": [_row(reader, m, s) for m, s in wanted[:limit]],
        "total": len(wanted),
        "limit": limit,
        **({"searchedInputs": len(searched)} if searched is not None else {}),
    }


# --- waiting tasks ------------------------------------------------------------------------------------------------


def _deadline(value: datetime | None) -> str | None:
    return iso(value.astimezone(UTC)) if value else None


def task_fields(task: WaitingTask, ledger: Ledger | None) -> dict[str, Any]:
    token = task.token or (ledger.activity_token(task.worker) if ledger and task.worker else None)
    last_heartbeat = ledger.last_heartbeat(token) if ledger and token else None
    return {
        "id": task.id,
        "state": task.state,
        "kind": task.kind,
        "resource": task.resource,
        "token": token,
        "tokenPath": task.token_path,
        "scheduled": iso(task.scheduled),
        "started": iso(task.started),
        "worker": task.worker,
        "timeoutSeconds": task.timeout_seconds,
        "timeoutAt": _deadline(task.timeout_at),
        "heartbeatSeconds": task.heartbeat_seconds,
        "lastHeartbeat": iso(last_heartbeat),
        "heartbeatDue": _deadline(task.heartbeat_due(last_heartbeat)),
        "parameters": task.parameters,
        "notes": task.notes + ([] if token or task.kind != "activity" else
                               ["no worker has taken this activity task yet: take it to answer it"]),
    }


def tasks(reader: Reader, machine: str | None = None, ledger: Ledger | None = None) -> dict[str, Any]:
    """Every task waiting on a token, in every running execution of every machine (or one)."""
    machines = [reader.machine(machine)] if machine else reader.machines()
    rows: list[dict[str, Any]] = []
    unreadable: list[dict[str, str]] = []
    for each in machines:
        for summary in reader.summaries(each, status="RUNNING"):
            base = {"machine": each.name, "demo": each.demo, "execution": summary["name"],
                    "executionArn": summary["executionArn"], "executionStarted": iso(summary["startDate"])}
            try:
                found = reader.waiting(summary["executionArn"])
            except Unavailable as problem:
                if problem.code == "localstack_unavailable":
                    raise
                unreadable.append({**base, "problem": problem.message})
                continue
            rows.extend({**base, **task_fields(task, ledger)} for task in found)
    rows.sort(key=lambda r: r["scheduled"] or "", reverse=True)
    return {"tasks": rows, "unreadable": unreadable}
