"""A record of what a deploy or destroy changed (or, in a dry run, would change)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from botocore.exceptions import ClientError


@dataclass(frozen=True)
class Change:
    action: str  # create, update, delete
    kind: str  # queue, role, function, ...
    name: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.action:<6} {self.kind:<14} {self.name}" + (f"  ({self.detail})" if self.detail else "")


@dataclass
class Changes:
    """Collects changes; in a dry run `apply` says no, so the ensure functions only look."""

    dry_run: bool = False
    report: Callable[[Change], None] | None = None
    items: list[Change] = field(default_factory=list)

    def apply(self, action: str, kind: str, name: str, detail: str = "") -> bool:
        change = Change(action, kind, name, detail)
        self.items.append(change)
        if self.report:
            self.report(change)
        return not self.dry_run


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def is_not_found(error: ClientError) -> bool:
    code = error_code(error)
    return code in {
        "ResourceNotFoundException", "NoSuchEntity", "NoSuchBucket", "NotFoundException", "NotFound", "404",
        "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "StateMachineDoesNotExist", "NotFoundError",
    } or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404
