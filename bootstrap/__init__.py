"""Deploy the approval pipeline into the sandbox: `deploy`, `destroy` and `plan` (a dry run).

Every resource has an `ensure_<thing>` that gets or creates it and changes only what differs, so a second deploy
changes nothing. Policies and the state machine definition are pure functions (policies.py, definition.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import boto3

from bootstrap import api, functions, iam, notifications, policies, queues, rules, statemachine, storage
from bootstrap.arns import Account
from bootstrap.changes import Change, Changes
from bootstrap.config import EVENT_DETAIL_TYPE, EVENT_SOURCE, FUNCTIONS, LAMBDA_RUNTIME, ConfigError, DeployConfig
from bootstrap.definition import state_machine_definition
from sandbox.config import TEST_CREDENTIALS, Settings

__all__ = ["Change", "ConfigError", "DeployConfig", "deploy", "destroy", "plan"]


def _session(settings: Settings) -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=settings.region,
    )


class Clients:
    def __init__(self, settings: Settings):
        session = _session(settings)
        self._make = lambda service: session.client(service, endpoint_url=settings.localstack_url)
        self._cache: dict[str, object] = {}

    def __getattr__(self, service: str):
        if service.startswith("_"):
            raise AttributeError(service)
        if service not in self._cache:
            # `lambda` is a Python keyword, so that client is reached as `awslambda`.
            self._cache[service] = self._make("lambda" if service == "awslambda" else service)
        return self._cache[service]


def _account(clients: Clients, settings: Settings) -> Account:
    return Account(region=settings.region, account_id=clients.sts.get_caller_identity()["Account"])


def _apply(settings: Settings, config: DeployConfig, changes: Changes) -> dict:
    c = Clients(settings)
    acct = _account(c, settings)
    n = config.names
    fn_names = {logical: n.function(logical) for logical in FUNCTIONS}
    fn_arns = {logical: acct.function(name) for logical, name in fn_names.items()}
    log_groups = {logical: acct.log_group(name) for logical, name in fn_names.items()}
    sm_arn = acct.state_machine(n.state_machine)

    bucket_arn = storage.ensure_bucket(c.s3, n.bucket, settings.region, changes, arn=acct.bucket(n.bucket))

    dlq_url = queues.ensure_queue(c.sqs, n.dlq, {"MessageRetentionPeriod": "1209600"}, changes,
                                  placeholder_url=f"{settings.localstack_url}/{acct.account_id}/{n.dlq}")
    queue_timeout = FUNCTIONS["send_verification"][1]
    queue_url = queues.ensure_queue(
        c.sqs, n.queue,
        {
            # AWS's advice for Lambda consumers: at least six times the function timeout.
            "VisibilityTimeout": str(6 * queue_timeout),
            "RedrivePolicy": queues.redrive_policy(acct.queue(n.dlq), config.max_receive_count),
        },
        changes, placeholder_url=f"{settings.localstack_url}/{acct.account_id}/{n.queue}",
    )
    topic_arn = notifications.ensure_topic(c.sns, n.topic, config.approver_email, changes, arn=acct.topic(n.topic))

    lambda_trust = policies.trust("lambda.amazonaws.com")
    role_policies = {
        "generate_task": policies.generate_task_policy(log_groups["generate_task"]),
        "process_request": policies.process_request_policy(log_groups["process_request"]),
        "send_verification": policies.send_verification_policy(
            log_groups["send_verification"], acct.queue(n.queue), topic_arn, bucket_arn),
        "decide": policies.decide_policy(log_groups["decide"], bucket_arn, sm_arn, acct.executions(n.state_machine)),
    }
    role_arns = {
        logical: iam.ensure_role(c.iam, n.role(logical), lambda_trust, policy, changes, arn=acct.role(n.role(logical)))
        for logical, policy in role_policies.items()
    }
    sm_role = iam.ensure_role(
        c.iam, n.role("state_machine"), policies.trust("states.amazonaws.com"),
        policies.state_machine_policy([fn_arns["generate_task"], fn_arns["process_request"]], acct.queue(n.queue)),
        changes, arn=acct.role(n.role("state_machine")),
    )
    events_role = iam.ensure_role(
        c.iam, n.role("events"), policies.trust("events.amazonaws.com"), policies.events_policy(sm_arn),
        changes, arn=acct.role(n.role("events")),
    )
    api_role = iam.ensure_role(
        c.iam, n.role("apigateway"), policies.trust("apigateway.amazonaws.com"),
        policies.apigateway_policy(fn_arns["decide"]), changes, arn=acct.role(n.role("apigateway")),
    )

    api_id = api.ensure_rest_api(c.apigateway, n.api, changes)
    url = api.api_url(settings.public_url, api_id or "(new-api-id)", config.api_stage)

    environments = {
        "generate_task": {"APPROVAL_TIMEOUT_SECONDS": str(config.approval_timeout_seconds)},
        "process_request": {},
        "send_verification": {"RECORDS_BUCKET": n.bucket, "TOPIC_ARN": topic_arn, "API_URL": url},
        "decide": {"RECORDS_BUCKET": n.bucket, "STATE_MACHINE_ARN": sm_arn},
    }
    for logical, (module, timeout) in FUNCTIONS.items():
        spec = functions.FunctionSpec(
            name=fn_names[logical], module=module, role_arn=role_arns[logical], runtime=LAMBDA_RUNTIME,
            timeout=timeout, environment=environments[logical],
        )
        fn_arns[logical] = functions.ensure_function(c.awslambda, spec, changes, arn=fn_arns[logical])

    functions.ensure_queue_trigger(c.awslambda, fn_names["send_verification"], acct.queue(n.queue), changes)

    definition = state_machine_definition(fn_arns["generate_task"], fn_arns["process_request"], queue_url)
    sm_arn = statemachine.ensure_state_machine(c.stepfunctions, n.state_machine, definition, sm_role, changes,
                                               arn=sm_arn)

    rules.ensure_rule(
        c.events, n.manual_rule, description="Approval requests sent with PutEvents",
        pattern=rules.manual_request_pattern(EVENT_SOURCE, EVENT_DETAIL_TYPE),
        target_arn=sm_arn, role_arn=events_role, changes=changes, arn=acct.rule(n.manual_rule),
    )
    rules.ensure_rule(
        c.events, n.schedule_rule, description="Periodic approval request", schedule=config.schedule,
        enabled=config.schedule_enabled, target_arn=sm_arn, role_arn=events_role, changes=changes,
        arn=acct.rule(n.schedule_rule),
    )

    if api_id:
        routes_changed = api.ensure_routes(
            c.apigateway, api_id, acct.lambda_integration_uri(fn_arns["decide"]), api_role, changes)
        api.ensure_stage(c.apigateway, api_id, config.api_stage, routes_changed, changes)
    else:
        changes.apply("create", "api routes", "/approve, /reject (GET, POST)")
        changes.apply("create", "api deployment", config.api_stage)

    return {
        "region": settings.region,
        "endpoint_url": settings.public_url,
        "state_machine_name": n.state_machine,
        "state_machine_arn": sm_arn,
        "queue_url": queue_url,
        "dlq_url": dlq_url,
        "topic_arn": topic_arn,
        "bucket": n.bucket,
        "api_id": api_id,
        "api_stage": config.api_stage,
        "api_url": url,
        "approver": config.approver_email,
        "approval_timeout_seconds": config.approval_timeout_seconds,
        "functions": fn_names,
        "rules": {"manual": n.manual_rule, "schedule": n.schedule_rule},
        "schedule": config.schedule,
        "schedule_enabled": config.schedule_enabled,
        "event_source": EVENT_SOURCE,
        "event_detail_type": EVENT_DETAIL_TYPE,
    }


def _write_outputs(path: Path, outputs: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(outputs, indent=2, sort_keys=True) + "\n"
    if path.exists() and path.read_text() == text:
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def deploy(settings: Settings, config: DeployConfig | None = None, *,
           report: Callable[[Change], None] | None = None) -> dict:
    """Create or update everything; writes and returns the outputs. `report` sees each change as it happens."""
    outputs = _apply(settings, config or DeployConfig(), Changes(dry_run=False, report=report))
    _write_outputs(settings.outputs_path, outputs)
    return outputs


def plan(settings: Settings, config: DeployConfig | None = None) -> list[Change]:
    """What `deploy` would change, without changing anything (an empty list: already up to date)."""
    changes = Changes(dry_run=True)
    _apply(settings, config or DeployConfig(), changes)
    return changes.items


def destroy(settings: Settings, config: DeployConfig | None = None, *, dry_run: bool = False,
            report: Callable[[Change], None] | None = None) -> list[Change]:
    """Delete everything deploy creates (what does not exist is skipped) and the outputs file."""
    config = config or DeployConfig()
    changes = Changes(dry_run=dry_run, report=report)
    c = Clients(settings)
    acct = _account(c, settings)
    n = config.names
    for rule in (n.manual_rule, n.schedule_rule):
        rules.delete_rule(c.events, rule, changes)
    statemachine.delete_state_machine(c.stepfunctions, acct.state_machine(n.state_machine), n.state_machine, changes)
    functions.delete_queue_triggers(c.awslambda, n.function("send_verification"), changes)
    api.delete_rest_api(c.apigateway, n.api, changes)
    for logical in FUNCTIONS:
        functions.delete_function(c.awslambda, n.function(logical), changes)
    notifications.delete_topic(c.sns, acct.topic(n.topic), n.topic, changes)
    for queue in (n.queue, n.dlq):
        queues.delete_queue(c.sqs, queue, changes)
    storage.delete_bucket(c.s3, n.bucket, changes)
    for what in (*FUNCTIONS, "state_machine", "events", "apigateway"):
        iam.delete_role(c.iam, n.role(what), changes)
    if not dry_run:
        settings.outputs_path.unlink(missing_ok=True)
    return changes.items
