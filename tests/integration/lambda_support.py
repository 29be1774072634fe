"""Lambda helpers shared by the `local` executor's integration tests: create functions from zips with boto3,
invoke them, read their CloudWatch logs. Test modules import the fixtures they use from here."""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid

import pytest
from localstack_support import make_zip

ROLE = "arn:aws:iam::000000000000:role/lambda-role"


@pytest.fixture(scope="module")
def lambda_client(localstack):
    # Generous read timeout: a hanging invoke fails the test instead of blocking the run.
    return localstack.client("lambda", read_timeout=120)


@pytest.fixture(scope="module")
def create_function(lambda_client):
    """create(files, handler=..., runtime=..., **create_function_kwargs) -> name; deleted after the module."""
    created: list[str] = []

    def create(files: dict[str, str], *, handler: str, runtime: str, **kwargs) -> str:
        name = f"fn-{uuid.uuid4().hex[:10]}"
        lambda_client.create_function(
            FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler, Code={"ZipFile": make_zip(files)}, **kwargs
        )
        lambda_client.get_waiter("function_active_v2").wait(
            FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150}
        )
        created.append(name)
        return name

    try:
        yield create
    finally:
        for name in created:
            with contextlib.suppress(Exception):  # best-effort cleanup
                lambda_client.delete_function(FunctionName=name)


def invoke(lambda_client, name: str, event: object) -> tuple[dict, object]:
    response = lambda_client.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return response, json.loads(response["Payload"].read() or b"null")


def log_messages(logs_client, name: str, needle: str, timeout: float = 30.0) -> list[str]:
    """All CloudWatch log messages of the function once one containing `needle` is there."""
    group = f"/aws/lambda/{name}"
    deadline = time.monotonic() + timeout
    messages: list[str] = []
    while time.monotonic() < deadline:
        try:
            events = logs_client.filter_log_events(logGroupName=group)["events"]
        except logs_client.exceptions.ResourceNotFoundException:
            events = []
        messages = [e["message"] for e in events]
        if any(needle in m for m in messages):
            return messages
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} not in the log group {group} after {timeout:.0f} s: {messages}")


STAMPED = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t(?P<request>[^\t]+)\t(?P<level>[A-Z]+)\t(?P<text>.*)$", re.S
)


def console_records(messages: list[str]) -> list[tuple[str, str, str]]:
    """(request id, level, text) of every console line among the log messages."""
    return [(m["request"], m["level"], m["text"].rstrip("\n")) for m in map(STAMPED.match, messages) if m]
