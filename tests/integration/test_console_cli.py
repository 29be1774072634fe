"""`sandbox tasks`, `sandbox answer` and `sandbox executions` against a real LocalStack, with both kinds of
waiting: an SQS callback and an activity. The token the CLI finds is the one Step Functions really sent (read
back from the queue); answers change the executions as Step Functions says. (JSONata definitions are covered by
unit tests only: LocalStack evaluates JSONata with a Java runtime it downloads, which offline it cannot.)

Also: one execution LocalStack cannot read back never breaks a list, a page or a command (issue 11 item 6); a
request title full of terminal escapes never reaches the terminal raw (issue 11 item 9); the demo is recognised by
its tag when outputs.json is absent; the Workflows page lists everything with no outputs.json at all.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from webui_support import REPO_ROOT, running_webui

from sandbox.console.ledger import Ledger

ROLE = "arn:aws:iam::000000000000:role/console-tests"
HOSTILE_TITLE = "Deploy \x1b]0;pwned\x07\x1b[2J\x1b[31mred"
# LocalStack starts executions with these names and then refuses to describe them.
ODD_NAME = "odd'<name>%:é"


def sqs_machine(queue_url: str) -> dict:
    return {"StartAt": "Ask", "States": {
        "Ask": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": queue_url, "MessageBody": {"token.$": "$$.Task.Token", "order.$": "$"}},
                "HeartbeatSeconds": 60, "TimeoutSeconds": 300, "Next": "Done"},
        "Done": {"Type": "Succeed"}}}


def activity_machine(activity_arn: str) -> dict:
    return {"StartAt": "Check", "States": {"Check": {"Type": "Task", "Resource": activity_arn, "End": True}}}


@dataclass
class Console:
    localstack: object
    home: Path
    machines: dict[str, str]
    queue_url: str

    @property
    def sfn(self):
        return self.localstack.client("stepfunctions")  # type: ignore[attr-defined]

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "SANDBOX_HOME": str(self.home),
               "LOCALSTACK_PORT": str(self.localstack.settings.localstack_port)}  # type: ignore[attr-defined]
        env.pop("LOCALSTACK_ENDPOINT", None)
        done = subprocess.run([sys.executable, "-m", "sandbox.cli", *args], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        if check:
            assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        return done

    def start(self, machine: str, name: str | None = None, **fields) -> str:
        name = name or f"it-{uuid.uuid4().hex[:8]}"
        self.sfn.start_execution(stateMachineArn=self.machines[machine], name=name, input=json.dumps(fields))
        return name

    def status(self, machine: str, name: str) -> dict:
        arn = self.machines[machine].replace(":stateMachine:", ":execution:") + ":" + name
        return self.sfn.describe_execution(executionArn=arn)

    def wait_for(self, machine: str, name: str, statuses=("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")) -> dict:
        deadline = time.monotonic() + 60
        while (described := self.status(machine, name))["status"] not in statuses:
            assert time.monotonic() < deadline, described
            time.sleep(0.2)
        return described

    def tasks(self) -> list[dict]:
        return json.loads(self.cli("tasks", "--json").stdout)["tasks"]

    def task_of(self, name: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            found = [t for t in self.tasks() if t["execution"] == name]
            if found:
                return found[0]
            assert time.monotonic() < deadline, (f"{name} never waited", self.cli("tasks", "--json").stdout,
                                                 self.cli("executions").stdout)
            time.sleep(0.3)


@pytest.fixture(scope="module")
def console(localstack, tmp_path_factory) -> Iterator[Console]:
    suffix = uuid.uuid4().hex[:6]
    sqs, sfn = localstack.client("sqs"), localstack.client("stepfunctions")
    queue_url = sqs.create_queue(QueueName=f"console-{suffix}")["QueueUrl"]
    activity = sfn.create_activity(name=f"manual-check-{suffix}")["activityArn"]
    passing = {"StartAt": "Pass", "States": {"Pass": {"Type": "Pass", "End": True}}}
    definitions = {"Queued": sqs_machine(queue_url), "Manual": activity_machine(activity), "TaggedDemo": passing}
    machines = {}
    for name, definition in definitions.items():
        machines[name] = sfn.create_state_machine(name=f"{name}-{suffix}", definition=json.dumps(definition),
                                                  roleArn=ROLE)["stateMachineArn"]
    sfn.tag_resource(resourceArn=machines["TaggedDemo"], tags=[{"key": "managed-by", "value": "callback-sandbox"}])
    yield Console(localstack, tmp_path_factory.mktemp("console-home"), machines, queue_url)
    for arn in machines.values():
        sfn.delete_state_machine(stateMachineArn=arn)


def received_token(console: Console, key: str, name: str) -> str:
    """The token Step Functions put in the queue for this execution (the ground truth)."""
    sqs = console.localstack.client("sqs")  # type: ignore[attr-defined]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=console.queue_url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=1).get("Messages", []):
            body = json.loads(message["Body"])
            sqs.delete_message(QueueUrl=console.queue_url, ReceiptHandle=message["ReceiptHandle"])
            if (body.get("order") or {}).get("id") == name:
                return body[key]
    raise AssertionError(f"no message for {name}")


def test_tasks_finds_the_token_step_functions_sent_and_answer_success(console: Console) -> None:
    name = console.start("Queued", id="o-1")
    task = console.task_of(name)
    assert (task["state"], task["kind"], task["tokenPath"]) == ("Ask", "callback", "MessageBody.token")
    assert (task["heartbeatSeconds"], task["timeoutSeconds"]) == (60, 300)
    assert task["token"] == received_token(console, "token", "o-1")

    table = console.cli("tasks").stdout
    assert name in table and "sqs:sendMessage.waitForTaskToken" in table

    beat = console.cli("answer", name, "--heartbeat")
    assert "Heartbeat sent" in beat.stdout and "within 60 s" in beat.stdout
    assert Ledger(console.home).last_heartbeat(task["token"]) is not None
    assert console.task_of(name)["lastHeartbeat"] is not None

    done = json.loads(console.cli("answer", name, "--success", '{"approved": true}', "--json").stdout)
    assert (done["via"], done["state"]) == ("Step Functions", "Ask")
    finished = console.wait_for("Queued", name)
    assert finished["status"] == "SUCCEEDED" and json.loads(finished["output"]) == {"approved": True}


def test_answer_failure_bad_output_and_no_task(console: Console) -> None:
    name = console.start("Queued", id="o-2")
    console.task_of(name)
    bad = console.cli("answer", name, "--success", '{"approved": tru', check=False)
    assert bad.returncode == 1 and "not valid JSON" in bad.stderr and "line 1" in bad.stderr
    assert console.status("Queued", name)["status"] == "RUNNING"  # nothing was sent
    console.cli("answer", name, "--failure", "ReviewRejected", "--cause", "too expensive")
    failed = console.wait_for("Queued", name)
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "ReviewRejected", "too expensive")
    again = console.cli("answer", name, "--success", check=False)
    assert again.returncode == 1 and "waits on no task" in again.stderr
    unknown = console.cli("answer", "no-such-execution", "--heartbeat", check=False)
    assert unknown.returncode == 1 and "no execution named" in unknown.stderr


def test_an_activity_task_is_taken_then_answered(console: Console) -> None:
    name = console.start("Manual", case=7)
    task = console.task_of(name)
    assert (task["kind"], task["token"], task["worker"]) == ("activity", None, None)
    assert any("take it" in note for note in task["notes"])
    refused = console.cli("answer", name, "--success", check=False)
    assert refused.returncode == 1 and "take it first" in refused.stderr
    taken = console.cli("answer", name, "--take")
    assert "Taken as worker sandbox-console-" in taken.stdout
    task = console.task_of(name)
    assert task["worker"].startswith("sandbox-console-") and task["token"]
    # Step Functions' own refusal is passed on as it is: a token it does not know.
    Ledger(console.home).took_activity(task["worker"], "forged-token", task["resource"])
    forged = console.cli("answer", name, "--success", check=False)
    assert forged.returncode == 1 and "Step Functions refused: InvalidToken" in forged.stderr
    Ledger(console.home).took_activity(task["worker"], task["token"], task["resource"])
    console.cli("answer", name, "--success", '{"checked": true}')
    assert console.wait_for("Manual", name)["status"] == "SUCCEEDED"


def test_finding_6_one_unreadable_execution_breaks_nothing(console: Console) -> None:
    """Issue 11 item 6: LocalStack starts an execution with such a name, lists it, and refuses to describe it."""
    readable = console.start("Queued", id="o-3")
    console.start("Queued", ODD_NAME, id="odd")
    console.task_of(readable)
    listed = json.loads(console.cli("executions", "--json", "--limit", "100").stdout)
    rows = {row["name"]: row for row in listed["executions"]}
    assert "cannot read this execution" in rows[ODD_NAME]["unreadable"]
    assert rows[readable]["status"] == "RUNNING" and "unreadable" not in rows[readable]
    tasks = json.loads(console.cli("tasks", "--json").stdout)
    assert readable in [t["execution"] for t in tasks["tasks"]]
    assert ODD_NAME in [u["execution"] for u in tasks["unreadable"]]
    assert "(unreadable" in console.cli("executions").stdout
    odd = console.cli("answer", ODD_NAME, "--heartbeat", check=False)
    assert odd.returncode == 1 and "cannot read this execution" in odd.stderr
    console.sfn.stop_execution(executionArn=console.machines["Queued"].replace(":stateMachine:", ":execution:")
                               + ":" + readable)

    with running_webui(console.home, console.localstack.settings.localstack_port) as base:  # type: ignore
        overview = requests.get(f"{base}/workflows/api/overview", params={"limit": 200}, timeout=30)
        assert overview.status_code == 200, overview.text
        names = [row["name"] for row in overview.json()["executions"]]
        assert ODD_NAME in names and readable in names
        machine = console.machines["Queued"].rsplit(":", 1)[-1]
        view = requests.get(f"{base}/workflows/api/machines/{machine}/executions/{ODD_NAME}", timeout=30)
        assert view.status_code == 422 and view.json()["problem"] == "unreadable"
        page = requests.get(f"{base}/workflows/machines/{machine}/executions/{ODD_NAME}", timeout=30)
        assert page.status_code == 422 and "cannot read this execution" in page.text
        assert requests.get(f"{base}/workflows/api/tasks", timeout=30).status_code == 200


def test_the_demo_is_recognised_by_its_tag_and_titles_cannot_drive_the_terminal(console: Console) -> None:
    """No outputs.json in this sandbox home: the tagged machine is the demo, listed first, and its request title
    (escape sequences included) is printed as visible escapes (issue 11 item 9)."""
    assert not (console.home / "outputs.json").exists()
    event = {"source": "sandbox.approvals", "detail-type": "ApprovalRequested", "detail": {"title": HOSTILE_TITLE}}
    name = console.start("TaggedDemo", **event)
    console.wait_for("TaggedDemo", name)
    listed = json.loads(console.cli("executions", "--json").stdout)
    first = listed["machines"][0]
    assert first["demo"] and first["name"].startswith("TaggedDemo-")
    assert next(r for r in listed["executions"] if r["name"] == name)["title"] == HOSTILE_TITLE
    table = console.cli("executions").stdout
    assert "\x1b" not in table and "\x07" not in table
    assert "Deploy \\x1b]0;pwned\\x07" in table
    assert "\x1b" not in console.cli("history", name).stdout


def test_a_closed_page_stops_its_polling_at_once(console: Console) -> None:
    """The poller's cost follows the open pages: a page's event stream subscribes, and closing the page (the
    connection) unsubscribes it at once, not at the stream's next write; with no page open nothing polls."""
    with running_webui(console.home, console.localstack.settings.localstack_port) as base:  # type: ignore
        live = f"{base}/workflows/api/live"
        address = urlsplit(base)
        pages = []
        for _ in range(3):
            page = socket.create_connection((address.hostname, address.port), timeout=30)
            page.sendall(f"GET /workflows/api/events HTTP/1.1\r\nHost: {address.netloc}\r\n\r\n".encode())
            received = b""
            while b"event: update" not in received:
                received += page.recv(65536)
            pages.append(page)
        assert {k: v for k, v in requests.get(live, timeout=30).json().items() if k in ("pages", "watches")} \
            == {"pages": 3, "watches": 1}  # three pages, one poll
        for page in pages:
            page.close()
        deadline = time.monotonic() + 3  # well under the 15 s between keep-alive writes
        while (stats := requests.get(live, timeout=30).json())["pages"]:
            assert time.monotonic() < deadline, stats
            time.sleep(0.1)
        assert stats["watches"] == 0
        time.sleep(2 * stats["intervalSeconds"] + 0.5)
        assert requests.get(live, timeout=30).json()["polls"] == stats["polls"]
