"""Node.js functions in the `local` executor against a real LocalStack: created with boto3 from zips, run by the
installed Node.js as AWS runs them: module systems, handler styles, the bundled SDK reaching the sandbox, the
context and environment, logs. Failures (errors, init errors, timeouts, process death) are in
test_node_runtime_failures.py."""

from __future__ import annotations

import base64
import json
import re
import uuid

import pytest
from lambda_support import console_records, invoke, log_messages

ESM_SDK_V3 = """
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';

const s3 = new S3Client({});
const sqs = new SQSClient({});
console.log('init: ES module imported');

export const handler = async (event, context) => {
  await s3.send(new PutObjectCommand({ Bucket: event.bucket, Key: 'from-node.txt', Body: 'written by node' }));
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: event.bucket }));
  const sent = await sqs.send(new SendMessageCommand({ QueueUrl: event.queueUrl, MessageBody: 'from sdk v3' }));
  const identity = await new STSClient({}).send(new GetCallerIdentityCommand({}));
  return {
    keys: listed.Contents.map((o) => o.Key), messageId: sent.MessageId, account: identity.Account,
    context: { ...context, remaining: context.getRemainingTimeInMillis() },
  };
};
"""

CJS_CALLBACK_SDK_V2 = """
const AWS = require('aws-sdk');
const sqs = new AWS.SQS();
const s3 = new AWS.S3();

exports.handler = function (event, context, callback) {
  const sent = [];
  for (const QueueUrl of event.queueUrls) {
    sqs.sendMessage({ QueueUrl, MessageBody: `from sdk v2 via ${QueueUrl}` }, (error, data) => {
      if (error) return callback(error);
      sent.push(data.MessageId);
      if (sent.length < event.queueUrls.length) return;
      s3.putObject({ Bucket: event.bucket, Key: 'from-v2.txt', Body: 'v2' }, (s3Error) =>
        callback(s3Error, { sent, version: AWS.VERSION, requestId: context.awsRequestId }));
    });
  }
};
"""

SDK_PROBE = """
exports.handler = async () => {
  const found = {};
  for (const name of ['aws-sdk', '@aws-sdk/client-sfn', '@aws-sdk/lib-dynamodb', '@aws-sdk/credential-providers']) {
    try { require(name); found[name] = true; } catch { found[name] = false; }
  }
  const env = process.env;
  return { found, node: process.version, env: {
    AWS_EXECUTION_ENV: env.AWS_EXECUTION_ENV, NODE_PATH: env.NODE_PATH, LAMBDA_TASK_ROOT: env.LAMBDA_TASK_ROOT,
    GATEWAY_LISTEN: env.GATEWAY_LISTEN, LOCALSTACK_RUNTIME_ID: env.LOCALSTACK_RUNTIME_ID, MINE: env.MINE } };
};
"""

LOGGING = """
console.log('init line');
exports.handler = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = event.wait;
  console.log('log %s', event.marker);
  console.info('info with object %j', { a: 1 });
  console.warn('warn line');
  console.error('error line');
  console.debug('debug line');
  console.log('first line\\nsecond line');
  setTimeout(() => console.log(`timer fired ${event.marker}`), 300);
  callback(null, { pid: process.pid });
};
"""

def tail(response: dict) -> str:
    return base64.b64decode(response["LogResult"]).decode()


def assert_no_sdk_notices(localstack, name: str, response: dict) -> None:
    """The SDKs' notices about this machine (v2's end of support, v3's Node.js version) stay out of the log."""
    request_id = response["ResponseMetadata"]["RequestId"]
    messages = log_messages(localstack.client("logs"), name, f"REPORT RequestId: {request_id}")
    assert not [m for m in messages if "Warning" in m or "end-of-support" in m], messages


@pytest.fixture(scope="module")
def queue(localstack):
    sqs = localstack.client("sqs")
    return sqs, sqs.create_queue(QueueName=f"node-{uuid.uuid4().hex[:8]}")["QueueUrl"]


@pytest.fixture
def bucket(localstack):
    name = f"node-{uuid.uuid4().hex[:10]}"
    localstack.client("s3").create_bucket(Bucket=name)
    return name


def received(sqs, url: str, count: int) -> list[str]:
    bodies: list[str] = []
    for _ in range(20):
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if len(bodies) >= count:
            break
    return bodies


@pytest.mark.parametrize(
    ("runtime", "files"),
    [
        ("nodejs20.x", {"index.mjs": ESM_SDK_V3}),
        ("nodejs22.x", {"index.js": ESM_SDK_V3, "package.json": '{"type": "module"}'}),
    ],
    ids=["mjs", "type-module"],
)
def test_es_module_handler_reaches_the_sandbox_with_sdk_v3(
    localstack, lambda_client, create_function, queue, bucket, runtime, files
):
    sqs, queue_url = queue
    assert "localhost" in queue_url  # LocalStack's own queue URL, which the SDK must not try to resolve
    name = create_function(files, handler="index.handler", runtime=runtime, MemorySize=256, Timeout=30)

    response, result = invoke(lambda_client, name, {"bucket": bucket, "queueUrl": queue_url})

    assert "FunctionError" not in response, result
    assert result["keys"] == ["from-node.txt"]
    assert result["account"] == "000000000000"
    assert received(sqs, queue_url, 1) == ["from sdk v3"]
    context = result["context"]
    assert context["functionName"] == name and context["functionVersion"] == "$LATEST"
    assert context["memoryLimitInMB"] == "256"
    assert context["invokedFunctionArn"].endswith(f":function:{name}")
    assert context["logGroupName"] == f"/aws/lambda/{name}" and context["logStreamName"]
    assert context["callbackWaitsForEmptyEventLoop"] is True
    assert 0 < context["remaining"] <= 30_000
    assert re.fullmatch(r"[0-9a-f-]{36}", context["awsRequestId"])
    body = localstack.client("s3").get_object(Bucket=bucket, Key="from-node.txt")["Body"].read()
    assert body == b"written by node"
    assert_no_sdk_notices(localstack, name, response)


def test_commonjs_callback_handler_with_sdk_v2_reaches_sqs_through_either_queue_url(
    localstack, lambda_client, create_function, queue, bucket
):
    sqs, queue_url = queue
    path_style = f"http://localhost:{localstack.settings.localstack_port}/000000000000/{queue_url.rsplit('/', 1)[1]}"
    # 30 s, not the default 3 s: loading all of aws-sdk v2 takes seconds on a busy 2-CPU machine.
    name = create_function({"index.js": CJS_CALLBACK_SDK_V2}, handler="index.handler", runtime="nodejs14.x",
                           Timeout=30)

    response, result = invoke(lambda_client, name, {"queueUrls": [queue_url, path_style], "bucket": bucket})

    assert "FunctionError" not in response, result
    assert result["version"] == "2.1693.0" and len(result["sent"]) == 2
    assert sorted(received(sqs, queue_url, 2)) == sorted(f"from sdk v2 via {url}" for url in (queue_url, path_style))
    assert localstack.client("s3").get_object(Bucket=bucket, Key="from-v2.txt")["Body"].read() == b"v2"
    assert_no_sdk_notices(localstack, name, response)


@pytest.mark.parametrize(
    ("runtime", "sdk_v2"), [("nodejs12.x", True), ("nodejs16.x", True), ("nodejs18.x", False), ("nodejs22.x", False)]
)
def test_each_runtime_bundles_the_sdk_aws_bundles_and_an_aws_like_environment(
    lambda_client, create_function, runtime, sdk_v2
):
    name = create_function(
        {"src/probe.js": SDK_PROBE}, handler="src/probe.handler", runtime=runtime, Timeout=30,
        Environment={"Variables": {"MINE": "mine"}},
    )

    response, result = invoke(lambda_client, name, {})

    assert "FunctionError" not in response, result
    v3 = not sdk_v2
    assert result["found"] == {"aws-sdk": sdk_v2, "@aws-sdk/client-sfn": v3, "@aws-sdk/lib-dynamodb": v3,
                               "@aws-sdk/credential-providers": v3}
    env = result["env"]
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{runtime}"
    assert env["NODE_PATH"].split(":")[-1] == env["LAMBDA_TASK_ROOT"]
    assert env["MINE"] == "mine"
    assert "GATEWAY_LISTEN" not in env and "LOCALSTACK_RUNTIME_ID" not in env  # undefined in JSON: left out


def test_console_lines_reach_cloudwatch_in_aws_format(localstack, lambda_client, create_function):
    name = create_function({"index.js": LOGGING}, handler="index.handler", runtime="nodejs18.x")

    waited = lambda_client.invoke(FunctionName=name, Payload=b'{"wait": true, "marker": "w"}', LogType="Tail")
    request_id = waited["ResponseMetadata"]["RequestId"]
    eager = lambda_client.invoke(FunctionName=name, Payload=b'{"wait": false, "marker": "e"}', LogType="Tail")

    # callbackWaitsForEmptyEventLoop: the result waits for the timer, unless the handler turned that off.
    assert "timer fired w" in tail(waited).split("END RequestId")[0]
    assert "timer fired e" not in tail(eager).split("END RequestId")[0]
    lines = console_records(log_messages(localstack.client("logs"), name, "log w"))
    assert ("undefined", "INFO", "init line") in lines
    mine = [(level, text) for request, level, text in lines if request == request_id]
    assert mine[:6] == [("INFO", "log w"), ("INFO", 'info with object {"a":1}'), ("WARN", "warn line"),
                        ("ERROR", "error line"), ("DEBUG", "debug line"), ("INFO", "first line\rsecond line")]


def test_json_log_format_and_level_from_the_logging_config(localstack, lambda_client, create_function):
    source = """
exports.handler = async () => {
  console.info('quiet info');
  console.warn('loud warning %d', 7);
  console.error(new TypeError('as json'));
  return 'ok';
};
"""
    name = create_function({"index.js": source}, handler="index.handler", runtime="nodejs20.x",
                           LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "WARN"})

    response = lambda_client.invoke(FunctionName=name, Payload=b"{}")
    request_id = response["ResponseMetadata"]["RequestId"]

    messages = log_messages(localstack.client("logs"), name, "loud warning")
    records = [json.loads(m) for m in messages if m.startswith("{")]
    assert not any("quiet info" in m for m in messages)
    warning = next(r for r in records if r["message"] == "loud warning 7")
    assert warning["level"] == "WARN" and warning["requestId"] == request_id and warning["timestamp"]
    error = next(r for r in records if r["level"] == "ERROR")
    assert (error["errorType"], error["errorMessage"]) == ("TypeError", "as json") and error["stackTrace"]


def test_large_events_and_results_beyond_ascii_arrive_whole(lambda_client, create_function):
    # Hundreds of kilobytes reach the runtime and come back in many socket reads; multi-byte characters make the
    # byte length differ from the character count and fall across read boundaries.
    source = "exports.handler = async (event) => ({ echo: event.text, length: event.text.length });\n"
    name = create_function({"index.js": source}, handler="index.handler", runtime="nodejs20.x")
    text = "承認 é ✓ " * 40_000

    response, result = invoke(lambda_client, name, {"text": text})
    again, small = invoke(lambda_client, name, {"text": "ok"})  # the same connection serves the next invoke

    assert "FunctionError" not in response and "FunctionError" not in again
    assert result == {"echo": text, "length": len(text)}
    assert small == {"echo": "ok", "length": 2}
