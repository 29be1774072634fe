"""`sandbox deploy|destroy --target aws` (`make deploy TARGET=aws`): what the user runs and reads; stack.py does
the work."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from bootstrap import stack
from bootstrap.config import ConfigError, DeployConfig
from sandbox.config import Settings


def clients() -> stack.AwsClients:
    """Clients for the account and region the usual AWS variables name (AWS_PROFILE, AWS_REGION, ...)."""
    import boto3

    return stack.AwsClients(boto3.session.Session())


def _where(c: stack.AwsClients, name: str) -> str:
    account = c.account
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    return f"stack {name} in account {account}, region {c.region}" + (f" (AWS_ENDPOINT_URL={endpoint})"
                                                                       if endpoint else "")


def outputs_path(settings: Settings, config: DeployConfig) -> Path:
    return settings.home / f"{stack.stack_name(config)}.outputs.json"


def deploy(settings: Settings, *, dry_run: bool, say: Callable[[str], None]) -> int:
    config = DeployConfig()
    if not dry_run and not os.environ.get("APPROVER_EMAIL"):
        raise ConfigError("set APPROVER_EMAIL=you@example.org: AWS emails the Approve/Reject links there")
    c = clients()
    name = stack.stack_name(config)
    say(f"{'Planning' if dry_run else 'Deploying'} {_where(c, name)}")
    changes, outputs = stack.deploy(c, config, dry_run=dry_run, report=say)
    for change in changes:
        say(f"  {change}")
    if dry_run:
        say(f"Dry run: {len(changes)} change(s) would be made; nothing was created or uploaded."
            if changes else "Dry run: the stack is up to date.")
        return 0
    assert outputs is not None
    path = outputs_path(settings, config)
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as file:
        json.dump(outputs, file, indent=2, sort_keys=True)
    say("Up to date." if not changes else f"Deployed {len(changes)} change(s).")
    say(f"Approval links: {outputs['api_url']}/approve|reject?token=...")
    say(f"AWS has emailed {outputs['approver']} a subscription confirmation: the approver must click "
        "'Confirm subscription' before any approval email arrives.")
    say(f"Start a request: aws events put-events --entries '[{{\"Source\": \"{outputs['event_source']}\", "
        f"\"DetailType\": \"{outputs['event_detail_type']}\", \"Detail\": \"{{\\\"title\\\": \\\"Deploy v2\\\"}}\"}}]'")
    say(f"Outputs: {path}. Remove it all with `make destroy TARGET=aws`.")
    return 0


def destroy(settings: Settings, *, dry_run: bool, say: Callable[[str], None]) -> int:
    config = DeployConfig()
    c = clients()
    name = stack.stack_name(config)
    say(f"{'Planning the removal of' if dry_run else 'Removing'} {_where(c, name)}")
    changes = stack.destroy(c, config, dry_run=dry_run, report=say)
    if not changes:
        say(f"Nothing to destroy: there is no stack {name}.")
        return 0
    for change in changes:
        say(f"  {'would ' if dry_run else ''}{change}")
    if not dry_run:
        outputs_path(settings, config).unlink(missing_ok=True)
        say(f"Removed stack {name}, its records and its uploaded code.")
    return 0
