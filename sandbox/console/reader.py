"""Read what the console shows from Step Functions: every state machine in the account and region, their
executions, histories, definitions and waiting tasks. Blocking (boto3); the web UI calls it from worker threads.

One bad execution never breaks a list: LocalStack accepts execution names (non-ASCII, ``'``, ``<``, ``%``,
``:``) that DescribeExecution and GetExecutionHistory then refuse as invalid ARNs; such an execution is listed
as unreadable, with what ListExecutions knows of it, and everything else goes on.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from lambdas.waiting_tasks import WaitingTask, waiting_tasks
from sandbox.config import TEST_CREDENTIALS, Settings

from . import demo
from .asl import DefinitionError, all_states, containers, read_scope

EXECUTION_END_EVENTS = {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"}
UNREADABLE = ("LocalStack cannot read this execution back: its name has characters that DescribeExecution "
              "refuses (LocalStack accepts them when starting it).")
CACHE_LIMIT = 20_000  # descriptions kept (one per execution and status); finished executions never change
SUMMARY_SECONDS = 0.5  # how long one ListExecutions answer serves


class Unavailable(Exception):
    """What was asked cannot be shown; ``message`` tells the person why and what to do."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def payload(self) -> dict[str, Any]:
        # "problem", not "error": an execution's own "error" (e.g. ApprovalRejected) is data, not a failure here.
        return {"problem": self.code, "message": self.message}


@dataclass(frozen=True)
class Machine:
    arn: str
    name: str
    type: str  # STANDARD or EXPRESS
    demo: bool

    def execution_arn(self, name: str) -> str:
        return self.arn.replace(":stateMachine:", ":execution:", 1) + ":" + name


def iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="milliseconds") if value else None


def sfn_client(settings: Settings, read_timeout: float = 15) -> Any:
    return boto3.client(
        "stepfunctions", endpoint_url=settings.localstack_url, region_name=settings.region,
        aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        # Fail fast when LocalStack is down: the page says so instead of hanging through retries.
        config=Config(connect_timeout=2, read_timeout=read_timeout, retries={"max_attempts": 1}),
    )


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class Reader:
    def __init__(self, settings: Settings, sfn: Any = None) -> None:
        self.settings = settings
        self._sfn = sfn
        self._tags: dict[str, dict[str, str]] = {}
        self._described: dict[tuple[str, str], dict | None] = {}  # (arn, status) -> description; None: unreadable
        self._definitions: dict[str, dict] = {}  # execution arn -> the definition it runs
        self._ended: dict[str, list[dict]] = {}  # histories of ended executions (they never change)
        self._summaries: dict[str, tuple[float, list[dict]]] = {}  # machine arn -> (read at, ListExecutions)

    @property
    def sfn(self) -> Any:
        if self._sfn is None:
            self._sfn = sfn_client(self.settings)
        return self._sfn

    @contextlib.contextmanager
    def aws(self) -> Iterator[None]:
        """Turn the ways LocalStack can fail into a message for the person looking."""
        try:
            yield
        except EndpointConnectionError:
            raise Unavailable(503, "localstack_unavailable",
                              f"LocalStack is not running at {self.settings.localstack_url}. "
                              "Start the sandbox with `make up`; this page updates once it answers.") from None
        except ClientError as error:
            code = error_code(error)
            if code in ("StateMachineDoesNotExist", "ResourceNotFound"):
                raise Unavailable(404, "machine_not_found", "There is no state machine with this name (LocalStack "
                                                            "keeps no state across restarts).") from None
            if code == "ExecutionDoesNotExist":
                raise Unavailable(404, "execution_not_found", "There is no execution with this name.") from None
            if code == "InvalidArn":
                raise Unavailable(422, "unreadable", UNREADABLE) from None
            raise Unavailable(502, "localstack_error", f"LocalStack answered with an error: {code or error}") \
                from None
        except BotoCoreError as error:
            raise Unavailable(503, "localstack_unavailable",
                              f"LocalStack at {self.settings.localstack_url} did not answer ({error}).") from None

    # --- machines -------------------------------------------------------------------------------------------

    def _tags_of(self, arn: str) -> dict[str, str]:
        if arn not in self._tags:
            try:
                tags = self.sfn.list_tags_for_resource(resourceArn=arn).get("tags") or []
            except ClientError:
                tags = []
            self._tags[arn] = {str(t.get("key")): str(t.get("value")) for t in tags}
        return self._tags[arn]

    def machines(self) -> list[Machine]:
        """Every state machine, the demo first, then by name."""
        outputs = demo.load_outputs(self.settings)
        with self.aws():
            listed = [m for page in self.sfn.get_paginator("list_state_machines").paginate()
                      for m in page["stateMachines"]]
            found = [Machine(m["stateMachineArn"], m["name"], m.get("type", "STANDARD"),
                             demo.is_demo(m["stateMachineArn"], self._tags_of(m["stateMachineArn"]), outputs))
                     for m in listed]
        return sorted(found, key=lambda m: (not m.demo, m.name.lower()))

    def machine(self, name: str) -> Machine:
        for machine in self.machines():
            if name in (machine.name, machine.arn):
                return machine
        raise Unavailable(404, "machine_not_found", f"There is no state machine named {name!r}.")

    # --- executions -----------------------------------------------------------------------------------------

    def summaries(self, machine: Machine, status: str | None = None) -> list[dict]:
        """ListExecutions of one machine, newest first (EXPRESS machines have none to list). One read serves all
        callers for ``SUMMARY_SECONDS``: a page's list and its waiting tasks, and pages polling the same second."""
        if machine.type != "STANDARD":
            return []
        cached = self._summaries.get(machine.arn)
        if cached is None or time.monotonic() - cached[0] > SUMMARY_SECONDS:
            pages = {"PageSize": 1000}  # LocalStack filters every execution of every machine for each page
            with self.aws():
                found = [e for page in self.sfn.get_paginator("list_executions").paginate(
                         stateMachineArn=machine.arn, PaginationConfig=pages) for e in page["executions"]]
            found.sort(key=lambda e: e["startDate"], reverse=True)
            cached = self._summaries[machine.arn] = (time.monotonic(), found)
        return [e for e in cached[1] if not status or e["status"] == status]

    def describe(self, arn: str, status: str | None = None) -> dict | None:
        """DescribeExecution (None for an unreadable execution). What it says changes only with the status,
        which ListExecutions reports: given the status, each execution is described once per status."""
        key = (arn, status or "")
        if status is not None and key in self._described:
            return self._described[key]
        try:
            with self.aws():
                described: dict | None = self.sfn.describe_execution(executionArn=arn)
        except Unavailable as problem:
            if problem.code != "unreadable":
                raise
            described = None
        if status is not None:
            if len(self._described) >= CACHE_LIMIT:
                self._described.clear()
            self._described[key] = described
        return described

    def described(self, arn: str, status: str) -> bool:
        """Whether the description for this status is known (unreadable counts as known)."""
        return (arn, status) in self._described

    def forget(self, keep: set[str]) -> None:
        """Drop cached descriptions of executions no longer listed (deleted machines, a LocalStack restart)."""
        self._described = {k: v for k, v in self._described.items() if k[0] in keep}

    def history(self, arn: str) -> list[dict]:
        if arn in self._ended:
            return self._ended[arn]
        with self.aws():
            events = [e for page in self.sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
                      for e in page["events"]]
        if events and events[-1].get("type") in EXECUTION_END_EVENTS:
            self._ended[arn] = events
        return events

    def consistent(self, arn: str) -> tuple[dict, list[dict]]:
        """DescribeExecution and the history, agreeing on whether the execution ended (two calls can straddle
        the end; a page showing RUNNING beside an ended graph would be wrong until the next change)."""
        for _ in range(5):
            events = self.history(arn)
            with self.aws():
                described = self.sfn.describe_execution(executionArn=arn)
            ended = any(event.get("type") in EXECUTION_END_EVENTS for event in events)
            if ended == (described["status"] != "RUNNING"):
                break
            time.sleep(0.05)
        return described, events

    def definition(self, arn: str) -> dict:
        """The definition the execution runs (not the machine's current one, which may have changed since)."""
        if arn not in self._definitions:
            with self.aws():
                answer = self.sfn.describe_state_machine_for_execution(executionArn=arn)
            try:
                self._definitions[arn] = json.loads(answer["definition"])
            except ValueError:
                self._definitions[arn] = {}
        return self._definitions[arn]

    def waiting(self, arn: str, events: list[dict] | None = None) -> list[WaitingTask]:
        """The tasks the execution waits on."""
        events = self.history(arn) if events is None else events
        try:
            scope = read_scope(self.definition(arn))
            states, inside = all_states(scope), containers(scope)
        except DefinitionError:
            states, inside = {}, {}
        return waiting_tasks(events, states, inside)

    def find(self, name_or_arn: str, machine: str | None = None) -> tuple[Machine, str]:
        """The machine and ARN of an execution given by ARN, or by name (within ``machine`` when given, else the
        one machine that has it; the demo first when several do)."""
        machines = [self.machine(machine)] if machine else self.machines()
        if name_or_arn.startswith("arn:"):
            for candidate in machines:
                if name_or_arn.startswith(candidate.arn.replace(":stateMachine:", ":execution:", 1) + ":"):
                    return candidate, name_or_arn
            raise Unavailable(404, "execution_not_found", "No state machine here has an execution with this ARN.")
        having = [m for m in machines if any(s["name"] == name_or_arn for s in self.summaries(m))]
        if not having:
            raise Unavailable(404, "execution_not_found", f"There is no execution named {name_or_arn!r}.")
        if len(having) > 1 and not having[0].demo:
            names = ", ".join(m.name for m in having)
            raise Unavailable(409, "ambiguous", f"Several state machines have an execution named {name_or_arn!r} "
                                                f"({names}); say which one.")
        return having[0], having[0].execution_arn(name_or_arn)
