"""LocalStack's own CloudWatch metrics stored as PutMetricData stores them, without a trip through its gateway.

LocalStack 4.14 publishes a metric for every Lambda invoke (`Invocations`, `Errors`) and two or three for every SQS
message (`NumberOfMessagesSent`, `SentMessageSize`, `NumberOfMessagesReceived`, `NumberOfMessagesDeleted`, the
periodic `ApproximateNumberOf…`), each with an in-memory boto3 client: botocore serialises and signs the call,
the gateway parses it and runs its handler chain, serialises the answer, botocore parses that. That is ~3 ms of
LocalStack's one core for a row in CloudWatch's sqlite table, and at 100 concurrent approvals a fifth of
LocalStack's CPU (docs/benchmark.md).

All of them are published by `localstack.utils.cloudwatch.cloudwatch_util` through its `connect_to(...).cloudwatch`.
`install` gives that module a `connect_to` whose CloudWatch client hands `put_metric_data` to CloudWatch's provider
in the same process, with a request context of the caller's account and region. The provider validates and stores
the data as it does for the gateway's call, so GetMetricStatistics, GetMetricData, alarms and the raw-metrics
endpoint see the same metrics. Where CloudWatch is not LocalStack's default provider (moto's older one with
PROVIDER_OVERRIDE_CLOUDWATCH=v1), or a caller names no account or region, the call goes through the gateway as
before.

CloudWatch's database (`cloudwatch_database_helper`) opens a sqlite connection for every write and read, in a
`with` block, which commits but does not close. On Python 3.13 a connection lives in a reference cycle, so each
stayed open, with its page cache and file descriptor, until the garbage collector's next pass: ~100 KB of
LocalStack's memory per metric between passes (docs/benchmark.md). `install` also makes leaving that block close
the connection.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Any, TypeGuard

from localstack.aws.api import RequestContext

from sandbox_localstack.patches import replace_once

LOG = logging.getLogger(__name__)


def is_account_id(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and len(value) == 12 and value.isdigit()


class InProcessCloudWatch:
    """The one call those functions make on a CloudWatch client, answered by the provider in this process."""

    def __init__(self, provider: Any, account_id: str, region: str) -> None:
        self.provider, self.account_id, self.region = provider, account_id, region

    def put_metric_data(self, Namespace: str, MetricData: list[dict], **other: Any) -> dict:  # noqa: N803 - boto3's names
        context = RequestContext(None)  # type: ignore[arg-type]  # no HTTP request: the provider reads no header
        context.account_id, context.region = self.account_id, self.region
        self.provider.put_metric_data(context, Namespace, MetricData, **other)
        return {}


class InProcessClients:
    def __init__(self, cloudwatch: InProcessCloudWatch) -> None:
        self.cloudwatch = cloudwatch


def connect_in_process(original: Callable[..., Any], provider: Callable[[], Any]) -> Callable[..., Any]:
    """`connect_to` for cloudwatch_util: its CloudWatch client goes to `provider()` when there is one. The provider
    found is kept: LocalStack makes one per process, and looking it up takes the service's lock every time."""
    found: list[Any] = []

    def connect_to(*args: Any, **kwargs: Any) -> Any:
        account_id, region = kwargs.get("aws_access_key_id"), kwargs.get("region_name")
        if args or not is_account_id(account_id) or not isinstance(region, str) or not region:
            return original(*args, **kwargs)
        if not found and (looked_up := provider()) is not None:
            found.append(looked_up)
        if not found:
            return original(*args, **kwargs)
        return InProcessClients(InProcessCloudWatch(found[0], account_id, region))

    return connect_to


def cloudwatch_provider() -> Any:
    """CloudWatch's running provider if it keeps metrics in its own database (LocalStack's default), else None."""
    from localstack.services.plugins import SERVICE_PLUGINS

    try:
        provider = SERVICE_PLUGINS.require("cloudwatch")._provider
    except Exception as error:  # noqa: BLE001 - the gateway's call answers this case as before
        LOG.debug("CloudWatch provider not available for in-process metrics: %s", error)
        return None
    return provider if hasattr(provider, "cloudwatch_database") else None


class ClosingConnection(sqlite3.Connection):
    """A connection that closes when its `with` block ends (sqlite3's own commits or rolls back, and stays open)."""

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return super().__exit__(*exc_info)
        finally:
            self.close()


class ClosingSqlite:
    """The `sqlite3` the CloudWatch database module sees: its connections close at the end of their block."""

    @staticmethod
    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        return sqlite3.connect(*args, factory=ClosingConnection, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(sqlite3, name)


def install(provider: Callable[[], Any] = cloudwatch_provider) -> bool:
    """Idempotent; returns whether it changed anything."""
    from localstack.services.cloudwatch import cloudwatch_database_helper
    from localstack.utils.cloudwatch import cloudwatch_util

    closing = replace_once(cloudwatch_database_helper, "sqlite3", lambda _module: ClosingSqlite())
    # The module calls connect_to(...) and nothing else of it: a function stands in for LocalStack's factory.
    in_process = replace_once(cloudwatch_util, "connect_to", lambda original: connect_in_process(original, provider))
    return closing or in_process
