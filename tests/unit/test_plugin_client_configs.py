"""The plugin's reuse of LocalStack's internal clients whose botocore Config sets `retries` (client_configs.py), on
LocalStack's real client factory: Step Functions passes such a Config for every task."""

from __future__ import annotations

import pytest
from botocore.config import Config
from localstack.aws.connect import ClientFactory, InternalClientFactory
from sandbox_localstack import client_configs
from sandbox_localstack.patches import is_wrapped


def step_functions_config() -> Config:
    """What Step Functions' tasks pass (localstack/services/stepfunctions/asl/utils/boto_client.py)."""
    return Config(parameter_validation=False, retries={"total_max_attempts": 1}, connect_timeout=99,
                  read_timeout=99, tcp_keepalive=True)


@pytest.fixture
def patched():
    saved = ClientFactory.__dict__["_get_client"]
    client_configs.install()
    try:
        yield
    finally:
        ClientFactory._get_client = saved


def test_localstack_alone_builds_a_client_for_every_call_whose_config_sets_retries():
    factory = InternalClientFactory()
    first, second, third = (factory.get_client("lambda", region_name="us-east-1", config=step_functions_config())
                            for _ in range(3))
    assert first is not second and second is not third
    assert first.meta.service_model is not second.meta.service_model  # and a request parser for each, kept


def test_calls_with_the_same_settings_share_one_client(patched):
    factory = InternalClientFactory()
    clients = [factory.get_client("lambda", region_name="us-east-1", config=step_functions_config())
               for _ in range(3)]
    assert clients[0] is clients[1] is clients[2]
    assert clients[0].meta.config.read_timeout == 99 and clients[0].meta.config.tcp_keepalive


def test_other_settings_services_or_credentials_get_their_own(patched):
    factory = InternalClientFactory()
    config = step_functions_config()
    base = factory.get_client("lambda", region_name="us-east-1", config=config)
    others = [
        factory.get_client("lambda", region_name="us-east-1", config=Config(read_timeout=5)),
        factory.get_client("sqs", region_name="us-east-1", config=config),
        factory.get_client("lambda", region_name="eu-west-1", config=config),
        factory.get_client("lambda", region_name="us-east-1", aws_access_key_id="ASIAOTHER", config=config),
        factory.get_client("lambda", region_name="us-east-1"),
    ]
    assert all(other is not base for other in others)
    assert others[0].meta.config.read_timeout == 5 and base.meta.config.read_timeout == 99


def test_a_setting_without_a_stable_text_form_is_not_shared(patched):
    class Opaque:
        pass

    factory = InternalClientFactory()
    first = factory.get_client("sqs", region_name="us-east-1", config=Config(user_agent_appid=None,
                                                                            proxies_config={"x": Opaque()}))
    second = factory.get_client("sqs", region_name="us-east-1", config=Config(user_agent_appid=None,
                                                                             proxies_config={"x": Opaque()}))
    assert first is not second


def test_installing_twice_wraps_once(patched):
    wrapped = ClientFactory.__dict__["_get_client"]
    client_configs.install()
    assert ClientFactory.__dict__["_get_client"] is wrapped and is_wrapped(wrapped)
