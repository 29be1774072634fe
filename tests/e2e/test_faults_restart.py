"""Issue 7 on a sandbox of its own: mail path outage, restarts, exposure and secrets in logs.

These tests stop and kill services, so they never touch the shared e2e sandbox: the module starts its own with
`sandbox up --mode local` (its own SANDBOX_HOME and free ports, a short relay retry window, and fake secrets in
the environment that must never reach a log), and `sandbox down` in the end. The tests run in file order.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from own_sandbox import LINK, OwnSandbox

from sandbox import workflow
from sandbox.config import TEST_CREDENTIALS, Settings
from sandbox.services import ManagedProcess, local_services, mailcatcher_spec

RELAY_RETRY_SECONDS = 120
# Secrets a developer may have in their shell; none may end up in a log of the sandbox.
CANARIES = {
    "AWS_SECRET_ACCESS_KEY": f"canary-secret-{uuid.uuid4().hex}",
    "AWS_SESSION_TOKEN": f"canary-session-{uuid.uuid4().hex}",
    "GITHUB_TOKEN": f"ghp_canary{uuid.uuid4().hex}",
    "LOCALSTACK_AUTH_TOKEN": f"ls-canary-{uuid.uuid4().hex}",
}


class FaultsSandbox(OwnSandbox):
    def __init__(self, home: Path) -> None:
        super().__init__(home, {"bind_host": "127.0.0.1"}, **CANARIES, SANDBOX_BIND="127.0.0.1",
                         SMTP_RELAY_RETRY_SECONDS=str(RELAY_RETRY_SECONDS))

    def services(self) -> dict[str, ManagedProcess]:
        return {s.spec.name: s for s in local_services(self.settings)}

    def count_mail(self, query: str) -> int:
        return requests.get(f"{self.settings.mail_url}/api/v1/search", params={"query": query},
                            timeout=30).json()["messages_count"]

    def approve_flow(self) -> tuple[str, dict]:
        """Trigger, read the email, open Approve, confirm: the execution succeeds. Returns its name and mail."""
        name = self.start_request("faults restart")
        return name, self.approve(name)


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultsSandbox]:
    sandbox = FaultsSandbox(tmp_path_factory.mktemp("faults-sandbox"))
    try:
        sandbox.cli("up", "--mode", "local")
        yield sandbox
    finally:
        sandbox.cli("down", check=False)
        for service in sandbox.services().values():  # whatever `down` could not stop
            service.stop()


def record_emailed(settings: Settings, execution_name: str) -> bool:
    """Whether the verification function has published this execution's email (its S3 record says so)."""
    import json

    outputs = workflow.load_outputs(settings)
    s3 = workflow.client(settings, "s3")
    for item in s3.list_objects_v2(Bucket=outputs["bucket"], Prefix="tasks/").get("Contents", []):
        record = json.loads(s3.get_object(Bucket=outputs["bucket"], Key=item["Key"])["Body"].read())
        if record.get("executionName") == execution_name and record.get("emailSentAt"):
            return True
    return False


def test_mail_sent_while_the_catcher_is_down_arrives_exactly_once_when_it_is_back(own: FaultsSandbox):
    settings = own.settings
    catcher = ManagedProcess(mailcatcher_spec(settings), settings.home)
    assert catcher.stop()
    assert not catcher.ready()

    started = workflow.start(settings, {"title": f"faults outage {uuid.uuid4().hex[:8]}"})
    deadline = time.monotonic() + 90
    while not record_emailed(settings, started.name):  # SNS took the email; the relay now retries it
        assert time.monotonic() < deadline, "the verification function did not publish the email"
        time.sleep(0.2)
    assert not catcher.ready()

    # `sandbox up` starts what is missing (the catcher) and leaves LocalStack and its relay queue alone.
    localstack_pid = own.pid("localstack")
    own.cli("up", "--mode", "local")
    assert own.pid("localstack") == localstack_pid
    email = own.wait_mail(started.name)
    assert started.name in email["Text"]

    # The relay sends in order: once a later sentinel arrived, a duplicate of the first would have too.
    ses = workflow.client(settings, "ses")
    ses.verify_email_identity(EmailAddress="faults@example.com")
    sentinel = f"faults-sentinel-{uuid.uuid4().hex[:8]}"
    ses.send_email(Source="faults@example.com", Destination={"ToAddresses": ["approver@example.com"]},
                   Message={"Subject": {"Data": sentinel}, "Body": {"Text": {"Data": "after the outage"}}})
    own.wait_mail(sentinel)
    assert own.count_mail(started.name) == 1
    assert requests.post(next(u for u, k in LINK.findall(email["Text"]) if k == "reject"), timeout=30).ok


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    return inodes


def _listening() -> dict[str, tuple[str, int]]:
    """inode -> (address, port) of every listening TCP socket on the machine (IPv4 and IPv6)."""
    found = {}
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A":  # LISTEN
                continue
            address, port = fields[1].split(":")
            raw = bytes.fromhex(address)
            if width == 8:
                host = socket.inet_ntop(socket.AF_INET, raw[::-1])
            else:
                host = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
            found[fields[9]] = (host, int(port, 16))
    return found


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) == pgid:
                    pids.append(int(entry.name))
    return pids


def test_every_listening_socket_binds_loopback(own: FaultsSandbox):
    settings = own.settings
    own.approve_flow()  # every function of the pipeline has an environment (and a Runtime API server) now
    listening = _listening()
    sockets: list[tuple[str, int, int, str]] = []
    for name in ("localstack", "mailcatcher"):
        pgid = own.pid(name)
        assert pgid is not None
        group = _group_pids(pgid)
        assert group, name
        for pid in group:
            for inode in _socket_inodes(pid) & set(listening):
                host, port = listening[inode]
                sockets.append((host, port, pid, Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")))
    ports = {port for _, port, _, _ in sockets}
    # The test sees the sandbox's known listeners, so it cannot pass by finding nothing.
    assert {settings.localstack_port, settings.smtp_port, settings.mail_http_port} <= ports, sockets
    lambda_processes = [pid for pid in _group_pids(own.pid("localstack"))
                        if "sandbox_localstack.bootstrap" in Path(f"/proc/{pid}/cmdline").read_text()]
    assert len(lambda_processes) >= 4  # generate, send, decide, process
    exposed = [s for s in sockets if s[0] != "127.0.0.1"]
    assert exposed == [], f"listening beyond 127.0.0.1: {exposed}"
    print(f"\n{len(sockets)} listening sockets of {len(lambda_processes) + 2}+ sandbox processes, all on 127.0.0.1")


def _all_log_text(own: FaultsSandbox) -> str:
    """The service logs, LocalStack's files and every CloudWatch log event of the sandbox."""
    texts = [path.read_text(errors="replace") for path in own.settings.home.glob("*.log")]
    logs = workflow.client(own.settings, "logs")
    for group in logs.describe_log_groups()["logGroups"]:
        for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group["logGroupName"]):
            texts.extend(event["message"] for event in page["events"])
    return "\n".join(texts)


def test_no_secrets_in_logs_beyond_the_fixed_test_credentials(own: FaultsSandbox):
    _, email = own.approve_flow()
    token = parse_qs(urlsplit(LINK.findall(email["Text"])[0][0]).query)["token"][0]
    text = _all_log_text(own)
    assert "START RequestId" in text and "localstack.request" in text  # the logs were read
    leaked = [name for name, value in CANARIES.items() if value in text]
    assert leaked == [], f"secrets from the environment in the logs: {leaked}"
    assert token not in text, "an approval token (a bearer secret) is in the logs"
    # The only credentials anywhere are LocalStack's fixed test ones.
    for key in re.findall(r"(?:aws_secret_access_key|AWS_SECRET_ACCESS_KEY)\W{1,5}([^\s'\",]+)", text):
        assert key == TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"], key


def test_down_then_up_redeploys_and_works_and_down_says_what_is_lost(own: FaultsSandbox):
    _, old_email = own.approve_flow()
    waiting = workflow.start(own.settings, {"title": f"faults pending {uuid.uuid4().hex[:8]}"})
    pending_email = own.wait_mail(waiting.name)

    down = own.cli("down")
    for phrase in ("keeps no state across restarts", "waiting approvals", "links in earlier emails stop working",
                   "SQS messages", "not yet relayed", "Kept: the caught mail"):
        assert phrase in down.stdout, down.stdout
    # What this stop drops, counted: the request waiting above (the journal saw it before the stop).
    assert "Stopping LocalStack drops 1 execution, waiting for approval." in down.stdout, down.stdout
    assert own.pid("localstack") is None and own.pid("mailcatcher") is None

    up = own.cli("up", "--mode", "local")
    assert "deploying the pipeline" in up.stdout
    assert "lost with it" not in up.stdout, "`make down` told that loss already"
    own.approve_flow()
    # What the note says: the caught mail is still there, its links no longer lead anywhere (a clear 4xx).
    assert own.count_mail(waiting.name) == 1
    stale = next(url for url, kind in LINK.findall(pending_email["Text"]) if kind == "approve")
    answer = requests.get(stale, timeout=30)
    # The redeployed API keeps its id, so the old link reaches the decision function, which tells what happened.
    assert answer.status_code == 404, answer.text[:300]
    assert "lost in the restart" in answer.text, answer.text[:300]
    assert own.count_mail(old_email["Subject"].split(": ", 1)[-1]) >= 1
    # The old mail's "View execution" says plainly what happened to its execution (issue 15 item 8).
    view = requests.get(f"{own.settings.mail_url}/workflows/{waiting.name}", timeout=30)
    assert view.status_code == 410 and "lost when LocalStack restarted" in view.text, view.text[:300]
    plan = own.cli("deploy", "--dry-run")  # the redeploy is complete: another would change nothing
    assert "would change nothing" in plan.stdout or not plan.stdout.strip(), plan.stdout


def test_up_after_localstack_was_sigkilled_recovers_without_manual_cleanup(own: FaultsSandbox):
    waiting = workflow.start(own.settings, {"title": f"faults crash {uuid.uuid4().hex[:8]}"})
    own.wait_mail(waiting.name)
    journal = own.settings.journal_dir / "executions.json"
    deadline = time.monotonic() + 10
    # Written within half a second of a change; an earlier write may show the execution before it waited.
    while not _journal_says_waiting(journal, waiting.name):
        assert time.monotonic() < deadline, journal.read_text()
        time.sleep(0.1)
    pid = own.pid("localstack")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while _group_pids(pid):  # its function processes follow it (lifeline)
        assert time.monotonic() < deadline, f"processes of the killed LocalStack remain: {_group_pids(pid)}"
        time.sleep(0.1)
    assert (own.settings.home / "localstack.pid").exists()  # stale

    status = own.cli("status", check=False)
    assert status.returncode == 3 and re.search(r"localstack\s+stopped", status.stdout), status.stdout
    assert "pipeline: deployed" not in status.stdout
    up = own.cli("up", "--mode", "local")
    assert own.pid("localstack") not in (None, pid)
    # Explained, not discovered: what the crash lost, said once.
    assert "LocalStack stopped unexpectedly (a crash or a kill)" in up.stdout, up.stdout
    assert "lost with it: 1 execution, waiting for approval." in up.stdout
    assert "send those requests again" in up.stdout
    assert "lost with it" not in own.cli("up", "--mode", "local").stdout
    own.approve_flow()
    healthy = own.cli("status")
    assert "pipeline: deployed (asked of LocalStack)" in healthy.stdout
    assert "last loss:     LocalStack stopped unexpectedly" in healthy.stdout


def test_a_crashed_verification_run_is_retried_within_seconds(own: FaultsSandbox):
    """Issue 15 point 8: the send-verification process dies mid-run; the email still comes, seconds later."""
    outputs = workflow.load_outputs(own.settings)
    visibility = int(workflow.client(own.settings, "sqs").get_queue_attributes(
        QueueUrl=outputs["queue_url"], AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"])
    # Sized to the function (AWS's advice: six times its timeout), so a failed run is retried in seconds, not minutes.
    assert visibility <= 40, f"the queue hides a failed message for {visibility} s"
    own.approve_flow()  # a warm send-verification environment, idle
    function = outputs["functions"]["send_verification"]
    warm = [pid for pid in _group_pids(own.pid("localstack") or 0)
            if "send_verification.handler" in Path(f"/proc/{pid}/cmdline").read_text()]
    assert warm, f"no warm environment of {function}"
    for pid in warm:
        os.kill(pid, signal.SIGSTOP)  # the next invocation reaches a process that cannot answer
    started = workflow.start(own.settings, {"title": f"faults verification {uuid.uuid4().hex[:8]}"})
    sqs = workflow.client(own.settings, "sqs")
    deadline = time.monotonic() + 60
    while sqs.get_queue_attributes(QueueUrl=outputs["queue_url"], AttributeNames=[
            "ApproximateNumberOfMessagesNotVisible"])["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0":
        assert time.monotonic() < deadline, "the queue's poller never took the message"
        time.sleep(0.1)
    time.sleep(1)  # taken by the poller: now on its way to the stopped environment
    for pid in warm:
        os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    email = own.wait_mail(started.name, timeout=visibility + 30)
    assert time.monotonic() - killed_at < visibility + 15
    assert started.name in email["Text"]
    assert own.count_mail(started.name) == 1


def _journal_says_waiting(journal, name: str) -> bool:
    try:
        executions = json.loads(journal.read_text()).get("executions", [])
    except (OSError, ValueError):
        return False
    return any(row.get("name") == name and row.get("waiting") for row in executions)
