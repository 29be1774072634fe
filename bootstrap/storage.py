"""AWS::S3::Bucket: the bucket holding one record per approval task and per decision."""

from __future__ import annotations

from botocore.exceptions import ClientError

from bootstrap.changes import is_managed, is_not_found, require_managed
from bootstrap.engine import Context, Handler, Result, new

KIND = "s3 bucket"


def predict(ctx: Context, p: dict) -> Result:
    return Result(p["BucketName"], {"Arn": ctx.account.bucket(p["BucketName"])})


def _tags(client, name: str) -> list | None:
    """The bucket's tags; None when it does not exist."""
    try:
        return client.get_bucket_tagging(Bucket=name).get("TagSet", [])
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "NoSuchTagSet":
            return []
        if is_not_found(error):
            return None
        raise


def ensure(ctx: Context, p: dict, _deps_changed: bool) -> Result:
    s3, name = ctx.clients.s3, p["BucketName"]
    tags = None if ctx.empty else _tags(s3, name)
    wanted = p["VersioningConfiguration"]["Status"]
    if tags is None:
        if not ctx.changes.apply("create", KIND, name):
            return new(predict(ctx, p))
        region = ctx.account.region
        s3.create_bucket(Bucket=name, **({} if region == "us-east-1" else
                                         {"CreateBucketConfiguration": {"LocationConstraint": region}}))
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in ctx.tags.items()]})
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": wanted})
        return predict(ctx, p)
    require_managed(tags, KIND, name)
    if s3.get_bucket_versioning(Bucket=name).get("Status") != wanted and ctx.changes.apply(
            "update", KIND, name, "versioning"):
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": wanted})
    return predict(ctx, p)


def delete(ctx: Context, p: dict) -> None:
    s3, name = ctx.clients.s3, p["BucketName"]
    tags = _tags(s3, name)
    if tags is None or not is_managed(tags) or not ctx.changes.apply("delete", KIND, name):
        return
    empty_bucket(s3, name)
    s3.delete_bucket(Bucket=name)


def empty_bucket(s3, name: str) -> None:
    """Delete every version and delete marker (a versioned bucket must be empty to go)."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        versions = page.get("Versions", []) + page.get("DeleteMarkers", [])
        if versions:
            s3.delete_objects(Bucket=name, Delete={
                "Objects": [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions], "Quiet": True})


HANDLER = Handler(KIND, "BucketName", predict, ensure, delete)
