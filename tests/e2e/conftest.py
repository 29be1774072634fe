"""End-to-end fixtures: the whole sandbox (LocalStack with the local executor and mail relay, the mail catcher,
the deployed pipeline), reached the way a user reaches it: PutEvents, the caught email, its links over HTTP.

Settings come from the environment (LOCALSTACK_PORT, SMTP_PORT, MAILCATCHER_PORT, SANDBOX_HOME, ...). When that
sandbox is already up and deployed, the tests use it and leave it running. Otherwise the session starts what is
missing with `sandbox.services.local_services` (as `make up` does), deploys, and stops what it started.

E2E_PIPELINE=template runs the same tests against the CloudFormation template deployed through LocalStack's
CloudFormation under another prefix (template_pipeline.py; `make e2e-template`).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import template_pipeline
from workflows_support import browser, page, ui  # noqa: F401 - the Workflows browser tests' fixtures

import bootstrap
from sandbox import workflow
from sandbox.config import Settings
from sandbox.services import local_services, url_ready

LINK = re.compile(r"(https?://\S+/(approve|reject)\?token=\S+)")
PIPELINE = os.environ.get("E2E_PIPELINE", "bootstrap")


def _deployed(settings: Settings) -> bool:
    try:
        outputs = workflow.load_outputs(settings)
        workflow.client(settings, "stepfunctions").describe_state_machine(
            stateMachineArn=outputs["state_machine_arn"])
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Settings]:
    settings = Settings()
    started = []
    try:
        for service in local_services(settings):
            if not service.ready():
                if service.pid() is None:
                    service.start()
                    started.append(service)
                service.wait_ready(timeout=120)
        if PIPELINE == "template":
            settings = template_pipeline.deploy(settings)
        elif not _deployed(settings):
            bootstrap.deploy(settings)
        assert url_ready(f"{settings.localstack_url}/_localstack/health")
        yield settings
    finally:
        for service in reversed(started):
            service.stop()


@dataclass
class Mail:
    """The catcher's HTTP API (Mailpit-shaped, plus the long-poll wait)."""

    base: str

    def wait(self, query: str, timeout: float = 30, after: str | None = None) -> dict | None:
        params = {"query": query, "timeout": timeout, **({"after": after} if after else {})}
        response = requests.get(f"{self.base}/api/v1/wait", params=params, timeout=timeout + 10)
        if response.status_code == 408:
            return None
        response.raise_for_status()
        return response.json()

    def count(self, query: str) -> int:
        response = requests.get(f"{self.base}/api/v1/search", params={"query": query}, timeout=10)
        response.raise_for_status()
        return response.json()["messages_count"]


@pytest.fixture(scope="session")
def mail(sandbox: Settings) -> Mail:
    return Mail(sandbox.mail_url)


@dataclass
class Request:
    """One approval request started through EventBridge, with its email and links once they arrived."""

    settings: Settings
    title: str
    started: workflow.Started
    email: dict | None = None

    @property
    def name(self) -> str:
        return self.started.name

    def links(self) -> dict[str, str]:
        assert self.email is not None
        return {kind: template_pipeline.reachable(url, self.settings.localstack_url)
                for url, kind in LINK.findall(self.email["Text"])}

    @property
    def token(self) -> str:
        return parse_qs(urlsplit(self.links()["approve"]).query)["token"][0]

    def status(self) -> dict:
        return workflow.describe(self.settings, self.name)

    def history_types(self) -> list[tuple[str, str | None]]:
        return [(s["type"], s["state"]) for s in workflow.execution_history(self.settings, self.name)]


@pytest.fixture
def request_approval(sandbox: Settings, mail: Mail):
    """Start a uniquely titled request and wait for its email in the catcher."""

    def start(**fields) -> Request:
        title = f"e2e {uuid.uuid4().hex[:10]}"
        started = workflow.start(sandbox, {"title": title, **fields})
        request = Request(sandbox, title, started)
        request.email = mail.wait(started.name, timeout=60)
        assert request.email is not None, f"no approval email for {started.name}"
        return request

    return start
