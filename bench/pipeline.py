"""The bench's view of a running sandbox: trigger a request, catch its email, click Approve, read the execution.

Everything is reached the way a user reaches it: PutEvents on the bus, the mail catcher's HTTP API (long-poll
wait), the Approve link from the caught mail (POST, like the confirm button), DescribeExecution/ListExecutions.
Timestamps: the bench's wall clock (time.time()) and LocalStack's startDate/stopDate share this host's clock.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import requests

from lambdas.approval import execution_in_mail
from sandbox import workflow
from sandbox.config import Settings
from sandbox.services import url_ready

TERMINAL = set(workflow.TERMINAL)


class BenchError(RuntimeError):
    """The pipeline did not do what a run needs (no email, no terminal state); the message says where."""


def not_running_reason(settings: Settings) -> str | None:
    """Why the sandbox cannot be benchmarked, or None when LocalStack, the catcher and the pipeline answer."""
    if not url_ready(f"{settings.localstack_url}/_localstack/health"):
        return f"LocalStack does not answer at {settings.localstack_url}"
    if not url_ready(f"{settings.mail_url}/readyz"):
        return f"the mail catcher does not answer at {settings.mail_url}"
    if not settings.outputs_path.exists():
        return f"the pipeline is not deployed ({settings.outputs_path} is missing)"
    return None


def parse_created(value: str) -> float:
    """The catcher's `Created` (ISO 8601, UTC, 'Z') as epoch seconds."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@dataclass
class Run:
    """One approval, stage by stage (milliseconds)."""

    trigger_to_started_ms: float
    started_to_queued_ms: float  # Step Functions: Generate task, then the SQS message with the task token
    queued_to_email_ms: float  # SQS poll, the verification Lambda, SNS, the SMTP relay, the catcher
    started_to_email_ms: float
    trigger_to_email_ms: float
    approve_post_ms: float
    approve_to_succeeded_ms: float
    status: str


class Pipeline:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.outputs = workflow.load_outputs(settings)
        self.events = workflow.client(settings, "events")
        self.sfn = workflow.client(settings, "stepfunctions")
        self.http = requests.Session()
        self.machine_arn = self.outputs["state_machine_arn"]

    # --- trigger --------------------------------------------------------------------------------------------

    def put_event(self, title: str) -> None:
        self.put_events([title])

    def put_events(self, titles: list[str]) -> None:
        """One PutEvents call for up to 10 requests (EventBridge's limit per call)."""
        answer = self.events.put_events(Entries=[{
            "Source": self.outputs["event_source"],
            "DetailType": self.outputs["event_detail_type"],
            "Detail": json.dumps({"title": title, "origin": "make bench"}),
        } for title in titles])
        if answer.get("FailedEntryCount"):
            failed = [entry for entry in answer["Entries"] if entry.get("ErrorCode")]
            raise BenchError(f"EventBridge refused {len(failed)} of {len(titles)} events: {failed[0]}")

    # --- mail -----------------------------------------------------------------------------------------------

    def wait_mail(self, query: str, timeout: float) -> dict:
        response = self.http.get(f"{self.settings.mail_url}/api/v1/wait",
                                 params={"query": query, "timeout": timeout}, timeout=timeout + 10)
        if response.status_code == 408:
            raise BenchError(f"no email matching {query!r} within {timeout:g} s")
        response.raise_for_status()
        return response.json()

    def search(self, query: str, limit: int) -> list[dict]:
        response = self.http.get(f"{self.settings.mail_url}/api/v1/search",
                                 params={"query": query, "limit": limit}, timeout=30)
        response.raise_for_status()
        return response.json()["messages"]

    def message(self, message_id: str) -> dict:
        response = self.http.get(f"{self.settings.mail_url}/api/v1/message/{message_id}", timeout=30)
        response.raise_for_status()
        return response.json()

    def approve_url(self, message_id: str) -> str:
        response = self.http.get(f"{self.settings.mail_url}/api/v1/message/{message_id}/approval", timeout=30)
        response.raise_for_status()
        links = response.json()["Approve"]
        if not links:
            raise BenchError(f"message {message_id} has no Approve link")
        return links[0]["URL"]

    @staticmethod
    def execution_of(message: dict) -> str:
        name = execution_in_mail(message.get("Text") or "")
        if not name:
            raise BenchError(f"message {message.get('ID')} names no execution")
        return name

    # --- decide ---------------------------------------------------------------------------------------------

    def approve(self, url: str, session: requests.Session | None = None) -> int:
        """POST the Approve link, as the confirm page's button does; returns the HTTP status."""
        response = (session or self.http).post(url, headers={"Accept": "application/json"}, timeout=60)
        return response.status_code

    # --- executions -----------------------------------------------------------------------------------------

    def execution_arn(self, name: str) -> str:
        return self.machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + name

    def describe(self, name: str) -> dict:
        return self.sfn.describe_execution(executionArn=self.execution_arn(name))

    def wait_terminal(self, name: str, timeout: float, interval: float = 0.02) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            described = self.describe(name)
            if described["status"] in TERMINAL:
                return described
            if time.monotonic() > deadline:
                raise BenchError(f"execution {name} is still {described['status']} after {timeout:g} s")
            time.sleep(interval)

    def executions(self, status: str | None = None) -> dict[str, dict]:
        """Every execution of the state machine by name (status, startDate, stopDate), or those in `status`."""
        found: dict[str, dict] = {}
        filters = {"statusFilter": status} if status else {}
        paginator = self.sfn.get_paginator("list_executions")
        for page in paginator.paginate(stateMachineArn=self.machine_arn, PaginationConfig={"PageSize": 1000},
                                       **filters):
            for item in page["executions"]:
                found[item["name"]] = item
        return found

    def queued_at(self, name: str) -> float:
        """When Step Functions had sent the task token to SQS (the waitForTaskToken task's TaskSubmitted)."""
        history = self.sfn.get_execution_history(executionArn=self.execution_arn(name), maxResults=1000)
        for event in history["events"]:
            if event["type"] == "TaskSubmitted":
                return event["timestamp"].timestamp()
        raise BenchError(f"execution {name} has no TaskSubmitted event")

    # --- one approval, timed --------------------------------------------------------------------------------

    def one_approval(self, timeout: float = 60.0) -> Run:
        tag = f"bench-{uuid.uuid4().hex}"
        triggered = time.time()
        self.put_event(f"Bench {tag}")
        message = self.wait_mail(tag, timeout)
        caught = time.time()
        name = self.execution_of(message)
        started = self.describe(name)["startDate"].timestamp()
        url = self.approve_url(message["ID"])
        clicked = time.time()
        status = self.approve(url)
        answered = time.time()
        if status != 200:
            raise BenchError(f"the Approve POST for {name} answered {status}")
        described = self.wait_terminal(name, timeout)
        stopped = described["stopDate"].timestamp()
        queued = self.queued_at(name)
        return Run(
            trigger_to_started_ms=(started - triggered) * 1000,
            started_to_queued_ms=(queued - started) * 1000,
            queued_to_email_ms=(caught - queued) * 1000,
            started_to_email_ms=(caught - started) * 1000,
            trigger_to_email_ms=(caught - triggered) * 1000,
            approve_post_ms=(answered - clicked) * 1000,
            approve_to_succeeded_ms=(stopped - clicked) * 1000,
            status=described["status"],
        )
