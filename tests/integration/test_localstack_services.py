"""LocalStack as the sandbox starts it (sandbox/services.py): the demo's services are loaded before it answers,
and a service the demo does not use still works for a user's own stack (loaded on its first call)."""

from __future__ import annotations

import json
import urllib.request
import uuid

from sandbox.config import AWS_SERVICES


def test_the_demos_services_are_loaded_at_start(localstack):
    with urllib.request.urlopen(f"{localstack.endpoint_url}/_localstack/health", timeout=10) as answer:
        states = json.load(answer)["services"]
    assert {service: states.get(service) for service in AWS_SERVICES} == dict.fromkeys(AWS_SERVICES, "running")


def test_a_service_the_demo_does_not_use_still_answers(localstack):
    ssm = localstack.client("ssm")
    name = f"/sandbox-test/{uuid.uuid4().hex[:8]}"
    ssm.put_parameter(Name=name, Value="kept", Type="String")
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] == "kept"
