"""What the pipeline is deployed with: names and the settings users may change through environment variables.

| Variable                         | Default                 | Meaning                                             |
|----------------------------------|-------------------------|-----------------------------------------------------|
| APPROVER_EMAIL                   | approver@example.com    | who gets the approval emails (SNS email subscription)|
| APPROVAL_TIMEOUT_SECONDS         | 3600                    | default time to decide; a request may set its own   |
|                                  |                         | `approvalTimeoutSeconds`                            |
| APPROVAL_SCHEDULE                | rate(10 minutes)        | schedule of the periodic approval request           |
| APPROVAL_SCHEDULE_ENABLED        | false                   | whether that schedule runs (off: a sandbox that     |
|                                  |                         | emails every 10 minutes buries the requests you send)|
| APPROVAL_API_STAGE               | sandbox                 | API Gateway stage of the Approve/Reject endpoint    |
| APPROVAL_MAX_RECEIVE_COUNT       | 3                       | deliveries of a verification message before the DLQ |
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

STATE_MACHINE_NAME = "WaitForCallback"
EVENT_SOURCE = "sandbox.approvals"
EVENT_DETAIL_TYPE = "ApprovalRequested"
LAMBDA_RUNTIME = "python3.13"

# One entry per Lambda: logical name -> (module in lambdas/, timeout seconds).
FUNCTIONS = {
    "generate_task": ("generate_task", 10),
    "send_verification": ("send_verification", 30),
    "decide": ("decide", 15),
    "process_request": ("process_request", 30),
}


class ConfigError(ValueError):
    """A setting has a value the pipeline cannot use; the message names the variable."""


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on", "enabled"):
        return True
    if raw in ("0", "false", "no", "off", "disabled"):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _env_int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}, not {raw!r}")
    return int(raw)


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_SCHEDULE = re.compile(r"(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\))")


@dataclass(frozen=True)
class Names:
    """Every resource name, in one place, so deploy and destroy agree."""

    state_machine: str = STATE_MACHINE_NAME
    queue: str = "approval-requests"
    dlq: str = "approval-requests-dlq"
    topic: str = "approval-notifications"
    bucket: str = "callback-sandbox-approvals"
    api: str = "approval-api"
    schedule_rule: str = "approval-schedule"
    manual_rule: str = "approval-manual-request"
    function_prefix: str = "approval-"
    role_prefix: str = "callback-sandbox-"

    def function(self, logical: str) -> str:
        return self.function_prefix + logical.replace("_", "-")

    def role(self, what: str) -> str:
        return self.role_prefix + what.replace("_", "-") + "-role"


@dataclass(frozen=True)
class DeployConfig:
    approver_email: str = field(default_factory=lambda: os.environ.get("APPROVER_EMAIL", "approver@example.com"))
    approval_timeout_seconds: int = field(
        default_factory=lambda: _env_int("APPROVAL_TIMEOUT_SECONDS", 3600, 1, 365 * 24 * 3600)
    )
    schedule: str = field(default_factory=lambda: os.environ.get("APPROVAL_SCHEDULE", "rate(10 minutes)").strip())
    schedule_enabled: bool = field(default_factory=lambda: _env_bool("APPROVAL_SCHEDULE_ENABLED", False))
    api_stage: str = field(default_factory=lambda: os.environ.get("APPROVAL_API_STAGE", "sandbox").strip())
    max_receive_count: int = field(default_factory=lambda: _env_int("APPROVAL_MAX_RECEIVE_COUNT", 3, 1, 1000))
    names: Names = field(default_factory=Names)

    def __post_init__(self) -> None:
        if not _EMAIL.fullmatch(self.approver_email):
            raise ConfigError(f"APPROVER_EMAIL must be an email address, not {self.approver_email!r}")
        if not _SCHEDULE.fullmatch(self.schedule):
            raise ConfigError(
                f"APPROVAL_SCHEDULE must be rate(N minutes|hours|days) or cron(...), not {self.schedule!r}"
            )
        if not re.fullmatch(r"[A-Za-z0-9_]{1,128}", self.api_stage):
            raise ConfigError(f"APPROVAL_API_STAGE may hold letters, digits and _, not {self.api_stage!r}")
