"""Lambda functions: packaging lambdas/ into zips, creating/updating functions, the SQS event source mapping."""

from __future__ import annotations

import base64
import hashlib
import io
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ClientError

from bootstrap.changes import Changes, error_code, is_not_found

LAMBDAS_DIR = Path(__file__).resolve().parent.parent / "lambdas"
# A fixed timestamp makes the zip (and so its CodeSha256) depend on the code only: a redeploy changes nothing.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


def package(source_dir: Path = LAMBDAS_DIR) -> bytes:
    """A zip of the `lambdas` package, the same for every function: each handler imports the approval contract
    (lambdas/approval.py) beside it, so Lambdas, web UI and bench share one copy of it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source_dir.glob("*.py")):
            info = zipfile.ZipInfo(f"{source_dir.name}/{path.name}", date_time=ZIP_TIMESTAMP)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def code_sha256(zip_bytes: bytes) -> str:
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    module: str
    role_arn: str
    runtime: str
    timeout: int
    environment: dict[str, str]
    memory: int = 256

    @property
    def handler(self) -> str:
        return f"lambdas.{self.module}.handler"


def _configuration(spec: FunctionSpec) -> dict:
    return {
        "Role": spec.role_arn,
        "Runtime": spec.runtime,
        "Handler": spec.handler,
        "Timeout": spec.timeout,
        "MemorySize": spec.memory,
        "Environment": {"Variables": dict(spec.environment)},
    }


def _differences(current: dict, wanted: dict) -> list[str]:
    differing = [k for k in ("Role", "Runtime", "Handler", "Timeout", "MemorySize") if current.get(k) != wanted[k]]
    if (current.get("Environment") or {}).get("Variables", {}) != wanted["Environment"]["Variables"]:
        differing.append("Environment")
    return differing


def _wait(client, waiter: str, name: str) -> None:
    client.get_waiter(waiter).wait(FunctionName=name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 240})


def ensure_function(client, spec: FunctionSpec, changes: Changes, *, arn: str, source_dir: Path = LAMBDAS_DIR) -> str:
    """Get or create the function; update its code or configuration only where they differ."""
    zip_bytes = package(source_dir)
    wanted = _configuration(spec)
    try:
        current = client.get_function(FunctionName=spec.name)["Configuration"]
    except ClientError as error:
        if not is_not_found(error):
            raise
        if not changes.apply("create", "lambda", spec.name):
            return arn
        created = _retry_new_role(lambda: client.create_function(
            FunctionName=spec.name, Code={"ZipFile": zip_bytes}, Publish=False, **wanted,
            Description="Callback Sandbox approval pipeline",
        ))
        _wait(client, "function_active_v2", spec.name)
        return created["FunctionArn"]

    differing = _differences(current, wanted)
    if differing and changes.apply("update", "lambda", spec.name, ", ".join(differing)):
        client.update_function_configuration(FunctionName=spec.name, **wanted)
        _wait(client, "function_updated_v2", spec.name)
    if current.get("CodeSha256") != code_sha256(zip_bytes) and changes.apply("update", "lambda", spec.name, "code"):
        client.update_function_code(FunctionName=spec.name, ZipFile=zip_bytes)
        _wait(client, "function_updated_v2", spec.name)
    return current["FunctionArn"]


def _retry_new_role(create):
    """On AWS a just-created role takes seconds to become assumable by Lambda; LocalStack never needs this."""
    for attempt in range(10):
        try:
            return create()
        except ClientError as error:
            role_not_ready = error_code(error) == "InvalidParameterValueException" and "role" in str(error).lower()
            if not role_not_ready or attempt == 9:
                raise
            time.sleep(2)
    raise AssertionError("unreachable")


def delete_function(client, name: str, changes: Changes) -> None:
    try:
        client.get_function(FunctionName=name)
    except ClientError as error:
        if is_not_found(error):
            return
        raise
    if changes.apply("delete", "lambda", name):
        client.delete_function(FunctionName=name)


ESM_SETTINGS = {
    "BatchSize": 10,
    "MaximumBatchingWindowInSeconds": 0,
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
}


def ensure_queue_trigger(client, function_name: str, queue_arn: str, changes: Changes) -> str:
    """The SQS event source mapping (with partial batch failures); returns its UUID."""
    mappings = client.list_event_source_mappings(FunctionName=function_name, EventSourceArn=queue_arn)
    existing = mappings.get("EventSourceMappings", [])
    if not existing:
        if not changes.apply("create", "event source", f"{queue_arn.rsplit(':', 1)[-1]} -> {function_name}"):
            return "(new)"
        return client.create_event_source_mapping(
            FunctionName=function_name, EventSourceArn=queue_arn, Enabled=True, **ESM_SETTINGS
        )["UUID"]
    mapping = existing[0]
    differing = [k for k, v in ESM_SETTINGS.items() if mapping.get(k) != v]
    if mapping.get("State") in ("Disabled", "Disabling"):
        differing.append("Enabled")
    if differing and changes.apply("update", "event source", mapping["UUID"], ", ".join(differing)):
        settings = {k: v for k, v in ESM_SETTINGS.items() if k != "MaximumBatchingWindowInSeconds" or v}
        client.update_event_source_mapping(UUID=mapping["UUID"], Enabled=True, **settings)
    return mapping["UUID"]


def delete_queue_triggers(client, function_name: str, changes: Changes) -> None:
    try:
        mappings = client.list_event_source_mappings(FunctionName=function_name).get("EventSourceMappings", [])
    except ClientError as error:
        if is_not_found(error):
            return
        raise
    for mapping in mappings:
        if changes.apply("delete", "event source", mapping["UUID"]):
            client.delete_event_source_mapping(UUID=mapping["UUID"])
