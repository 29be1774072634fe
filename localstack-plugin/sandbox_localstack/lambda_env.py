"""Pure helpers of the local Lambda executor: which runtimes it runs, the environment a function process gets,
and the AWS-shaped texts (error payloads, START/END/REPORT log lines). No LocalStack imports, no I/O."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from datetime import UTC, datetime

# The sandbox runs these on its own interpreter (the venv's Python, which has boto3 like AWS's runtime does).
PYTHON_RUNTIMES = frozenset({"python3.9", "python3.10", "python3.11", "python3.12", "python3.13"})
# And these on the installed Node.js, with the SDK AWS bundles in each (see node_runtime.py).
NODE_RUNTIMES = frozenset({"nodejs12.x", "nodejs14.x", "nodejs16.x", "nodejs18.x", "nodejs20.x", "nodejs22.x"})
SUPPORTED_RUNTIMES = PYTHON_RUNTIMES | NODE_RUNTIMES

# Variables LocalStack builds for its Go init inside a container. They describe LocalStack's internals,
# not anything a function on AWS would see, so the function process does not get them.
LOCALSTACK_INTERNAL_VARIABLES = frozenset(
    {
        "LOCALSTACK_RUNTIME_ID",
        "LOCALSTACK_RUNTIME_ENDPOINT",
        "LOCALSTACK_FUNCTION_ACCOUNT_ID",
        "LOCALSTACK_USER",
        "LOCALSTACK_INIT_LOG_LEVEL",
        "LOCALSTACK_POST_INVOKE_WAIT_MS",
        "LOCALSTACK_MAX_PAYLOAD_SIZE",
        "LOCALSTACK_CHMOD_PATHS",
        "LOCALSTACK_HOT_RELOADING_PATHS",
    }
)

# The environment variable through which the executor hands the child its end of the "lifeline" pipe.
LIFELINE_VARIABLE = "_SANDBOX_LIFELINE_FD"


def unsupported_runtime_message(runtime: str | None) -> str | None:
    """Why this executor cannot run a function, or None when it can."""
    if runtime in SUPPORTED_RUNTIMES:
        return None
    what = f"runtime {runtime}" if runtime else "container image functions"
    return (
        f"Callback Sandbox's local Lambda executor cannot run {what}. It runs python3.9 to python3.13 on the "
        "sandbox's own Python and nodejs12.x to nodejs22.x on the installed Node.js, in local and docker mode "
        "alike (both use this executor). Port the function to one of those runtimes, or use LocalStack's own "
        "Docker executor (LAMBDA_RUNTIME_EXECUTOR=docker, see docker/compose.docker-executor.yml), which needs "
        "a Docker socket and AWS's runtime images from a registry."
    )


def build_function_env(
    localstack_env: Mapping[str, object],
    *,
    runtime: str,
    task_root: str,
    runtime_dir: str,
    runtime_api: str,
    tmp_dir: str,
    bin_dir: str,
    runtime_variables: Mapping[str, str] | None = None,
    lifeline_fd: int | None = None,
) -> dict[str, str]:
    """The complete environment of a function process.

    Built from scratch (never from the LocalStack process's own environment): defaults a Lambda sandbox has,
    with the runtime's own (NODE_PATH; a function may override them, as on AWS), then what LocalStack computed
    for the function (AWS variables, credentials, AWS_ENDPOINT_URL, the user's variables; ints become strings),
    then the variables AWS reserves, pointing at real paths on this machine.
    """
    env: dict[str, str] = {
        "PATH": os.pathsep.join([bin_dir, "/usr/local/bin", "/usr/bin", "/bin"]),
        "LANG": "C.UTF-8",
        "TMPDIR": tmp_dir,
        **(runtime_variables or {}),
    }
    for key, value in localstack_env.items():
        if value is None or key in LOCALSTACK_INTERNAL_VARIABLES:
            continue
        env[key] = str(value)
    env.update(
        {
            "LAMBDA_TASK_ROOT": task_root,
            "LAMBDA_RUNTIME_DIR": runtime_dir,
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            # LocalStack puts its Go init's value here; on AWS the runtime names itself.
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
        }
    )
    if lifeline_fd is not None:
        env[LIFELINE_VARIABLE] = str(lifeline_fd)
    return env


def timeout_message(timeout_s: float) -> str:
    return f"Task timed out after {timeout_s:.2f} seconds"


def timeout_error(request_id: str, timeout_s: float) -> bytes:
    return _json(
        {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {request_id} Error: {timeout_message(timeout_s)}",
        }
    )


def exit_error(request_id: str, returncode: int | None) -> bytes:
    """AWS's payload when the runtime process ends without answering an invocation."""
    if returncode is None or returncode == 0:
        reason = "Runtime exited without providing a reason"
    elif returncode < 0:
        reason = f"Runtime exited with error: signal: {_signal_name(-returncode)}"
    else:
        reason = f"Runtime exited with error: exit status {returncode}"
    return _json({"errorType": "Runtime.ExitError", "errorMessage": f"RequestId: {request_id} Error: {reason}"})


def unsupported_runtime_error(request_id: str, message: str) -> bytes:
    return _json({"errorType": "Runtime.Unsupported", "errorMessage": f"RequestId: {request_id} Error: {message}"})


def normalize_runtime_error(body: bytes, error_type: str | None) -> bytes:
    """The runtime's error body as the invocation payload; a non-JSON body is wrapped in AWS's error shape."""
    try:
        json.loads(body)
        return body
    except ValueError:
        return _json({"errorType": error_type or "Runtime.Unknown", "errorMessage": body.decode(errors="replace")})


def error_type_of(payload: bytes) -> str | None:
    try:
        value = json.loads(payload)
    except ValueError:
        return None
    return value.get("errorType") if isinstance(value, dict) else None


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}\n"


def timeout_log_line(request_id: str, timeout_s: float, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return f"{stamp} {request_id} {timeout_message(timeout_s)}\n"


def end_lines(
    request_id: str,
    *,
    duration_ms: float,
    memory_mb: int,
    max_memory_mb: int,
    init_ms: float | None = None,
    status: str | None = None,
    error_type: str | None = None,
) -> str:
    """END and REPORT lines as AWS writes them (tab separated, trailing tab)."""
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {max(1, math.ceil(duration_ms))} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_memory_mb} MB",
    ]
    if init_ms is not None:
        fields.append(f"Init Duration: {init_ms:.2f} ms")
    if status:
        fields.append(f"Status: {status}")
    if error_type:
        fields.append(f"Error Type: {error_type}")
    return f"END RequestId: {request_id}\n" + "\t".join(fields) + "\t\n"


def init_report_line(init_ms: float, error_type: str | None) -> str:
    status = f"Status: error\tError Type: {error_type}" if error_type else "Status: error"
    return f"INIT_REPORT Init Duration: {init_ms:.2f} ms\tPhase: init\t{status}\n"


def _signal_name(number: int) -> str:
    import signal

    try:
        return {signal.SIGKILL: "killed", signal.SIGTERM: "terminated", signal.SIGSEGV: "segmentation fault"}.get(
            signal.Signals(number), signal.Signals(number).name
        )
    except ValueError:
        return str(number)


def _json(value: object) -> bytes:
    return json.dumps(value).encode()
