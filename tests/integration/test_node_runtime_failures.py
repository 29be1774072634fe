"""Node.js functions that fail, against a real LocalStack, as they fail on AWS: error shapes and their log line,
init errors, timeouts, the process dying (exit, uncaught exception), and parallel invokes sharing the capped
environments."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from lambda_support import console_records, invoke, log_messages

FAILING = """
class ApprovalError extends Error { constructor(message) { super(message); this.name = 'ApprovalError'; } }
class NamedError extends Error { constructor(message) { super(message); this.name = '承認Error'; } }
exports.handler = (event, context, callback) => {
  console.log('about to fail: %s', event.kind);
  switch (event.kind) {
    case 'reject': return Promise.reject(new ApprovalError(`rejected ${event.marker}`));
    case 'named': return Promise.reject(new NamedError(`named ${event.marker}`));
    case 'callback': return callback(new TypeError(`callback ${event.marker}`));
    case 'string': return callback(`plain ${event.marker}`);
    case 'throw': throw new RangeError(`thrown ${event.marker}`);
    case 'sleep': return new Promise((resolve) => setTimeout(resolve, event.seconds * 1000));
    case 'exit': process.exit(7);
    case 'uncaught': setTimeout(() => { throw new SyntaxError(`late ${event.marker}`); }, 10); return;
    case 'after-answer':
      context.callbackWaitsForEmptyEventLoop = false;
      setTimeout(() => { throw new Error('after the answer'); }, 200);
      return callback(null, { pid: process.pid });
    default: return callback(null, { pid: process.pid });
  }
};
"""


@pytest.mark.parametrize(
    ("kind", "error_type", "message", "first_trace_line"),
    [
        ("reject", "ApprovalError", "rejected m1", "ApprovalError: rejected m1"),
        # No HTTP header can carry this type (the runtime's error post names it in one): it still reaches the caller.
        ("named", "承認Error", "named m1", "承認Error: named m1"),
        ("callback", "TypeError", "callback m1", "TypeError: callback m1"),
        ("throw", "RangeError", "thrown m1", "RangeError: thrown m1"),
        ("string", "string", "plain m1", None),
    ],
)
def test_errors_have_aws_shape_and_are_logged(
    localstack, lambda_client, create_function, kind, error_type, message, first_trace_line
):
    name = create_function({"index.js": FAILING}, handler="index.handler", runtime="nodejs20.x")

    response, error = invoke(lambda_client, name, {"kind": kind, "marker": "m1"})

    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == error_type and error["errorMessage"] == message
    if first_trace_line:
        assert error["trace"][0] == first_trace_line
        assert any("/index.js:" in frame for frame in error["trace"])
    else:
        assert error["trace"] == []
    lines = console_records(log_messages(localstack.client("logs"), name, "Invoke Error"))
    # An error object is logged as AWS's JSON (errorType, errorMessage, stack); anything else as its JSON value.
    logged = f'{{"errorType":"{error_type}","errorMessage":"{message}"' if first_trace_line else f'"{message}"'
    assert any(level == "ERROR" and text.startswith(f"Invoke Error \t{logged}") for _, level, text in lines), lines


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        ({"index.js": "exports.other = 1;"}, "index.handler", "Runtime.HandlerNotFound",
         "index.handler is undefined or not exported"),
        ({"index.js": "exports.handler = 1;"}, "index.handler", "Runtime.HandlerNotFound",
         "index.handler is not a function"),
        ({"index.js": "exports.handler = () => 1;"}, "index", "Runtime.MalformedHandlerName", "Bad handler"),
        ({"index.js": "exports.handler = async () => {"}, "index.handler", "Runtime.UserCodeSyntaxError",
         "SyntaxError: Unexpected end of input"),
        ({"index.js": "require('no-such-package');"}, "index.handler", "Runtime.ImportModuleError",
         "Error: Cannot find module 'no-such-package'"),
        ({"index.js": "exports.handler = () => 1;"}, "missing.handler", "Runtime.ImportModuleError",
         "Error: Cannot find module 'missing'"),
    ],
    ids=["not-exported", "not-a-function", "malformed", "syntax", "missing-package", "missing-module"],
)
def test_init_errors_are_reported_by_the_invocation(lambda_client, create_function, files, handler, error_type,
                                                    message):
    name = create_function(files, handler=handler, runtime="nodejs20.x")

    response, error = invoke(lambda_client, name, {})

    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == error_type
    assert error["errorMessage"].startswith(message)
    _, again = invoke(lambda_client, name, {})  # the next invoke retries the init and fails the same way
    assert again["errorType"] == error_type


def test_timeout_is_reported_like_aws_and_the_next_invoke_works(localstack, lambda_client, create_function):
    name = create_function({"index.js": FAILING}, handler="index.handler", runtime="nodejs20.x", Timeout=1)

    response, error = invoke(lambda_client, name, {"kind": "sleep", "seconds": 30})

    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")
    log_messages(localstack.client("logs"), name, "Task timed out after 1.00 seconds")
    response, result = invoke(lambda_client, name, {})
    assert "FunctionError" not in response and result["pid"]


def test_process_death_fails_the_invocation_at_once_and_a_fresh_process_takes_the_next(
    lambda_client, create_function
):
    # With a 900 s timeout, only the executor noticing the exit can answer before the client's read timeout.
    name = create_function({"index.js": FAILING}, handler="index.handler", runtime="nodejs20.x", Timeout=900)
    _, first = invoke(lambda_client, name, {})

    response, error = invoke(lambda_client, name, {"kind": "exit"})
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"].endswith("Error: Runtime exited with error: exit status 7")

    # An uncaught exception fails its invocation with the exception and ends the process, as on AWS.
    response, error = invoke(lambda_client, name, {"kind": "uncaught", "marker": "u1"})
    assert response["FunctionError"] == "Unhandled"
    assert (error["errorType"], error["errorMessage"]) == ("SyntaxError", "late u1")

    response, after = invoke(lambda_client, name, {})
    assert "FunctionError" not in response
    assert after["pid"] != first["pid"]

    # An exception after the answer was sent ends the process; that invocation succeeded, the next one gets a
    # fresh process (no init error from a runtime that had initialised).
    response, answered = invoke(lambda_client, name, {"kind": "after-answer"})
    assert "FunctionError" not in response and answered["pid"] == after["pid"]
    time.sleep(1)
    response, fresh = invoke(lambda_client, name, {})
    assert "FunctionError" not in response, fresh
    assert fresh["pid"] != answered["pid"]


def test_parallel_invokes_share_at_most_the_capped_environments(lambda_client, create_function):
    from sandbox_localstack.environment_cap import default_limit

    name = create_function({"index.js": FAILING}, handler="index.handler", runtime="nodejs20.x", Timeout=60)

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: invoke(lambda_client, name, {"kind": "sleep", "seconds": 1}), range(8)))
        pids = list(pool.map(lambda _: invoke(lambda_client, name, {})[1]["pid"], range(8)))

    assert all("FunctionError" not in response for response, _ in outcomes), outcomes
    assert 1 <= len(set(pids)) <= min(8, default_limit())
