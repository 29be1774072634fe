"""E2E_PIPELINE=template: the end-to-end tests against the CloudFormation template (`make template`), deployed into
the sandbox's LocalStack through CloudFormation under another NamePrefix, beside the default deployment.

The template's approval links are API Gateway's own `https://{api}.execute-api.{region}.{suffix}/{stage}/...` (in
LocalStack: `{api}.execute-api.localhost:{port}`), which need DNS; the tests reach the same API through the
gateway's path-style route, as the mail catcher's buttons do.
"""

from __future__ import annotations

import json
import os
import re

import boto3

from bootstrap import stack
from bootstrap.config import DeployConfig
from sandbox.config import TEST_CREDENTIALS, Settings

PREFIX = os.environ.get("E2E_TEMPLATE_PREFIX", "cfn-")
EXECUTE_API = re.compile(r"https?://(?P<api>[a-z0-9]+)\.execute-api\.[^/]+/(?P<rest>.*)")


def deploy(settings: Settings) -> Settings:
    """Deploy (or update) the template's stack; returns settings that drive it (its own outputs file)."""
    session = boto3.session.Session(
        aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"], region_name=settings.region)
    clients = stack.AwsClients(session, endpoint_url=settings.localstack_url)
    config = DeployConfig(name_prefix=PREFIX, event_source=f"sandbox.approvals.{PREFIX.rstrip('-')}")
    stack.POLL_SECONDS = 0.25  # LocalStack answers in moments; AWS is polled every 2 s
    _changes, outputs = stack.deploy(clients, config, report=lambda line: None)
    assert outputs is not None
    path = settings.home / f"{stack.stack_name(config)}.outputs.json"
    path.write_text(json.dumps(outputs, indent=2, sort_keys=True) + "\n")
    return settings.with_(outputs_file=path)


def reachable(url: str, localstack_url: str) -> str:
    """An execute-api host URL as the gateway's path-style URL (other URLs unchanged)."""
    match = EXECUTE_API.fullmatch(url)
    if not match:
        return url
    return f"{localstack_url.rstrip('/')}/_aws/execute-api/{match['api']}/{match['rest']}"
