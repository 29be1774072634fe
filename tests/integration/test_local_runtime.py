"""The `local` Lambda executor against a real LocalStack: functions created with boto3 from zips run as local
processes and behave like AWS Lambda (results, logs, error shapes, timeouts, crashes, concurrency)."""

from __future__ import annotations

import os
import signal
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import pytest
from lambda_support import ROLE, invoke, log_messages
from localstack_support import LocalStackSandbox, free_port, make_zip

from sandbox.config import Settings
from sandbox.services import ManagedProcess, localstack_spec, process_alive, process_cmdline, process_group_members

HANDLER = """
import json
import logging
import os
import sys
import time

logger = logging.getLogger()
logger.setLevel(logging.INFO)
print("init: module imported")


def handler(event, context):
    action = event.get("action")
    print(f"print line {event.get('marker')}")
    logger.info("logging line %s", event.get("marker"))
    if action == "raise":
        raise ValueError(f"bad input {event.get('marker')}")
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "exit":
        sys.stdout.flush()
        os._exit(7)
    if action == "env":
        return dict(os.environ)
    if action == "boto3":
        import boto3

        s3 = boto3.client("s3")
        s3.put_object(Bucket=event["bucket"], Key="from-lambda.txt", Body=b"written by the function")
        return {"endpoint": os.environ.get("AWS_ENDPOINT_URL"), "keys": [
            o["Key"] for o in s3.list_objects_v2(Bucket=event["bucket"]).get("Contents", [])]}
    return {
        "echo": event,
        "pid": os.getpid(),
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }
"""


@pytest.fixture(scope="module")
def create_function(create_function):
    """Python functions by default: the module's HANDLER as app.handler on python3.12."""

    def create(files: dict[str, str] | None = None, *, handler="app.handler", runtime="python3.12", **kwargs) -> str:
        return create_function(files or {"app.py": HANDLER}, handler=handler, runtime=runtime, **kwargs)

    return create


def test_invoke_returns_result_and_logs_reach_cloudwatch(localstack, lambda_client, create_function):
    name = create_function(MemorySize=256, Timeout=30)

    response, result = invoke(lambda_client, name, {"marker": "one"})

    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert result["echo"] == {"marker": "one"}
    assert result["function_name"] == name
    assert 0 < result["remaining_ms"] <= 30_000
    messages = log_messages(localstack.client("logs"), name, "print line one")
    assert any("init: module imported" in m for m in messages)
    assert any(m.startswith("[INFO]") and "logging line one" in m and result["request_id"] in m for m in messages)
    assert any(m.startswith(f"START RequestId: {result['request_id']}") for m in messages)
    assert any(
        m.startswith(f"REPORT RequestId: {result['request_id']}") and "Memory Size: 256 MB" in m for m in messages
    )

    # A second invoke is served by the same (warm) process.
    _, again = invoke(lambda_client, name, {"marker": "two"})
    assert again["pid"] == result["pid"]
    assert again["request_id"] != result["request_id"]


def test_the_code_is_unzipped_when_the_function_first_runs_not_when_it_is_created(localstack, lambda_client,
                                                                                   create_function):
    name = create_function()  # Active: LocalStack's executors would have unzipped it by now
    # LocalStack keeps the archive as snapshots/<account>/<code id> and unzips it to <its TMPDIR>/lambda/<bucket>/
    # <code id>/code.
    code_id = urlparse(lambda_client.get_function(FunctionName=name)["Code"]["Location"]).path.rsplit("/", 1)[-1]
    environ = Path(f"/proc/{localstack.process.pid()}/environ").read_bytes().split(b"\0")
    tmp = next((v.split(b"=", 1)[1].decode() for v in environ if v.startswith(b"TMPDIR=")), tempfile.gettempdir())

    def unzipped() -> list[Path]:
        return list(Path(tmp).glob(f"lambda/*/{code_id}/code/app.py"))

    assert code_id.startswith(name) and unzipped() == []
    _, result = invoke(lambda_client, name, {"marker": "first"})
    assert result["echo"] == {"marker": "first"}
    assert len(unzipped()) == 1


def test_exception_becomes_aws_shaped_error(localstack, lambda_client, create_function):
    name = create_function()

    response, error = invoke(lambda_client, name, {"action": "raise", "marker": "x1"})

    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "bad input x1"
    assert error["requestId"]
    assert any('app.py", line' in frame and "raise ValueError" in frame for frame in error["stackTrace"])
    messages = log_messages(localstack.client("logs"), name, "[ERROR] ValueError: bad input x1")
    assert any("print line x1" in m for m in messages)


def test_timeout_is_reported_like_aws_and_the_next_invoke_works(localstack, lambda_client, create_function):
    name = create_function(Timeout=1)

    response, error = invoke(lambda_client, name, {"action": "sleep", "seconds": 30})

    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")
    log_messages(localstack.client("logs"), name, "Task timed out after 1.00 seconds")
    response, result = invoke(lambda_client, name, {"marker": "after-timeout"})
    assert "FunctionError" not in response
    assert result["echo"] == {"marker": "after-timeout"}


def test_import_error_is_an_init_error(lambda_client, create_function):
    name = create_function({"app.py": "import module_that_does_not_exist\n\ndef handler(event, context):\n    pass\n"})

    response, error = invoke(lambda_client, name, {})

    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert error["errorMessage"] == "Unable to import module 'app': No module named 'module_that_does_not_exist'"
    # Every further invoke retries the init and fails the same way (no hang, no stale environment).
    _, again = invoke(lambda_client, name, {})
    assert again["errorType"] == "Runtime.ImportModuleError"


def test_missing_handler_function_is_an_init_error(lambda_client, create_function):
    name = create_function(handler="app.no_such_function")

    response, error = invoke(lambda_client, name, {})

    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.HandlerNotFound"


def test_process_exit_fails_the_invocation_at_once(lambda_client, create_function):
    # With a 900 s function timeout, only the executor noticing the exit can answer before the client's
    # 120 s read timeout.
    name = create_function(Timeout=900)

    response, error = invoke(lambda_client, name, {"action": "exit"})

    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"].endswith("Error: Runtime exited with error: exit status 7")
    response, result = invoke(lambda_client, name, {"marker": "after-exit"})
    assert "FunctionError" not in response
    assert result["echo"] == {"marker": "after-exit"}


def test_ten_parallel_invokes_all_return_from_at_most_the_capped_environments(lambda_client, create_function):
    """Ten concurrent calls all return; they share at most SANDBOX_LAMBDA_MAX_ENVIRONMENTS processes (queued)."""
    from sandbox_localstack.environment_cap import default_limit

    name = create_function(Timeout=60)

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(
            pool.map(lambda i: invoke(lambda_client, name, {"action": "sleep", "seconds": 1, "marker": i}), range(10))
        )

    assert all("FunctionError" not in response for response, _ in outcomes), outcomes
    assert sorted(result["echo"]["marker"] for _, result in outcomes) == list(range(10))
    environments = len({result["pid"] for _, result in outcomes})
    assert 2 <= environments <= min(10, default_limit()), environments


def test_boto3_in_a_function_reaches_localstack_without_configuration(localstack, lambda_client, create_function):
    bucket = f"bucket-{uuid.uuid4().hex[:10]}"
    s3 = localstack.client("s3")
    s3.create_bucket(Bucket=bucket)
    name = create_function(Timeout=30)  # importing boto3 takes seconds on a busy 2-CPU machine

    response, result = invoke(lambda_client, name, {"action": "boto3", "bucket": bucket})

    assert "FunctionError" not in response, result
    assert result["endpoint"] == f"http://127.0.0.1:{localstack.settings.localstack_port}"
    assert result["keys"] == ["from-lambda.txt"]
    assert s3.get_object(Bucket=bucket, Key="from-lambda.txt")["Body"].read() == b"written by the function"


def test_function_environment_is_aws_like_and_isolated(localstack, lambda_client, create_function):
    name = create_function(MemorySize=256, Environment={"Variables": {"GREETING": "hello", "PATH_HINT": "x"}})

    _, env = invoke(lambda_client, name, {"action": "env"})

    assert env["GREETING"] == "hello"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "3"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    # When this LocalStack started, for messages about what a restart lost (not an AWS variable).
    started = datetime.fromisoformat(env["SANDBOX_STARTED_AT"])
    assert started.tzinfo is not None and started <= datetime.now(UTC)
    assert env["AWS_REGION"] == localstack.settings.region
    assert env["LAMBDA_TASK_ROOT"] != "/var/task" and env["LAMBDA_TASK_ROOT"].startswith("/")
    assert env["LAMBDA_RUNTIME_DIR"] != "/var/runtime"
    # LocalStack's own settings and its container-init internals stay out of the function.
    for leaked in (
        "GATEWAY_LISTEN",
        "FILESYSTEM_ROOT",
        "SMTP_HOST",
        "LAMBDA_RUNTIME_EXECUTOR",
        "OVERRIDE_IN_DOCKER",
        "LOCALSTACK_RUNTIME_ENDPOINT",
        "LOCALSTACK_RUNTIME_ID",
        "_SANDBOX_LIFELINE_FD",
    ):
        assert leaked not in env


def test_runtime_it_cannot_run_fails_with_a_message_naming_what_works(lambda_client, create_function):
    name = create_function({"Main.java": "class Main {}\n"}, handler="Main::handleRequest", runtime="java21")

    response, error = invoke(lambda_client, name, {})

    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.Unsupported"
    message = error["errorMessage"]
    assert "java21" in message and "python3.9 to python3.13" in message and "nodejs12.x to nodejs22.x" in message
    assert "MODE=docker" not in message  # docker mode runs this same executor


NODE_SLEEPER = "exports.handler = async (event) => new Promise((done) => setTimeout(done, event.seconds * 1000));\n"
RUNTIME_COMMANDS = ("sandbox_localstack.bootstrap", "sandbox_localstack/node/runtime.mjs")  # Python, Node.js


def _function_processes(pgid: int) -> set[int]:
    """Live function processes (our Python bootstrap or Node.js runtime) in the given process group."""
    return {pid for pid in process_group_members(pgid)
            if any(command in process_cmdline(pid) for command in RUNTIME_COMMANDS)}


@pytest.mark.parametrize("how", ["stop", "sigkill"])
def test_lambda_processes_end_with_localstack(tmp_path, how):
    """`stop` is what `make down` does (SIGTERM to LocalStack's process group); `sigkill` kills only LocalStack's
    main process, and the lifeline pipes must still take the function processes (Python and Node.js) down."""
    settings = Settings(home=tmp_path, localstack_port=free_port(), smtp_port=free_port())
    process = ManagedProcess(localstack_spec(settings), settings.home)
    localstack_pid = process.start()
    try:
        process.wait_ready(timeout=120)
        sandbox = LocalStackSandbox(settings, process)
        client = sandbox.client("lambda", read_timeout=120)
        names = []
        for runtime, handler, files in (("python3.12", "app.handler", {"app.py": HANDLER}),
                                        ("nodejs20.x", "index.handler", {"index.js": NODE_SLEEPER})):
            names.append(f"fn-{uuid.uuid4().hex[:10]}")
            client.create_function(FunctionName=names[-1], Runtime=runtime, Role=ROLE, Handler=handler, Timeout=300,
                                   Code={"ZipFile": make_zip(files)})
            client.get_waiter("function_active_v2").wait(FunctionName=names[-1], WaiterConfig={"Delay": 0.2})
        # Three environments (two Python, one Node.js), all busy in long invocations, while LocalStack goes away.
        busy = ThreadPoolExecutor(max_workers=3)
        for name in (names[0], names[0], names[1]):
            busy.submit(invoke, client, name, {"action": "sleep", "seconds": 250})
        deadline = time.monotonic() + 60
        while len(function_pids := _function_processes(localstack_pid)) < 3:
            assert time.monotonic() < deadline, "the environments did not start"
            time.sleep(0.1)

        if how == "stop":
            process.stop()
        else:
            os.kill(localstack_pid, signal.SIGKILL)

        deadline = time.monotonic() + 30
        while any(process_alive(pid) for pid in function_pids):
            assert time.monotonic() < deadline, [pid for pid in function_pids if process_alive(pid)]
            time.sleep(0.1)
        busy.shutdown(wait=False, cancel_futures=True)
    finally:
        process.stop()
