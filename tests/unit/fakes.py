"""In-memory stand-ins for the S3/SNS/Step Functions calls the handlers make, for testing their logic alone.

The real services are exercised by tests/e2e; these only model the behaviour the logic depends on (S3's
IfNoneMatch='*' refusing an existing key and IfMatch a changed one, Step Functions refusing a finished task).
"""

import hashlib
import io

from botocore.exceptions import ClientError


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "op")


class FakeS3:
    def __init__(self):
        self.objects: dict[str, bytes] = {}

    def put_object(self, Bucket, Key, Body, ContentType=None, IfNoneMatch=None, IfMatch=None):
        if IfNoneMatch == "*" and Key in self.objects:
            raise client_error("PreconditionFailed", 412)
        if IfMatch is not None and (Key not in self.objects or IfMatch != self._etag(Key)):
            raise client_error("PreconditionFailed", 412)
        self.objects[Key] = Body

    def get_object(self, Bucket, Key):
        if Key not in self.objects:
            raise client_error("NoSuchKey", 404)
        return {"Body": io.BytesIO(self.objects[Key]), "ETag": self._etag(Key)}

    def _etag(self, key):
        return '"' + hashlib.md5(self.objects[key]).hexdigest() + '"'  # noqa: S324 - S3's ETag of a simple upload

    def delete_object(self, Bucket, Key):
        self.objects.pop(Key, None)


class FakeSNS:
    def __init__(self, fail: Exception | None = None):
        self.published: list[dict] = []
        self.fail = fail

    def publish(self, **kwargs):
        if self.fail:
            raise self.fail
        self.published.append(kwargs)
        return {"MessageId": str(len(self.published))}


class FakeSQS:
    """ChangeMessageVisibilityBatch as SQS answers it: per entry, Successful or Failed (`fail` names entry ids)."""

    def __init__(self, endpoint_url: str = "https://sqs.us-east-1.amazonaws.com", fail: set[str] | None = None,
                 error: Exception | None = None):
        self.meta = type("Meta", (), {"endpoint_url": endpoint_url})()
        self.calls: list[dict] = []
        self.fail = fail or set()
        self.error = error

    def change_message_visibility_batch(self, QueueUrl, Entries):
        self.calls.append({"QueueUrl": QueueUrl, "Entries": Entries})
        if self.error:
            raise self.error
        return {"Successful": [{"Id": e["Id"]} for e in Entries if e["Id"] not in self.fail],
                "Failed": [{"Id": e["Id"], "Code": "ReceiptHandleIsInvalid", "Message": "x", "SenderFault": True}
                           for e in Entries if e["Id"] in self.fail]}


class FakeSFN:
    def __init__(self, status: str = "RUNNING", send_error: str | None = None):
        self.status = status
        self.send_error = send_error
        self.calls: list[tuple[str, dict]] = []
        self.histories: dict[str, list[dict]] = {}  # execution arn -> events, newest first

    def get_paginator(self, operation):
        assert operation == "list_executions"
        fake = self

        class Paginator:
            def paginate(self, stateMachineArn, statusFilter):
                running = list(fake.histories) if statusFilter == "RUNNING" and fake.status == "RUNNING" else []
                yield {"executions": [{"executionArn": arn} for arn in running]}

        return Paginator()

    def get_execution_history(self, executionArn, reverseOrder, maxResults):
        return {"events": self.histories[executionArn][:maxResults]}

    def describe_execution(self, executionArn):
        return {"executionArn": executionArn, "status": self.status}

    def _send(self, name, kwargs):
        if self.send_error:
            raise client_error(self.send_error)
        self.calls.append((name, kwargs))

    def send_task_success(self, **kwargs):
        self._send("success", kwargs)

    def send_task_failure(self, **kwargs):
        self._send("failure", kwargs)
