"""The Makefile as a user drives it in local mode: up, status, up again, trigger, deploy twice, destroy + deploy,
down twice, a busy port, and what `make status` says after `make down`. (tests/e2e/test_docker_lifecycle.py is
the same in docker mode, under `make e2e-docker`.)

Runs on a sandbox of its own (own SANDBOX_HOME and free ports) so it never stops the shared e2e sandbox. "No
process left behind" is checked by pid: every process in LocalStack's and the catcher's process groups,
Lambda processes included, is gone after `make down`.
"""

from __future__ import annotations

import os
import socket
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from own_sandbox import OwnSandbox

from sandbox import workflow
from sandbox.services import process_alive, process_group_members


def readable_by_others(home: Path) -> list[str]:
    """Paths under the sandbox home (itself included) with any group or other permission bit."""
    found = [home, *home.rglob("*")]
    return [f"{oct(stat.S_IMODE(p.lstat().st_mode))} {p}" for p in found
            if not p.is_symlink() and stat.S_IMODE(p.lstat().st_mode) & 0o077]


class MakeSandbox(OwnSandbox):
    def __init__(self, home: Path) -> None:
        super().__init__(home, MODE="local")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeSandbox]:
    own = MakeSandbox(tmp_path_factory.mktemp("make-lifecycle"))
    try:
        yield own
    finally:
        own.make("down", check=False)


def test_up_status_trigger_and_down_leave_no_process_behind(sandbox: MakeSandbox) -> None:
    up = sandbox.make("up")
    assert "Ready in" in up.stdout
    assert sandbox.settings.outputs_path.exists()

    status = sandbox.make("status")
    assert "ready" in status.stdout and "pipeline: deployed" in status.stdout

    pids = {name: sandbox.pid(name) for name in ("localstack", "mailcatcher")}
    again = sandbox.make("up")
    assert "already running" in again.stdout
    assert "Already up (local mode)" in again.stdout and "nothing was started or changed" in again.stdout
    assert {name: sandbox.pid(name) for name in pids} == pids, "a second `make up` started a second copy"
    # Issue 11 item 9: the home, pid files, logs, outputs.json and LocalStack's own files are the owner's alone.
    assert readable_by_others(sandbox.settings.home) == []

    title = f"make trigger {uuid.uuid4().hex[:8]}"
    name = sandbox.make("trigger", f'PAYLOAD={{"title": "{title}"}}').stdout.strip().splitlines()[-1]
    mail = requests.get(f"{sandbox.settings.mail_url}/api/v1/wait",
                        params={"query": f'subject:"{title}"', "timeout": 60}, timeout=70)
    assert mail.status_code == 200, mail.text
    assert workflow.describe(sandbox.settings, name)["status"] == "RUNNING"
    assert name in sandbox.make("executions").stdout
    assert "Request user verification" in sandbox.make("history", f"NAME={name}").stdout

    # LocalStack's group now holds the Lambda processes of this execution as well.
    every_pid = set().union(*(process_group_members(pid) for pid in pids.values()))
    assert len(every_pid) > len(pids), "expected Lambda processes beside LocalStack and the catcher"

    down = sandbox.make("down")
    assert "Stopped." in down.stdout
    left = sorted(pid for pid in every_pid if process_alive(pid))
    assert not left, f"processes left behind after make down: {left}"
    assert not (sandbox.settings.home / "localstack.pid").exists()

    second = sandbox.make("down")
    assert "Nothing was running." in second.stdout

    # outputs.json outlives the LocalStack it described: status asks LocalStack, which is gone.
    assert sandbox.settings.outputs_path.exists()
    after = sandbox.make("status", check=False)
    assert after.returncode != 0 and "Error 3" in after.stderr  # `sandbox status` exits 3: not healthy
    assert "pipeline: deployed" not in after.stdout
    assert "LocalStack does not answer" in after.stdout and "mode: none" in after.stdout


def test_deploy_twice_is_a_no_op_and_destroy_then_deploy_works(sandbox: MakeSandbox) -> None:
    sandbox.make("up")
    sandbox.make("deploy")
    dry = sandbox.cli("deploy", "--dry-run", check=False)
    assert dry.returncode == 0 and "Up to date" in dry.stdout, dry.stdout + dry.stderr

    sandbox.make("destroy")
    gone = sandbox.cli("deploy", "--dry-run", check=False)
    assert "change(s) would be made" in gone.stdout, gone.stdout + gone.stderr

    sandbox.make("deploy")
    name = sandbox.make("trigger").stdout.strip().splitlines()[-1]
    workflow.wait_for_state(sandbox.settings, name, "Request user verification", timeout=60)


def test_bad_input_to_the_cli_is_one_clear_line(sandbox: MakeSandbox) -> None:
    bad = sandbox.make("trigger", "PAYLOAD={not json", check=False)
    assert bad.returncode != 0
    assert "payload is not valid JSON" in bad.stderr
    assert "Traceback" not in bad.stderr + bad.stdout
    missing = sandbox.make("history", check=False)
    assert missing.returncode != 0 and "execution name is needed" in missing.stderr


def test_up_without_the_demo_leaves_room_for_a_users_stack(sandbox: MakeSandbox) -> None:
    """`make up PIPELINE=none` starts the services only; the user's own state machine may take the demo's name."""
    sandbox.make("down")
    up = sandbox.make("up", "PIPELINE=none")
    assert "deploying the pipeline" not in up.stdout
    sfn = workflow.client(sandbox.settings, "stepfunctions")
    assert sfn.list_state_machines()["stateMachines"] == []
    bad = sandbox.make("up", "PIPELINE=nope", check=False)
    assert bad.returncode == 2 and "PIPELINE must be demo or none" in bad.stderr


def test_a_busy_port_is_named_with_its_process_and_nothing_starts(sandbox: MakeSandbox) -> None:
    sandbox.make("down")
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the catcher's closed connections linger
        holder.bind(("127.0.0.1", sandbox.settings.mail_http_port))
        holder.listen()
        busy = sandbox.make("up", check=False)
    assert busy.returncode != 0
    port = sandbox.settings.mail_http_port
    assert f"port {port} (MAILCATCHER_PORT) is in use by pid {os.getpid()} (" in busy.stderr, busy.stderr
    assert "Nothing was started or stopped" in busy.stderr
    assert "Traceback" not in busy.stderr + busy.stdout
    assert not (sandbox.settings.home / "localstack.pid").exists()
    assert not (sandbox.settings.home / "mailcatcher.pid").exists()
