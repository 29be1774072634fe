"""Three places where LocalStack 4.14's Step Functions answers differently from AWS, corrected in-process. Each is
a named, idempotent patch; the plugin README lists every Step Functions correction of the sandbox.

- `catch_heartbeat_timeouts`: a task whose heartbeat expires fails, as on AWS, with a TaskTimedOut event whose
  error is `States.Timeout` (what AWS records in the history), but `ErrorEquals: ["States.HeartbeatTimeout"]` in a
  Catch or Retry matches it, as AWS documents ("available inside the Catch and Retry fields"). LocalStack raises
  a plain `States.Timeout`, so a user's Catch on States.HeartbeatTimeout never fires and the execution fails.
  A task that exceeds TimeoutSeconds still matches only `States.Timeout`.
- `answer_closed_tasks_with_task_timed_out`: once a task has closed (its first SendTaskSuccess or SendTaskFailure
  was taken, it timed out, or its execution ended), SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat with its
  token answer `TaskTimedOut`, as AWS does. LocalStack accepts a second SendTaskSuccess or SendTaskFailure while
  the execution runs (and a SendTaskFailure after it ended), so an exactly-once test passes here and fails on AWS.
- `name_lambda_errors_as_aws`: a `Resource: <function ARN>` task whose Lambda call fails (not the function: the
  call) fails with the error AWS names, `Lambda.<error code>` (e.g. `Lambda.ResourceNotFoundException`,
  `Lambda.TooManyRequestsException`) or, when no answer came, `Lambda.SdkClientException`. LocalStack names every
  such failure `Exception`, so the `Retry`/`Catch` on `Lambda.*` errors that AWS's guides advise never match.
"""

from __future__ import annotations

import threading
from typing import Any

from sandbox_localstack.patches import wrap_once

HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
# AWS's answer to SendTask* for a task that no longer waits for one.
TASK_CLOSED_MESSAGE = "Task Timed Out: 'Provided task does not exist anymore'"
_CLOSED = "_sandbox_task_closed"


def catch_heartbeat_timeouts() -> None:
    from localstack.services.stepfunctions.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
    from localstack.services.stepfunctions.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from localstack.services.stepfunctions.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from localstack.services.stepfunctions.asl.component.state.state_execution.state_task.state_task import StateTask
    from localstack.services.stepfunctions.asl.component.state.state_execution.state_task.state_task_activitiy import (
        StateTaskActivity,
    )
    from localstack.services.stepfunctions.asl.eval.callback.callback import HeartbeatTimeoutError

    class HeartbeatTimeoutName(StatesErrorName):
        """States.Timeout, as the history shows it, raised by an expired heartbeat."""

        def __init__(self) -> None:
            super().__init__(typ=StatesErrorNameType.StatesTimeout)

    def tag_heartbeat_timeouts(original):
        def _from_error(self, env, ex):
            event = original(self, env, ex)
            if isinstance(ex, HeartbeatTimeoutError) and getattr(event.error_name, "error_name", None) == (
                StatesErrorNameType.StatesTimeout.to_name()
            ):
                event.error_name = HeartbeatTimeoutName()
            return event

        return _from_error

    def match_heartbeat_timeouts(original):
        def _eval_body(self, env):
            error_name = env.stack[-1] if env.stack else None
            if isinstance(error_name, HeartbeatTimeoutName) and any(
                getattr(name, "error_name", None) == HEARTBEAT_TIMEOUT for name in self.error_names
            ):
                env.stack.pop()
                env.stack.append(True)
                return
            original(self, env)

        return _eval_body

    # Service tasks (callbacks included) reach StateTask's handling of timeouts; activities have their own.
    wrap_once(StateTask, "_from_error", tag_heartbeat_timeouts)
    wrap_once(StateTaskActivity, "_from_error", tag_heartbeat_timeouts)
    wrap_once(ErrorEqualsDecl, "_eval_body", match_heartbeat_timeouts)


def answer_closed_tasks_with_task_timed_out() -> None:
    from localstack.aws.api.stepfunctions import ExecutionStatus, TaskTimedOut
    from localstack.services.stepfunctions.asl.eval.callback.callback import CallbackEndpoint
    from localstack.services.stepfunctions.provider import StepFunctionsProvider

    # One task token is answered at a time, so the first of two racing SendTaskSuccess calls closes the task
    # before the second looks at it.
    answering = threading.Lock()

    def mark_closed(original):
        def interrupt_all(self):
            # LocalStack calls this once the task stopped waiting: outcome taken, timed out or execution over.
            setattr(self, _CLOSED, True)
            return original(self)

        return interrupt_all

    def is_closed(provider: Any, context: Any, task_token: str) -> bool:
        for execution in list(provider.get_store(context).executions.values()):
            worker = getattr(execution, "exec_worker", None)
            endpoint = worker.env.callback_pool_manager.get(task_token) if worker is not None else None
            if endpoint is not None:
                return (
                    getattr(endpoint, _CLOSED, False)
                    or endpoint.get_outcome() is not None
                    or execution.exec_status != ExecutionStatus.RUNNING
                )
        return False

    def refuse_closed_tasks(original):
        def send_task(self, context, task_token, *args, **kwargs):
            with answering:
                if is_closed(self, context, task_token):
                    raise TaskTimedOut(TASK_CLOSED_MESSAGE)
                return original(self, context, task_token, *args, **kwargs)

        return send_task

    wrap_once(CallbackEndpoint, "interrupt_all", mark_closed)
    for operation in ("send_task_success", "send_task_failure", "send_task_heartbeat"):
        wrap_once(StepFunctionsProvider, operation, refuse_closed_tasks)


def lambda_error_name(ex: BaseException) -> str | None:
    """The error AWS gives a failed Lambda call of a task (None: not a failed call)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(ex, ClientError):
        return f"Lambda.{ex.response.get('Error', {}).get('Code') or 'AWSLambdaException'}"
    if isinstance(ex, BotoCoreError):  # no answer: connection closed, timed out
        return "Lambda.SdkClientException"
    return None


def name_lambda_errors_as_aws() -> None:
    from localstack.services.stepfunctions.asl.component.common.error_name.custom_error_name import CustomErrorName
    from localstack.services.stepfunctions.asl.component.state.state_execution.state_task.state_task_lambda import (
        StateTaskLambda,
    )

    def rename(original):
        def _from_error(self, env, ex):
            event = original(self, env, ex)
            name = lambda_error_name(ex)
            details = (event.event_details or {}).get("lambdaFunctionFailedEventDetails")
            if name is not None and details is not None:
                event.error_name = CustomErrorName(name)
                details["error"] = name
            return event

        return _from_error

    wrap_once(StateTaskLambda, "_from_error", rename)


def install() -> None:
    catch_heartbeat_timeouts()
    answer_closed_tasks_with_task_timed_out()
    name_lambda_errors_as_aws()
