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
| APPROVAL_MAX_RECEIVE_COUNT       | 5                       | deliveries of a verification message before the DLQ |
| APPROVAL_EVENT_SOURCE            | sandbox.approvals       | `source` of the events the manual-request rule takes |
| NAME_PREFIX                      | sandbox-                | put before every resource name, so a stack of your  |
|                                  |                         | own named like the demo (`WaitForCallback`) fits    |
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

STATE_MACHINE_NAME = "WaitForCallback"
EVENT_SOURCE = "sandbox.approvals"
EVENT_DETAIL_TYPE = "ApprovalRequested"
LAMBDA_RUNTIME = "python3.13"

# One entry per Lambda: logical name -> (module in lambdas/, timeout seconds). send_verification's is short
# because its queue hides a message for six times as long: a crashed run is retried 30 s later, not minutes.
FUNCTIONS = {
    "generate_task": ("generate_task", 10),
    "send_verification": ("send_verification", 5),
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
    """Every resource name, in one place. `prefix` is a value or the template's `${NamePrefix}` placeholder."""

    prefix: str = "${NamePrefix}"

    @property
    def state_machine(self) -> str:
        return f"{self.prefix}{STATE_MACHINE_NAME}"

    def __getattr__(self, what: str) -> str:
        if what in _NAMES:
            return self.prefix + _NAMES[what]
        raise AttributeError(what)

    def function(self, logical: str) -> str:
        return f"{self.prefix}approval-{logical.replace('_', '-')}"

    def role(self, what: str) -> str:
        return f"{self.prefix}approval-{what.replace('_', '-')}-role"


_NAMES = {
    "queue": "approval-requests",
    "dlq": "approval-requests-dlq",
    "topic": "approval-notifications",
    # Bucket names are global on AWS: the account and region make this one unique.
    "bucket": "approvals-${AWS::AccountId}-${AWS::Region}",
    "api": "approval-api",
    "schedule_rule": "approval-schedule",
    "manual_rule": "approval-manual-request",
}
DEFAULT_PREFIX = "sandbox-"
# Starts with a letter (stack names must), lower case (bucket names must), short enough for every name's limit.
PREFIX_PATTERN = r"([a-z][a-z0-9-]{0,19})?"


@dataclass(frozen=True)
class DeployConfig:
    approver_email: str = field(default_factory=lambda: os.environ.get("APPROVER_EMAIL", "approver@example.com"))
    approval_timeout_seconds: int = field(
        default_factory=lambda: _env_int("APPROVAL_TIMEOUT_SECONDS", 3600, 1, 365 * 24 * 3600)
    )
    schedule: str = field(default_factory=lambda: os.environ.get("APPROVAL_SCHEDULE", "rate(10 minutes)").strip())
    schedule_enabled: bool = field(default_factory=lambda: _env_bool("APPROVAL_SCHEDULE_ENABLED", False))
    api_stage: str = field(default_factory=lambda: os.environ.get("APPROVAL_API_STAGE", "sandbox").strip())
    max_receive_count: int = field(default_factory=lambda: _env_int("APPROVAL_MAX_RECEIVE_COUNT", 5, 1, 1000))
    event_source: str = field(
        default_factory=lambda: os.environ.get("APPROVAL_EVENT_SOURCE", EVENT_SOURCE).strip())
    name_prefix: str = field(default_factory=lambda: os.environ.get("NAME_PREFIX", DEFAULT_PREFIX).strip())

    @property
    def names(self) -> Names:
        return Names(self.name_prefix)

    def __post_init__(self) -> None:
        if not _EMAIL.fullmatch(self.approver_email):
            raise ConfigError(f"APPROVER_EMAIL must be an email address, not {self.approver_email!r}")
        if not _SCHEDULE.fullmatch(self.schedule):
            raise ConfigError(
                f"APPROVAL_SCHEDULE must be rate(N minutes|hours|days) or cron(...), not {self.schedule!r}"
            )
        if not re.fullmatch(PREFIX_PATTERN, self.name_prefix):
            raise ConfigError(f"NAME_PREFIX must be empty or start with a lower-case letter, then up to 19 of "
                              f"a-z, 0-9 and -, not {self.name_prefix!r}")
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,256}", self.event_source):
            raise ConfigError(f"APPROVAL_EVENT_SOURCE may hold letters, digits, '.', '_' and '-', "
                              f"not {self.event_source!r}")
        if not re.fullmatch(r"[A-Za-z0-9_]{1,128}", self.api_stage):
            raise ConfigError(f"APPROVAL_API_STAGE may hold letters, digits and _, not {self.api_stage!r}")
