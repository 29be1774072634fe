"""LocalStack's own metrics stored by CloudWatch's provider in process (cloudwatch_metrics.py): LocalStack's real
publishing functions and its real CloudWatch provider, its database in a temporary directory, and no gateway."""

from __future__ import annotations

import gc
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from localstack.aws.api import RequestContext
from localstack.services.cloudwatch import cloudwatch_database_helper
from localstack.services.cloudwatch.cloudwatch_database_helper import CloudwatchDatabase
from localstack.services.cloudwatch.provider_v2 import CloudwatchProvider
from localstack.utils.cloudwatch import cloudwatch_util
from sandbox_localstack import cloudwatch_metrics

ACCOUNT, REGION = "111122223333", "eu-west-1"


@pytest.fixture
def provider(tmp_path, monkeypatch):
    root = tmp_path / "cloudwatch"
    monkeypatch.setattr(CloudwatchDatabase, "CLOUDWATCH_DATA_ROOT", str(root))
    monkeypatch.setattr(CloudwatchDatabase, "METRICS_DB", str(root / "metrics.db"))
    monkeypatch.setattr(CloudwatchDatabase, "METRICS_DB_READ_ONLY", f"file:{root / 'metrics.db'}?mode=ro")
    return CloudwatchProvider()


@pytest.fixture
def patched(provider, monkeypatch):
    # Both replaced names are restored after the test.
    monkeypatch.setattr(cloudwatch_util, "connect_to", cloudwatch_util.connect_to)
    monkeypatch.setattr(cloudwatch_database_helper, "sqlite3", cloudwatch_database_helper.sqlite3)
    assert cloudwatch_metrics.install(provider=lambda: provider)
    return provider


def stored_sum(provider, namespace: str, metric: str, dimension: dict) -> float | None:
    """What GetMetricStatistics answers for the last hour in ACCOUNT and REGION."""
    context = RequestContext(None)
    context.account_id, context.region = ACCOUNT, REGION
    now = datetime.now(UTC)
    answer = provider.get_metric_statistics(
        context, namespace, metric, start_time=now - timedelta(hours=1), end_time=now + timedelta(minutes=1),
        period=3600, dimensions=[dimension], statistics=["Sum"],
    )
    points = answer["Datapoints"]
    return sum(point["Sum"] for point in points) if points else None


def test_lambda_and_sqs_metrics_reach_cloudwatch_with_no_gateway_running(patched):
    cloudwatch_util.publish_lambda_metric("Invocations", 1, {"func_name": "approve"}, account_id=ACCOUNT,
                                          region_name=REGION)
    cloudwatch_util.publish_lambda_metric("Invocations", 1, {"func_name": "approve"}, account_id=ACCOUNT,
                                          region_name=REGION)
    cloudwatch_util.publish_sqs_metric(ACCOUNT, REGION, "requests", "SentMessageSize", value=512, unit="Bytes")
    cloudwatch_util.publish_sqs_metric_batch(ACCOUNT, REGION, [
        {"QueueName": "requests", "MetricName": "ApproximateNumberOfMessagesVisible", "Value": 7},
    ])

    assert stored_sum(patched, "AWS/Lambda", "Invocations", {"Name": "FunctionName", "Value": "approve"}) == 2
    assert stored_sum(patched, "AWS/SQS", "SentMessageSize", {"Name": "QueueName", "Value": "requests"}) == 512
    assert stored_sum(patched, "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                      {"Name": "QueueName", "Value": "requests"}) == 7
    # A metric nobody published has no data points.
    assert stored_sum(patched, "AWS/Lambda", "Errors", {"Name": "FunctionName", "Value": "approve"}) is None


def test_the_provider_validates_the_data_as_for_the_gateways_call(provider):
    client = cloudwatch_metrics.InProcessCloudWatch(provider, ACCOUNT, REGION)
    with pytest.raises(Exception, match="mutually exclusive"):
        client.put_metric_data(Namespace="AWS/SQS", MetricData=[{"MetricName": "m", "Value": 1, "Values": [1]}])


def test_without_a_provider_account_or_region_the_call_goes_to_localstacks_client():
    calls: list[tuple] = []

    def original(*args, **kwargs):
        calls.append((args, kwargs))
        return "gateway client factory"

    no_provider = cloudwatch_metrics.connect_in_process(original, lambda: None)
    assert no_provider(aws_access_key_id=ACCOUNT, region_name=REGION) == "gateway client factory"
    with_provider = cloudwatch_metrics.connect_in_process(original, lambda: object())
    assert with_provider(region_name=REGION) == "gateway client factory"
    assert with_provider(aws_access_key_id="AKIAEXAMPLE", region_name=REGION) == "gateway client factory"
    assert with_provider(aws_access_key_id=ACCOUNT) == "gateway client factory"
    assert len(calls) == 4
    assert isinstance(with_provider(aws_access_key_id=ACCOUNT, region_name=REGION).cloudwatch,
                      cloudwatch_metrics.InProcessCloudWatch)


def open_connections() -> int:
    return sum(isinstance(thing, sqlite3.Connection) for thing in gc.get_objects())


def write_metrics(provider, count: int) -> None:
    data = [{"MetricName": "NumberOfMessagesSent", "Dimensions": [{"Name": "QueueName", "Value": "requests"}],
             "Value": 1.0}]
    for _ in range(count):
        provider.cloudwatch_database.add_metric_data(ACCOUNT, REGION, "AWS/SQS", data)


def test_localstack_alone_leaves_each_database_connection_open_until_a_collection(provider):
    gc.collect()
    gc.disable()  # the collector's own timing decides when LocalStack's connections close
    try:
        before = open_connections()
        write_metrics(provider, 20)
        assert open_connections() - before >= 20
    finally:
        gc.enable()


def test_the_databases_connections_close_at_the_end_of_their_block(patched):
    gc.collect()
    gc.disable()
    try:
        before = open_connections()
        write_metrics(patched, 20)
        assert open_connections() == before
    finally:
        gc.enable()
    assert stored_sum(patched, "AWS/SQS", "NumberOfMessagesSent", {"Name": "QueueName", "Value": "requests"}) == 20


def test_installing_twice_changes_nothing_more(patched):
    installed = cloudwatch_util.connect_to, cloudwatch_database_helper.sqlite3
    assert not cloudwatch_metrics.install(provider=lambda: patched)
    assert (cloudwatch_util.connect_to, cloudwatch_database_helper.sqlite3) == installed
