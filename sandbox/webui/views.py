"""What the Workflows pages show, as JSON-ready dicts: the overview (machines, executions, waiting tasks) and one
execution (graph, history, state data, the tasks it waits on and how to answer them). Blocking; pure but for the
reads it asks of the Reader, the mail store and, for the demo, SQS."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests

from lambdas.approval import decision_links, task_key
from mailcatcher.store import QueryError, Store, parse_query
from sandbox import workflow
from sandbox.console import demo, listing
from sandbox.console.ledger import Ledger
from sandbox.console.reader import Machine, Reader, Unavailable

from .graph import DefinitionError, progress_from_history, render_svg
from .timeline import timeline

PREFIX = "/workflows"
MAX_STATE_DATA = 20_000  # characters of a state's input or output sent to the page


def execution_url(machine: str, name: str) -> str:
    return f"{PREFIX}/machines/{quote(machine, safe='')}/executions/{quote(name, safe='')}"


def pretty_json(text: str | None, limit: int | None = None) -> str | None:
    if text is None:
        return None
    try:
        shown = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        shown = text
    if limit and len(shown) > limit:
        return shown[:limit] + f"\n… ({len(shown) - limit} more characters)"
    return shown


def overview(reader: Reader, ledger: Ledger, machine: str | None, status: str | None, query: str,
             limit: int) -> dict[str, Any]:
    listed = listing.executions(reader, machine, status, query, limit)
    for row in listed["executions"]:
        row["url"] = execution_url(row["machine"], row["name"])
    waiting = listing.tasks(reader, ledger=ledger)
    for task in waiting["tasks"] + waiting["unreadable"]:
        task["url"] = execution_url(task["machine"], task["execution"])
    return {**listed, "tasks": waiting["tasks"], "unreadableRunning": waiting["unreadable"]}


def state_data(events: list[dict]) -> dict[str, dict[str, str | None]]:
    """Each state's last input and output, from its StateEntered/StateExited events."""
    found: dict[str, dict[str, str | None]] = {}
    for event in events:
        for key, side in (("stateEnteredEventDetails", "input"), ("stateExitedEventDetails", "output")):
            details = event.get(key)
            if details and details.get("name"):
                found.setdefault(details["name"], {"input": None, "output": None})[side] = \
                    pretty_json(details.get(side), MAX_STATE_DATA)
    return found


def execution(reader: Reader, ledger: Ledger, store: Store | None, machine: Machine, name: str) -> dict[str, Any]:
    arn = machine.execution_arn(name)
    described, events = reader.consistent(arn)
    definition = reader.definition(arn)
    progress = progress_from_history(events, definition)
    try:
        svg, graph_problem = render_svg(definition, progress), None
    except DefinitionError as error:
        svg, graph_problem = "", f"The definition cannot be drawn: {error}"
    running = described["status"] == "RUNNING"
    tasks = [listing.task_fields(task, ledger) for task in reader.waiting(arn, events)] if running else []
    data: dict[str, Any] = {
        "machine": machine.name,
        "machineArn": machine.arn,
        "demo": machine.demo,
        "name": name,
        "arn": arn,
        **listing.execution_fields(machine, described),
        "cause": described.get("cause"),
        "input": pretty_json(described.get("input")),
        "output": pretty_json(described.get("output")),
        "waitingIn": sorted(state for state, status in progress.states.items() if status == "waiting"),
        "states": progress.states,
        "stateData": state_data(events),
        "graph": svg,
        "graphProblem": graph_problem,
        "timeline": timeline(events),
        "tasks": tasks,
        "url": execution_url(machine.name, name),
    }
    if machine.demo:
        _demo_decisions(reader, store, data, events)
    return data


# --- the demo: decisions through the email's links, and the email's delivery -----------------------------------


def caught_mail(store: Store | None, name: str) -> dict | None:
    """The caught approval email of an execution (its text names the execution), if any."""
    if store is None:
        return None
    try:
        _, found = store.search(parse_query(f'"{name}"'), limit=1)
    except QueryError:
        return None
    return found[0] if found else None


def _delivery_facts(reader: Reader, outputs: dict[str, Any], token: str) -> tuple[dict | None, int | None,
                                                                                  dict | None]:
    """The queue's attributes, its dead-letter count and the task's S3 record (None for what cannot be read)."""
    queue = dead = record = None
    sqs, s3 = workflow.client(reader.settings, "sqs"), workflow.client(reader.settings, "s3")
    with contextlib.suppress(Exception):  # each fact is a nicety: the page works without it
        queue = sqs.get_queue_attributes(QueueUrl=outputs["queue_url"], AttributeNames=["All"])["Attributes"]
    with contextlib.suppress(Exception):
        dead = int(sqs.get_queue_attributes(QueueUrl=outputs["dlq_url"], AttributeNames=[
            "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
    with contextlib.suppress(Exception):
        record = json.loads(s3.get_object(Bucket=outputs["bucket"], Key=task_key(token))["Body"].read())
    return queue, dead, record


def _demo_decisions(reader: Reader, store: Store | None, data: dict[str, Any], events: list[dict]) -> None:
    """Approve/Reject open the decision API's confirm page (the email's own links), held back until the email
    is caught: the decision endpoint learns a task when its email is sent, so an earlier click would be refused."""
    mail = caught_mail(store, data["name"])
    data["mailUrl"] = f"/view/{mail['ID']}" if mail else f"/?q={quote(data['name'])}"
    data["emailCaught"] = mail is not None
    outputs = demo.load_outputs(reader.settings) or {}
    for task in data["tasks"]:
        if not task["token"] or task["kind"] != "callback":
            continue
        if mail is None and store is not None:
            submitted = next((e["timestamp"] for e in reversed(events) if e.get("type") == "TaskSubmitted"), None)
            queue, dead, record = _delivery_facts(reader, outputs, task["token"])
            note = demo.delivery(submitted, datetime.now(UTC), queue, dead, record)
            task["delivery"] = {"state": note.state, "message": note.message}
        elif outputs.get("api_url"):
            links = decision_links(outputs["api_url"], task["token"])
            task["approveUrl"], task["rejectUrl"] = links["approve"], links["reject"]


def lost_execution(reader: Reader, store: Store | None, name: str) -> Unavailable | None:
    """A 410 explaining that the execution an email names was lost in a LocalStack restart, when it was."""
    mail = caught_mail(store, name)
    if mail is None:
        return None
    try:
        caught = datetime.fromisoformat(str(mail.get("Created", "")).replace("Z", "+00:00"))
    except ValueError:
        return None
    why = demo.lost_in_restart(caught, localstack_started(reader))
    return Unavailable(410, "lost_in_restart", why) if why else None


def localstack_started(reader: Reader) -> datetime | None:
    """When the running LocalStack started (its /_localstack/info: server time minus uptime)."""
    try:
        info = requests.get(f"{reader.settings.localstack_url}/_localstack/info", timeout=5).json()
        now = datetime.fromisoformat(str(info["server_time_utc"])).replace(tzinfo=UTC)
        return now - timedelta(seconds=float(info["uptime"]))
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return None
