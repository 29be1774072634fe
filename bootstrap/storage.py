"""The sandbox bucket holding one record per approval task and per decision."""

from __future__ import annotations

from botocore.exceptions import ClientError

from bootstrap.changes import Changes, is_not_found


def ensure_bucket(client, name: str, region: str, changes: Changes, *, arn: str) -> str:
    """Get or create the bucket, versioned.

    Versioning matters: LocalStack serialises conditional writes (IfNoneMatch) per key only in versioned buckets,
    and "exactly one decision per task" rests on that write being atomic.
    """
    try:
        client.head_bucket(Bucket=name)
        exists = True
    except ClientError as error:
        if not is_not_found(error):
            raise
        exists = False
    if not exists:
        if not changes.apply("create", "s3 bucket", name):
            return arn
        kwargs = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        client.create_bucket(Bucket=name, **kwargs)
    versioning = client.get_bucket_versioning(Bucket=name).get("Status")
    if versioning != "Enabled" and (not exists or changes.apply("update", "s3 bucket", name, "versioning")):
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return arn


def delete_bucket(client, name: str, changes: Changes) -> None:
    try:
        client.head_bucket(Bucket=name)
    except ClientError as error:
        if is_not_found(error):
            return
        raise
    if not changes.apply("delete", "s3 bucket", name):
        return
    paginator = client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=name):
        versions = page.get("Versions", []) + page.get("DeleteMarkers", [])
        if versions:
            client.delete_objects(
                Bucket=name,
                Delete={"Objects": [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions], "Quiet": True},
            )
    client.delete_bucket(Bucket=name)
