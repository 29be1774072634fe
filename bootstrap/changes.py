"""A record of what a deploy or destroy changed (or, in a dry run, would change)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from bootstrap.config import ConfigError


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
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def apply(self, action: str, kind: str, name: str, detail: str = "") -> bool:
        change = Change(action, kind, name, detail)
        with self._lock:  # resources are deployed concurrently
            self.items.append(change)
            if self.report:
                self.report(change)
        return not self.dry_run

    def scoped(self) -> Changes:
        """A collector for one resource that also records into this one (to tell what changed where)."""
        def forward(change: Change) -> None:
            self.apply(change.action, change.kind, change.name, change.detail)

        return Changes(self.dry_run, report=forward)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def is_not_found(error: ClientError) -> bool:
    code = error_code(error)
    return code in {
        "ResourceNotFoundException", "NoSuchEntity", "NoSuchBucket", "NotFoundException", "NotFound", "404",
        "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "StateMachineDoesNotExist", "NotFoundError",
    } or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404


# Every resource the demo creates carries this tag; deploy and destroy leave alone what does not.
MANAGED_TAG = ("managed-by", "callback-sandbox")


class ForeignResource(ConfigError):
    """A resource with the demo's name exists but the demo did not create it."""

    def __init__(self, kind: str, name: str, note: str = ""):
        self.kind, self.name = kind, name
        super().__init__(
            f"{kind} {name} exists and was not created by the demo pipeline (it has no {MANAGED_TAG[0]}="
            f"{MANAGED_TAG[1]} tag), so the demo leaves it alone. Deploy the demo under another prefix "
            f"(NAME_PREFIX=...) or start the sandbox without it (make up PIPELINE=none)."
            + (f" {note}" if note else ""))

    @classmethod
    def with_note(cls, error: ForeignResource, note: str) -> ForeignResource:
        return cls(error.kind, error.name, note)


def tag_dict(tags: object) -> dict[str, str]:
    """Tags as AWS's services return them: a dict, or a list of {Key, Value} / {key, value}."""
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    out = {}
    for tag in tags if isinstance(tags, list) else []:
        out[str(tag.get("Key", tag.get("key")))] = str(tag.get("Value", tag.get("value")))
    return out


def is_managed(tags: object) -> bool:
    return tag_dict(tags).get(MANAGED_TAG[0]) == MANAGED_TAG[1]


def require_managed(tags: object, kind: str, name: str) -> None:
    if not is_managed(tags):
        raise ForeignResource(kind, name)
