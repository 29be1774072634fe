"""The plugin's reuse of the role sessions LocalStack's services assume (assumed_role_sessions.py), on LocalStack's
real client factory with STS answered by botocore's Stubber."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.stub import Stubber
from localstack.aws.connect import ClientFactory, InternalClientFactory
from sandbox_localstack import assumed_role_sessions
from sandbox_localstack.patches import is_wrapped

ROLE = "arn:aws:iam::000000000000:role/sandbox-states"


@pytest.fixture
def patched():
    saved = ClientFactory.with_assumed_role
    assumed_role_sessions.install()
    try:
        yield
    finally:
        ClientFactory.with_assumed_role = saved


def sqs_clients(factory: InternalClientFactory, calls: list[dict]) -> list:
    """An SQS client for each call's with_assumed_role arguments; STS answers with new keys every time."""
    sts = factory(region_name="us-east-1").sts._client
    clients = []
    with Stubber(sts) as stub:
        for index in range(len(calls)):
            stub.add_response("assume_role", {"Credentials": {
                "AccessKeyId": f"ASIA{index:016d}", "SecretAccessKey": "s" * 40, "SessionToken": f"token-{index}",
                "Expiration": datetime.now(UTC)}})
        for call in calls:
            clients.append(factory.with_assumed_role(**call).get_client("sqs")._client)
    return clients


def keys(clients: list) -> list[str]:
    return [client._request_signer._credentials.access_key for client in clients]


def test_localstack_alone_assumes_the_role_and_builds_a_client_for_every_call():
    call = {"role_arn": ROLE, "service_principal": "states", "region_name": "us-east-1"}
    first, second = sqs_clients(InternalClientFactory(), [call, call])
    assert first is not second and keys([first, second]) == ["ASIA0000000000000000", "ASIA0000000000000001"]


def test_the_same_role_for_the_same_caller_reuses_its_session_and_client(patched):
    call = {"role_arn": ROLE, "service_principal": "states", "region_name": "us-east-1"}
    clients = sqs_clients(InternalClientFactory(), [call, call, call])
    assert clients[0] is clients[1] is clients[2]


def test_another_role_caller_or_session_name_gets_its_own(patched):
    call = {"role_arn": ROLE, "service_principal": "states", "region_name": "us-east-1"}
    clients = sqs_clients(InternalClientFactory(), [
        call,
        {**call, "role_arn": ROLE + "-other"},
        {**call, "service_principal": "apigateway"},
        {**call, "session_name": "mine"},
    ])
    assert len(set(keys(clients))) == 4


def test_a_named_session_is_reused_under_its_own_name(patched):
    """API Gateway assumes its integration role as "BackplaneAssumeRoleSession" for every request."""
    call = {"role_arn": ROLE, "service_principal": "apigateway", "session_name": "BackplaneAssumeRoleSession",
            "region_name": "us-east-1"}
    sts_calls: list[dict] = []
    factory = InternalClientFactory()
    sts = factory(region_name="us-east-1").sts._client
    sts.meta.events.register("provide-client-params.sts.AssumeRole", lambda params, **_: sts_calls.append(params))
    first, second = sqs_clients(factory, [call, call])
    assert first is second
    assert [c["RoleSessionName"] for c in sts_calls] == ["BackplaneAssumeRoleSession"]


def test_installing_twice_wraps_once(patched):
    wrapped = ClientFactory.with_assumed_role
    assumed_role_sessions.install()
    assert ClientFactory.with_assumed_role is wrapped and is_wrapped(wrapped)


class FakeClock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_session_is_assumed_again_once_it_is_old():
    clock = FakeClock()
    made: list[int] = []
    cache = assumed_role_sessions.BoundedCache(ttl=assumed_role_sessions.SESSION_SECONDS, clock=clock)
    first = cache.get_or_make("role", lambda: made.append(1) or "first")
    clock.now += assumed_role_sessions.SESSION_SECONDS - 1
    assert cache.get_or_make("role", lambda: "second") == first
    clock.now += 1
    assert cache.get_or_make("role", lambda: "second") == "second"


def test_the_cache_keeps_only_the_most_recent_entries():
    cache = assumed_role_sessions.BoundedCache(size=2)
    made: list[str] = []
    for key in ("a", "b", "a", "c", "a", "b"):
        cache.get_or_make(key, lambda key=key: made.append(key) or key)
    assert made == ["a", "b", "c", "b"] and len(cache) == 2
