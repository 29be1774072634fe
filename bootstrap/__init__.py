"""Deploy the approval pipeline into the sandbox's LocalStack: `deploy`, `destroy` and `plan` (a dry run).

The resources are declared once in pipeline.py; engine.py creates them with boto3 (every resource has an `ensure`
that gets or creates it and changes only what differs, so a second deploy changes nothing), and template.py
renders the same declarations as the CloudFormation template for AWS (`make template`, `make deploy TARGET=aws`).

A deploy that finds the pipeline exactly as this code would leave it (same declarations, parameters and Lambda
code: one fingerprint, kept as a tag on the state machine) makes two calls and stops.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import boto3

from bootstrap import api, engine, functions, iam, logs, notifications, queues, rules, statemachine, storage
from bootstrap.arns import Account
from bootstrap.changes import MANAGED_TAG, Change, Changes, ForeignResource
from bootstrap.config import ConfigError, DeployConfig
from bootstrap.pipeline import DERIVED, OUTPUTS, nest, parameter_values, resources
from bootstrap.symbols import expand, resolve
from sandbox.config import AWS_SERVICES, TEST_CREDENTIALS, Settings

__all__ = ["Change", "ConfigError", "DeployConfig", "ForeignResource", "deploy", "destroy", "plan"]

HANDLERS: dict[str, engine.Handler] = {
    "AWS::S3::Bucket": storage.HANDLER,
    "AWS::SQS::Queue": queues.HANDLER,
    "AWS::SNS::Topic": notifications.TOPIC_HANDLER,
    "AWS::SNS::Subscription": notifications.SUBSCRIPTION_HANDLER,
    "AWS::IAM::Role": iam.HANDLER,
    "AWS::Logs::LogGroup": logs.HANDLER,
    "AWS::Lambda::Function": functions.FUNCTION_HANDLER,
    "AWS::Lambda::EventSourceMapping": functions.TRIGGER_HANDLER,
    "AWS::StepFunctions::StateMachine": statemachine.HANDLER,
    "AWS::Events::Rule": rules.HANDLER,
    "AWS::ApiGateway::RestApi": api.API_HANDLER,
    "AWS::ApiGateway::Resource": api.ROUTE_HANDLER,
    "AWS::ApiGateway::Method": api.METHOD_HANDLER,
    "AWS::ApiGateway::Deployment": api.DEPLOYMENT_HANDLER,
}
FINGERPRINT_TAG = "callback-sandbox-fingerprint"
# A LocalStack that did not load its services as it started (the sandbox's own does: EAGER_SERVICE_LOADING)
# loads each on its first call. Concurrent first calls can deadlock its lazy imports (seen: "deadlock detected by
# _ModuleLock('moto.apigateway.models')", and the service stayed broken), so before the concurrent deploy every
# cold service gets one cheap call, one service at a time.
WARM_UP = {
    "s3": ("s3", "list_buckets", {}), "sqs": ("sqs", "list_queues", {"MaxResults": 1}),
    "sns": ("sns", "list_topics", {}), "iam": ("iam", "list_roles", {"MaxItems": 1}),
    "logs": ("logs", "describe_log_groups", {"limit": 1}), "lambda": ("awslambda", "list_functions", {"MaxItems": 1}),
    "stepfunctions": ("stepfunctions", "list_state_machines", {"maxResults": 1}),
    "events": ("events", "list_rules", {"Limit": 1}), "apigateway": ("apigateway", "get_rest_apis", {"limit": 1}),
}


# Called with each new client (e.g. bootstrap.timings); the engine itself needs none.
WATCHERS: list[Callable[[Any], None]] = []


class Clients:
    """One boto3 client per service, made up front: clients are thread-safe, making them is not."""

    sts: Any
    stepfunctions: Any

    def __init__(self, settings: Settings):
        session = boto3.session.Session(
            aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=settings.region,
        )
        for service in AWS_SERVICES:
            # `lambda` is a Python keyword, so that client is reached as `awslambda`.
            name = "awslambda" if service == "lambda" else service
            client = session.client(service, endpoint_url=settings.localstack_url)
            for watch in WATCHERS:
                watch(client)
            setattr(self, name, client)


def _values(settings: Settings, config: DeployConfig, account: Account) -> dict[str, object]:
    return {
        **parameter_values(config),
        "AWS::Region": account.region, "AWS::AccountId": account.account_id, "AWS::Partition": account.partition,
        "AWS::URLSuffix": "amazonaws.com",
    }


def _declarations(settings: Settings, config: DeployConfig, account: Account):
    # The approval links use LocalStack's path-style URL: it needs no DNS and so works offline. The API's id is
    # fixed in LocalStack (api.custom_id), so the function that writes the links need not wait for the API.
    api_id = api.custom_id(account.account_id, account.region, config.names.api)
    local = {"ApprovalApiUrl": api.api_url(settings.public_url, api_id, "${ApiStageName}")}
    assert local.keys() == DERIVED.keys()
    return [replace(r, properties=cast(dict, expand(r.properties, local))) for r in resources()], local


def _fingerprint(settings: Settings, config: DeployConfig, account: Account) -> str:
    declared, _ = _declarations(settings, config, account)
    code = sorted(functions.code_sha256(functions.zip_of(r.properties["Code"]))
                  for r in declared if "Code" in r.properties)
    # And this deployer's own code: a sandbox upgrade that deploys differently looks at everything once.
    code += [hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(Path(__file__).parent.glob("*.py"))]
    text = json.dumps([[r.logical_id, r.type, r.properties, r.depends_on] for r in declared]
                      + [_values(settings, config, account), code], default=repr, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _context(settings: Settings, changes: Changes, clients: Clients | None = None,
             empty: bool = False) -> engine.Context:
    clients = clients or Clients(settings)
    identity = clients.sts.get_caller_identity()
    account = Account(region=settings.region, account_id=identity["Account"])
    return engine.Context(clients, changes, account, settings.localstack_url, dict([MANAGED_TAG]), empty)


def _cold_services(settings: Settings) -> set[str]:
    """The services LocalStack has not loaded yet (its health page says "available" until the first call)."""
    try:
        with urllib.request.urlopen(f"{settings.localstack_url}/_localstack/health", timeout=5) as answer:
            states = json.load(answer).get("services", {})
    except (OSError, ValueError):
        return set(WARM_UP)  # cannot tell: treat every service as cold
    return {name for name in WARM_UP if states.get(name) != "running"}


def _warm_up(clients: Clients, services: set[str]) -> None:
    for service in sorted(services):
        attribute, method, kwargs = WARM_UP[service]
        with contextlib.suppress(Exception):  # only loads the service; the deploy reports real errors
            getattr(getattr(clients, attribute), method)(**kwargs)


def _up_to_date(ctx: engine.Context, settings: Settings, fingerprint: str) -> dict | None:
    """The outputs of the last deploy when the pipeline is still exactly what it made (else None)."""
    try:
        outputs = json.loads(settings.outputs_path.read_text())
    except (OSError, ValueError):
        return None
    if outputs.get("fingerprint") != fingerprint:
        return None
    sfn = ctx.clients.stepfunctions
    try:
        tags = statemachine.tags(sfn, outputs["state_machine_arn"])
    except Exception:  # noqa: BLE001 - gone (LocalStack restarted) or unreadable: deploy in full
        return None
    return outputs if {"key": FINGERPRINT_TAG, "value": fingerprint} in tags else None


def _apply(settings: Settings, config: DeployConfig, changes: Changes, clients: Clients | None = None,
           empty: bool = False) -> dict:
    ctx = _context(settings, changes, clients, empty)
    values = _values(settings, config, ctx.account)
    fingerprint = _fingerprint(settings, config, ctx.account)
    # The LocalStack `make up` just started has loaded every service as it started, and holds nothing of ours.
    cold = set() if empty else _cold_services(settings)
    # A LocalStack that has not loaded Step Functions holds no state machine of ours: no need to look.
    fast = None if empty or "stepfunctions" in cold else _up_to_date(ctx, settings, fingerprint)
    if fast is not None:
        return fast
    _warm_up(ctx.clients, cold)
    declared, local = _declarations(settings, config, ctx.account)
    try:
        results = engine.deploy(declared, HANDLERS, values, ctx)
    except ForeignResource as error:
        made = sum(1 for c in changes.items if c.action == "create")
        if made and not changes.dry_run:
            raise ForeignResource.with_note(error, f"This deploy had created {made} resource(s) before it stopped; "
                                                   f"`make destroy` removes them, and only them.") from None
        raise
    if not changes.dry_run:
        functions.wait_ready(ctx.clients.awslambda, [str(results[r.logical_id].ref) for r in declared
                                                     if r.type == "AWS::Lambda::Function"])

    def lookup(name: str) -> object:
        if name in values:
            return values[name]
        logical, _, attribute = name.partition(".")
        return results[logical].attributes[attribute] if attribute else results[logical].ref

    flat = {key: resolve(expand(value, local), lookup) for key, (_, value) in OUTPUTS.items()}
    outputs = {**nest(flat), "region": settings.region, "endpoint_url": settings.public_url,
               "name_prefix": config.name_prefix, "target": "localstack", "fingerprint": fingerprint}
    if not changes.dry_run:
        ctx.clients.stepfunctions.tag_resource(
            resourceArn=outputs["state_machine_arn"], tags=[{"key": FINGERPRINT_TAG, "value": fingerprint}])
    return outputs


def _write_outputs(path: Path, outputs: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(outputs, indent=2, sort_keys=True) + "\n"
    if path.exists() and path.read_text() == text:
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def deploy(settings: Settings, config: DeployConfig | None = None, *,
           report: Callable[[Change], None] | None = None, clients: Clients | None = None,
           empty: bool = False) -> dict:
    """Create or update everything; writes and returns the outputs. `report` sees each change as it happens.
    `clients` may be made beforehand (making them is ~0.3 s of CPU; `make up` does it while LocalStack starts).
    `empty`: the caller just started this LocalStack, which keeps no state, so nothing exists yet: every resource
    is created without being looked up first (about a third of the calls). Only for a LocalStack known empty: a
    resource that exists makes its create fail."""
    outputs = _apply(settings, config or DeployConfig(), Changes(dry_run=False, report=report), clients, empty)
    _write_outputs(settings.outputs_path, outputs)
    return outputs


def plan(settings: Settings, config: DeployConfig | None = None) -> list[Change]:
    """What `deploy` would change, without changing anything (an empty list: already up to date)."""
    changes = Changes(dry_run=True)
    _apply(settings, config or DeployConfig(), changes)
    return changes.items


def destroy(settings: Settings, config: DeployConfig | None = None, *, dry_run: bool = False,
            report: Callable[[Change], None] | None = None) -> list[Change]:
    """Delete everything deploy creates (and only that: resources without the demo's tag are left alone)."""
    config = config or DeployConfig()
    changes = Changes(dry_run=dry_run, report=report)
    ctx = _context(settings, changes)
    declared, _ = _declarations(settings, config, ctx.account)
    engine.destroy(declared, HANDLERS, _values(settings, config, ctx.account), ctx)
    if not dry_run:
        settings.outputs_path.unlink(missing_ok=True)
    return changes.items

