"""A sandbox of a test module's own, driven as a user drives it.

Tests that stop, kill or break services must never touch the shared e2e sandbox, so their module starts one with
its own SANDBOX_HOME and free ports. This is what those modules share: the environment, running `make` or the
sandbox CLI with a clear failure message, the pid files, and one approval walked through its email.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import requests
from approval_support import post_form

from sandbox import workflow
from sandbox.config import Settings
from sandbox.ports import free_port

REPO = Path(__file__).resolve().parents[2]
SANDBOX_CLI = [str(REPO / ".venv" / "bin" / "sandbox")] if (REPO / ".venv/bin/sandbox").exists() else [
    sys.executable, "-m", "sandbox.cli"]
LINK = re.compile(r"(https?://\S+/(approve|reject)\?token=\S+)")
# Settings of the shared e2e sandbox that a sandbox of its own must not inherit from the test run's environment.
NOT_INHERITED = ("LOCALSTACK_ENDPOINT", "SANDBOX_PUBLIC_URL", "MODE")


class OwnSandbox:
    command_timeout = 300

    def __init__(self, home: Path, settings: dict[str, Any] | None = None, **env: str) -> None:
        self.settings = Settings(home=home, localstack_port=free_port(), smtp_port=free_port(),
                                 mail_http_port=free_port(), **(settings or {}))
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in NOT_INHERITED},
            "SANDBOX_HOME": str(home),
            "LOCALSTACK_PORT": str(self.settings.localstack_port),
            "SMTP_PORT": str(self.settings.smtp_port),
            "MAILCATCHER_PORT": str(self.settings.mail_http_port),
            **env,
        }

    def run(self, command: list[str], check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(command, cwd=REPO, env={**self.env, **env}, capture_output=True, text=True,
                              timeout=self.command_timeout)
        if check:
            assert done.returncode == 0, f"{' '.join(command)} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    def make(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        return self.run(["make", "--no-print-directory", *args], check=check, **env)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run([*SANDBOX_CLI, *args], check=check)

    def pid(self, name: str) -> int | None:
        """The pid (a process group's leader) in the service's pid file; None when there is none."""
        try:
            return int((self.settings.home / f"{name}.pid").read_text())
        except (OSError, ValueError):
            return None

    def wait_mail(self, query: str, timeout: float = 90) -> dict:
        answer = requests.get(f"{self.settings.mail_url}/api/v1/wait", params={"query": query, "timeout": timeout},
                              timeout=timeout + 10)
        assert answer.status_code == 200, f"no mail for {query!r}: {answer.status_code} {answer.text[:200]}"
        return answer.json()

    def start_request(self, title: str) -> str:
        """Start a request and wait until its email arrived; returns the execution's name."""
        started = workflow.start(self.settings, {"title": f"{title} {uuid.uuid4().hex[:8]}"})
        self.wait_mail(started.name)
        return started.name

    def approve(self, name: str) -> dict:
        """Open the execution's Approve link and confirm, as the approver does: it succeeds. Returns the email."""
        email = self.wait_mail(name)
        approve = next(url for url, kind in LINK.findall(email["Text"]) if kind == "approve")
        page = requests.get(approve, timeout=30)
        assert page.status_code == 200, page.text[:300]
        assert post_form(approve, page.text).status_code == 200
        done = workflow.wait_for_status(self.settings, name, timeout=90)
        assert done["status"] == "SUCCEEDED", done
        return email
