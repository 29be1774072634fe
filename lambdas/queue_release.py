"""Make SQS messages a Lambda invocation received but did not start visible again at once.

A record an SQS event source hands to a function and the function reports as a batch item failure stays
invisible until the queue's visibility timeout ends (30 s in the pipeline), on AWS as in the sandbox. For a record
the function never started that wait serves no purpose: nothing about it can have gone wrong. Setting its
visibility timeout to 0 (ChangeMessageVisibilityBatch, with the receipt handle of this delivery) lets the event
source hand it out again on its next poll. Each such delivery counts a receive towards the queue's
`maxReceiveCount`, as any delivery does. So only a record on its first delivery is released: one that comes
back unstarted again met a second invocation short of time, the function is saturated, and its next receives are
better spread over visibility timeouts than spent within seconds (releasing every time, 1,000 concurrent
approvals put 41 messages in the dead-letter queue; see docs/benchmark.md).

The queue URL is not in the event, only the queue's ARN: the URL is the SQS client's endpoint followed by
`/ACCOUNT/NAME`, which is AWS's form (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`) and the sandbox's
(`http://localhost:PORT/ACCOUNT/NAME`), so no GetQueueUrl call (and no permission for it) is needed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

LOG = logging.getLogger(__name__)

# SQS takes at most ten entries per batch call.
BATCH_LIMIT = 10


def queue_url(event_source_arn: str, endpoint_url: str) -> str:
    """`arn:aws:sqs:REGION:ACCOUNT:NAME` as a queue URL under the SQS client's endpoint."""
    parts = event_source_arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs" or not parts[4] or not parts[5]:
        raise ValueError(f"not an SQS queue ARN: {event_source_arn!r}")
    return f"{endpoint_url.rstrip('/')}/{parts[4]}/{parts[5]}"


def first_delivery(record: dict) -> bool:
    """Whether this is the record's first receive (records without the attribute are not released)."""
    return str((record.get("attributes") or {}).get("ApproximateReceiveCount")) == "1"


def release_calls(records: list[dict], endpoint_url: str) -> Iterator[dict]:
    """The ChangeMessageVisibilityBatch requests that make `records` visible now: one per queue and ten records.
    Entry ids are the records' positions (SQS allows only letters, digits, '-' and '_' there). Records not from
    an SQS delivery (a direct invocation's made-up event) have nothing to release and are left out."""
    by_queue: dict[str, list[tuple[int, dict]]] = {}
    for index, record in enumerate(records):
        if not record.get("receiptHandle") or not record.get("eventSourceARN"):
            continue
        by_queue.setdefault(record["eventSourceARN"], []).append((index, record))
    for arn, entries in by_queue.items():
        url = queue_url(arn, endpoint_url)
        for start in range(0, len(entries), BATCH_LIMIT):
            yield {
                "QueueUrl": url,
                "Entries": [{"Id": str(index), "ReceiptHandle": record["receiptHandle"], "VisibilityTimeout": 0}
                            for index, record in entries[start:start + BATCH_LIMIT]],
            }


def release(sqs, records: list[dict]) -> int:
    """Make `records` visible again now; returns how many were released. A failure is logged, never raised: the
    messages then come back when their visibility timeout ends, as they would have without this."""
    released = 0
    try:
        for call in release_calls(records, sqs.meta.endpoint_url):
            answer = sqs.change_message_visibility_batch(**call)
            released += len(answer.get("Successful", []))
            for failed in answer.get("Failed", []):
                LOG.warning("message %s not released (%s: %s); it comes back after its visibility timeout",
                            records[int(failed["Id"])].get("messageId"), failed.get("Code"), failed.get("Message"))
    except Exception:
        LOG.exception("could not release %d unstarted messages; they come back after their visibility timeout",
                      len(records) - released)
    return released
