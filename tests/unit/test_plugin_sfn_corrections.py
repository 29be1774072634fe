"""The Step Functions corrections are idempotent patches on LocalStack's classes (their effect is tested against
a real LocalStack in tests/integration/test_step_functions_corrections.py)."""

from __future__ import annotations

import pytest
from localstack.services.stepfunctions.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
from localstack.services.stepfunctions.asl.component.state.state_execution.state_task.state_task import StateTask
from localstack.services.stepfunctions.asl.component.state.state_execution.state_task.state_task_activitiy import (
    StateTaskActivity,
)
from localstack.services.stepfunctions.asl.component.state.state_execution.state_task.state_task_lambda import (
    StateTaskLambda,
)
from localstack.services.stepfunctions.asl.eval.callback.callback import CallbackEndpoint
from localstack.services.stepfunctions.provider import StepFunctionsProvider
from sandbox_localstack import patches, sfn_corrections

PATCHED = [
    (StateTask, "_from_error"),
    (StateTaskActivity, "_from_error"),
    (StateTaskLambda, "_from_error"),
    (ErrorEqualsDecl, "_eval_body"),
    (CallbackEndpoint, "interrupt_all"),
    (StepFunctionsProvider, "send_task_success"),
    (StepFunctionsProvider, "send_task_failure"),
    (StepFunctionsProvider, "send_task_heartbeat"),
]


@pytest.fixture
def installed():
    saved = [(owner, name, owner.__dict__[name]) for owner, name in PATCHED]
    sfn_corrections.install()
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def test_install_wraps_each_method_once(installed):
    wrapped = [getattr(owner, name) for owner, name in PATCHED]
    assert all(patches.is_wrapped(function) for function in wrapped)
    sfn_corrections.install()
    assert [getattr(owner, name) for owner, name in PATCHED] == wrapped


def test_wrap_once_keeps_the_name_and_wraps_once():
    class Thing:
        def greet(self) -> str:
            return "hi"

    def loud(original):
        return lambda self: original(self).upper()

    assert patches.wrap_once(Thing, "greet", loud)
    assert not patches.wrap_once(Thing, "greet", loud)
    assert Thing().greet() == "HI" and Thing.greet.__name__ == "greet"


def test_failed_lambda_calls_get_the_names_aws_gives_them():
    from botocore.exceptions import ClientError, ConnectionClosedError

    missing = ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "Function not found"}}, "Invoke")
    assert sfn_corrections.lambda_error_name(missing) == "Lambda.ResourceNotFoundException"
    assert sfn_corrections.lambda_error_name(ClientError({}, "Invoke")) == "Lambda.AWSLambdaException"
    closed = ConnectionClosedError(endpoint_url="http://localhost:4566")
    assert sfn_corrections.lambda_error_name(closed) == "Lambda.SdkClientException"
    assert sfn_corrections.lambda_error_name(ValueError("a bug of ours")) is None
