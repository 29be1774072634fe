"""Pure parts of the local Lambda executor: the function's environment and AWS-shaped texts."""

import json

import pytest
from sandbox_localstack import lambda_env


def build(localstack_env, **overrides):
    args = dict(
        runtime="python3.12",
        task_root="/data/code/fn",
        runtime_dir="/venv/lib/site-packages",
        runtime_api="127.0.0.1:40001",
        tmp_dir="/tmp/lambda-fn",
        bin_dir="/venv/bin",
    )
    args.update(overrides)
    return lambda_env.build_function_env(localstack_env, **args)


def test_env_converts_values_to_strings_and_points_reserved_variables_at_real_paths():
    env = build(
        {
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": 256,
            "AWS_LAMBDA_FUNCTION_TIMEOUT": 3,
            "LAMBDA_TASK_ROOT": "/var/task",
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
            "AWS_EXECUTION_ENV": "AWS_Lambda_rapid",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
        }
    )

    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "3"
    assert env["LAMBDA_TASK_ROOT"] == "/data/code/fn"
    assert env["LAMBDA_RUNTIME_DIR"] == "/venv/lib/site-packages"
    assert env["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:40001"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert env["TMPDIR"] == "/tmp/lambda-fn"
    assert env["PATH"].split(":")[0] == "/venv/bin"
    assert all(isinstance(value, str) for value in env.values())


def test_env_drops_localstack_internals_and_none_but_keeps_public_hostname():
    env = build(
        {
            "LOCALSTACK_RUNTIME_ID": "abc",
            "LOCALSTACK_RUNTIME_ENDPOINT": "http://x/_localstack_lambda/abc",
            "LOCALSTACK_FUNCTION_ACCOUNT_ID": "000000000000",
            "LOCALSTACK_HOSTNAME": "127.0.0.1",
            "OPTIONAL": None,
        }
    )

    assert "LOCALSTACK_RUNTIME_ID" not in env
    assert "LOCALSTACK_RUNTIME_ENDPOINT" not in env
    assert "LOCALSTACK_FUNCTION_ACCOUNT_ID" not in env
    assert "OPTIONAL" not in env
    assert env["LOCALSTACK_HOSTNAME"] == "127.0.0.1"


def test_env_is_built_from_scratch_not_from_the_calling_process(monkeypatch):
    monkeypatch.setenv("GATEWAY_LISTEN", "127.0.0.1:4566")
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1:1025")

    env = build({"A": "1"})

    assert "GATEWAY_LISTEN" not in env and "SMTP_HOST" not in env


def test_user_variables_win_over_defaults_but_not_over_reserved_ones():
    env = build({"PATH": "/custom/bin", "LANG": "de_DE.UTF-8", "LAMBDA_TASK_ROOT": "/mine"})

    assert env["PATH"] == "/custom/bin"
    assert env["LANG"] == "de_DE.UTF-8"
    assert env["LAMBDA_TASK_ROOT"] == "/data/code/fn"


def test_lifeline_fd_is_passed_only_when_given():
    assert lambda_env.LIFELINE_VARIABLE not in build({})
    assert build({}, lifeline_fd=7)[lambda_env.LIFELINE_VARIABLE] == "7"


def test_runtime_variables_are_defaults_the_function_may_override():
    assert build({}, runtime_variables={"NODE_PATH": "/sdk"})["NODE_PATH"] == "/sdk"
    assert build({"NODE_PATH": "/mine"}, runtime_variables={"NODE_PATH": "/sdk"})["NODE_PATH"] == "/mine"


@pytest.mark.parametrize(
    "runtime",
    ["python3.9", "python3.10", "python3.11", "python3.12", "python3.13"]
    + ["nodejs12.x", "nodejs14.x", "nodejs16.x", "nodejs18.x", "nodejs20.x", "nodejs22.x"],
)
def test_python_and_node_runtimes_are_supported(runtime):
    assert lambda_env.unsupported_runtime_message(runtime) is None


@pytest.mark.parametrize("runtime", ["java21", "provided.al2023", "python3.8", "nodejs24.x", "ruby3.3"])
def test_other_runtimes_get_a_message_naming_what_works(runtime):
    message = lambda_env.unsupported_runtime_message(runtime)
    assert f"runtime {runtime}" in message
    assert "python3.9 to python3.13" in message and "nodejs12.x to nodejs22.x" in message
    assert "docker mode" in message and "LAMBDA_RUNTIME_EXECUTOR=docker" in message
    assert "MODE=docker" not in message  # docker mode runs this same executor: it is no way out


def test_image_functions_are_named_in_the_message():
    assert "container image" in lambda_env.unsupported_runtime_message(None)


def test_timeout_error_matches_aws():
    assert json.loads(lambda_env.timeout_error("req-1", 3)) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: req-1 Error: Task timed out after 3.00 seconds",
    }


@pytest.mark.parametrize(
    ("returncode", "reason"),
    [
        (0, "Runtime exited without providing a reason"),
        (None, "Runtime exited without providing a reason"),
        (7, "Runtime exited with error: exit status 7"),
        (-9, "Runtime exited with error: signal: killed"),
    ],
)
def test_exit_error_matches_aws(returncode, reason):
    assert json.loads(lambda_env.exit_error("req-2", returncode)) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: req-2 Error: {reason}",
    }


def test_runtime_error_body_is_kept_when_json_and_wrapped_otherwise():
    body = b'{"errorType": "ValueError", "errorMessage": "x"}'
    assert lambda_env.normalize_runtime_error(body, "ValueError") == body
    assert json.loads(lambda_env.normalize_runtime_error(b"oops", "Runtime.Crash")) == {
        "errorType": "Runtime.Crash",
        "errorMessage": "oops",
    }


def test_report_lines_have_aws_layout():
    text = lambda_env.end_lines(
        "req-3", duration_ms=12.345, memory_mb=128, max_memory_mb=40, init_ms=150.5, status="timeout"
    )

    end, report = text.splitlines()
    assert end == "END RequestId: req-3"
    assert report.split("\t") == [
        "REPORT RequestId: req-3",
        "Duration: 12.35 ms",
        "Billed Duration: 13 ms",
        "Memory Size: 128 MB",
        "Max Memory Used: 40 MB",
        "Init Duration: 150.50 ms",
        "Status: timeout",
        "",
    ]


def test_timeout_log_line():
    from datetime import UTC, datetime

    line = lambda_env.timeout_log_line("req-4", 1, now=datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC))
    assert line == "2025-01-02T03:04:05.678Z req-4 Task timed out after 1.00 seconds\n"
