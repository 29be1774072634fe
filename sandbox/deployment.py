"""Whether the pipeline is deployed in the LocalStack that runs now.

`outputs.json` outlives the LocalStack it describes (a stop, a crash, a rebuild), so it is never the answer
alone: `inspect` asks LocalStack whether the state machine and the API it names exist. Docker mode's deployer
also leaves `deployed.json`, naming itself (its container) and the LocalStack instance (`/_localstack/info`'s
session id) it deployed into; `make up` and the deployer's healthcheck compare both with what runs now, so an
earlier run's files never pass for this one's.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from sandbox.config import Settings
from sandbox.services import url_ready

MARKER = "deployed.json"


def localstack_instance(settings: Settings) -> str | None:
    """The session id of the LocalStack answering now (a new one on every start), or None."""
    try:
        with urllib.request.urlopen(f"{settings.localstack_url}/_localstack/info", timeout=3) as answer:  # noqa: S310
            return str(json.loads(answer.read()).get("session_id") or "") or None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def record_deployed(settings: Settings, instance: str, deployer: str) -> None:
    path = settings.home / MARKER
    tmp = path.with_name(f".{MARKER}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"localstack_instance": instance, "deployer": deployer,
                   "deployed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, handle)
    os.replace(tmp, path)


def _marker(settings: Settings) -> dict:
    try:
        marker = json.loads((settings.home / MARKER).read_text())
    except (OSError, ValueError):
        return {}
    return marker if isinstance(marker, dict) else {}


def deployed_into_running(settings: Settings, deployer: str) -> bool:
    """`deployer` (a container's hostname: its short id) deployed into the LocalStack running now."""
    marker = _marker(settings)
    if not marker.get("localstack_instance") or marker.get("deployer") != deployer:
        return False
    return marker["localstack_instance"] == localstack_instance(settings)


@dataclass
class Pipeline:
    """What LocalStack says about the deployment that outputs.json describes."""

    localstack_up: bool
    outputs: dict = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def deployed(self) -> bool:
        return self.localstack_up and bool(self.outputs) and not self.missing


def inspect(settings: Settings) -> Pipeline:
    if not url_ready(f"{settings.localstack_url}/_localstack/health", timeout=2):
        return Pipeline(localstack_up=False)
    try:
        outputs = json.loads(settings.outputs_path.read_text())
    except (OSError, ValueError):
        return Pipeline(localstack_up=True)
    from botocore.exceptions import BotoCoreError, ClientError

    from sandbox.workflow import client

    missing = []
    checks = (
        ("state machine", lambda: client(settings, "stepfunctions").describe_state_machine(
            stateMachineArn=outputs["state_machine_arn"])),
        ("approval API", lambda: client(settings, "apigateway").get_rest_api(restApiId=outputs["api_id"])),
    )
    for what, check in checks:
        try:
            check()
        except (ClientError, BotoCoreError, KeyError, TypeError):
            missing.append(what)
    return Pipeline(localstack_up=True, outputs=outputs, missing=missing)
