"""How many pollers an SQS event source runs (sqs_event_source.py, pure logic) and that installing patches once.
The pollers themselves run against a real LocalStack in tests/integration/test_plugin_sqs_pollers.py."""

from __future__ import annotations

import pytest
from localstack.services.lambda_.event_source_mapping.esm_worker import EsmWorker
from localstack.services.lambda_.event_source_mapping.pollers.sqs_poller import SqsPoller
from sandbox_localstack import environment_cap, sqs_event_source
from sandbox_localstack.patches import is_wrapped
from sandbox_localstack.sqs_event_source import AWS_STARTING_CONCURRENCY, concurrency


def test_without_a_scaling_config_aws_starting_five_within_the_environment_cap():
    assert concurrency({}, environment_limit=0) == AWS_STARTING_CONCURRENCY
    assert concurrency({}, environment_limit=4) == 4
    assert concurrency({}, environment_limit=8) == AWS_STARTING_CONCURRENCY


def test_maximum_concurrency_is_honoured_within_the_environment_cap():
    assert concurrency({"ScalingConfig": {"MaximumConcurrency": 3}}, environment_limit=8) == 3
    assert concurrency({"ScalingConfig": {"MaximumConcurrency": 50}}, environment_limit=4) == 4
    assert concurrency({"ScalingConfig": {"MaximumConcurrency": 50}}, environment_limit=0) == 50
    assert concurrency({"ScalingConfig": {}}, environment_limit=1) == 1


@pytest.mark.parametrize(("environ", "limit"), [
    ({"LAMBDA_RUNTIME_EXECUTOR": "local", "SANDBOX_LAMBDA_MAX_ENVIRONMENTS": "3"}, 3),
    ({"LAMBDA_RUNTIME_EXECUTOR": "local", "SANDBOX_LAMBDA_MAX_ENVIRONMENTS": "0"}, 0),
    ({"LAMBDA_RUNTIME_EXECUTOR": "local", "SANDBOX_LAMBDA_MAX_ENVIRONMENTS": "many"}, 0),
    ({"LAMBDA_RUNTIME_EXECUTOR": "docker", "SANDBOX_LAMBDA_MAX_ENVIRONMENTS": "3"}, 0),
])
def test_the_environment_cap_is_known_before_the_first_environment_starts(environ, limit, monkeypatch):
    monkeypatch.setattr(environment_cap, "_installed", None)
    assert environment_cap.installed_limit(environ) == limit


def test_installing_twice_wraps_once(monkeypatch):
    for owner, name in ((SqsPoller, "__init__"), (SqsPoller, "close"), (EsmWorker, "poller_loop")):
        monkeypatch.setattr(owner, name, getattr(owner, name))
    sqs_event_source.install()
    wrapped = (SqsPoller.__init__, SqsPoller.close, EsmWorker.poller_loop)
    sqs_event_source.install()
    assert (SqsPoller.__init__, SqsPoller.close, EsmWorker.poller_loop) == wrapped
    assert all(is_wrapped(function) for function in wrapped)
