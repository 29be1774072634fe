"""LocalStack's own CloudWatch metrics in the sandbox's LocalStack: a queue's messages and a function's invokes are
answered by GetMetricStatistics. The plugin stores them in process (cloudwatch_metrics.py); what a user reads back
must be what LocalStack's own PutMetricData calls stored."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from lambda_support import invoke
from mail_support import unique


def metric_sum(cloudwatch, namespace: str, metric: str, dimension: dict, expected: float, timeout: float = 20.0):
    """The metric's sum over the last hour once it reaches `expected` (SQS publishes from a thread pool)."""
    deadline = time.monotonic() + timeout
    while True:
        now = datetime.now(UTC)
        points = cloudwatch.get_metric_statistics(
            Namespace=namespace, MetricName=metric, Dimensions=[dimension], StartTime=now - timedelta(hours=1),
            EndTime=now + timedelta(minutes=1), Period=3600, Statistics=["Sum"],
        )["Datapoints"]
        total = sum(point["Sum"] for point in points)
        if total >= expected or time.monotonic() > deadline:
            return total
        time.sleep(0.2)


def test_queue_and_function_metrics_are_answered(localstack, create_function, lambda_client):
    sqs, cloudwatch = localstack.client("sqs"), localstack.client("cloudwatch")
    queue = unique("metrics")
    queue_url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    for body in ("one", "two", "three"):
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2)["Messages"]
    for message in received:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    function = create_function({"index.py": "def handler(event, context):\n    return event\n"},
                               handler="index.handler", runtime="python3.12")
    for n in range(2):
        assert invoke(lambda_client, function, {"n": n})[1] == {"n": n}

    by_queue = {"Name": "QueueName", "Value": queue}
    assert metric_sum(cloudwatch, "AWS/SQS", "NumberOfMessagesSent", by_queue, 3) == 3
    assert metric_sum(cloudwatch, "AWS/SQS", "NumberOfMessagesDeleted", by_queue, len(received)) == len(received)
    by_function = {"Name": "FunctionName", "Value": function}
    assert metric_sum(cloudwatch, "AWS/Lambda", "Invocations", by_function, 2) == 2
