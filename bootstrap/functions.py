"""AWS::Lambda::Function and AWS::Lambda::EventSourceMapping: packaging lambdas/ into zips, the functions, the SQS
trigger."""

from __future__ import annotations

import base64
import hashlib
import io
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from botocore.exceptions import ClientError

from bootstrap.changes import error_code, is_managed, is_not_found, require_managed
from bootstrap.engine import Context, Handler, Result, new
from bootstrap.symbols import CodeAsset

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


FUNCTION, TRIGGER = "lambda", "event source"
CONFIGURATION = ("Role", "Runtime", "Handler", "Timeout", "MemorySize", "Description")


def zip_of(code: object) -> bytes:
    assert isinstance(code, CodeAsset)
    return package(LAMBDAS_DIR.parent / code.package)


def predict_function(ctx: Context, p: dict) -> Result:
    return Result(p["FunctionName"], {"Arn": ctx.account.function(p["FunctionName"])})


def _configuration(p: dict) -> dict:
    variables = {k: str(v) for k, v in p["Environment"]["Variables"].items()}
    return {**{k: p[k] for k in CONFIGURATION}, "Environment": {"Variables": variables}}


def _differences(current: dict, wanted: dict) -> list[str]:
    differing = [k for k in CONFIGURATION if current.get(k) != wanted[k]]
    if (current.get("Environment") or {}).get("Variables", {}) != wanted["Environment"]["Variables"]:
        differing.append("Environment")
    return differing


def _wait(client, waiter: str, name: str) -> None:
    # The waiters that read GetFunctionConfiguration, not GetFunction: LocalStack answers GetFunction with a
    # presigned URL of the code, signed for every answer (and its first needs an S3 client made).
    client.get_waiter(waiter).wait(FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 1200})


def _get(client, name: str) -> dict | None:
    try:
        return client.get_function(FunctionName=name)
    except ClientError as error:
        if is_not_found(error):
            return None
        raise


def ensure_function(ctx: Context, p: dict, _deps_changed: bool) -> Result:
    """Get or create the function; update its code or configuration only where they differ."""
    client, name = ctx.clients.awslambda, p["FunctionName"]
    zip_bytes, wanted = zip_of(p["Code"]), _configuration(p)
    found = None if ctx.empty else _get(client, name)
    if found is None:
        if not ctx.changes.apply("create", FUNCTION, name):
            return new(predict_function(ctx, p))
        created = _retry_new_role(lambda: client.create_function(
            FunctionName=name, Code={"ZipFile": zip_bytes}, Publish=False, Tags=ctx.tags, **wanted))
        # Not waiting for Active here: what refers to a function needs it to exist, not to run (wait_ready).
        return Result(name, {"Arn": created["FunctionArn"]})
    require_managed(found.get("Tags", {}), FUNCTION, name)
    current = found["Configuration"]
    differing = _differences(current, wanted)
    if differing and ctx.changes.apply("update", FUNCTION, name, ", ".join(differing)):
        client.update_function_configuration(FunctionName=name, **wanted)
        _wait(client, "function_updated", name)
    if current.get("CodeSha256") != code_sha256(zip_bytes) and ctx.changes.apply("update", FUNCTION, name, "code"):
        client.update_function_code(FunctionName=name, ZipFile=zip_bytes)
        _wait(client, "function_updated", name)
    return Result(name, {"Arn": current["FunctionArn"]})


def wait_ready(client, names: list[str]) -> None:
    """Wait until every function is Active with its last update done (they can be invoked), all at once."""
    with ThreadPoolExecutor(max(1, len(names))) as pool:
        list(pool.map(lambda name: _wait(client, "function_active", name), names))


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


def delete_function(ctx: Context, p: dict) -> None:
    client, name = ctx.clients.awslambda, p["FunctionName"]
    found = _get(client, name)
    if found and is_managed(found.get("Tags", {})) and ctx.changes.apply("delete", FUNCTION, name):
        client.delete_function(FunctionName=name)


ESM_SETTINGS = ("BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes")


def predict_trigger(ctx: Context, p: dict) -> Result:
    return Result("(new)")


def _label(p: dict) -> str:
    return f"{p['EventSourceArn'].rsplit(':', 1)[-1]} -> {p['FunctionName']}"


def ensure_trigger(ctx: Context, p: dict, _deps_changed: bool) -> Result:
    """The SQS event source mapping (with partial batch failures); its function is the demo's own."""
    client = ctx.clients.awslambda
    mappings = [] if ctx.empty else client.list_event_source_mappings(
        FunctionName=p["FunctionName"], EventSourceArn=p["EventSourceArn"]).get("EventSourceMappings", [])
    settings = {k: p[k] for k in ESM_SETTINGS}
    if not mappings:
        if not ctx.changes.apply("create", TRIGGER, _label(p)):
            return new(predict_trigger(ctx, p))
        return Result(client.create_event_source_mapping(
            FunctionName=p["FunctionName"], EventSourceArn=p["EventSourceArn"], Enabled=p["Enabled"], **settings,
        )["UUID"])
    mapping = mappings[0]
    differing = [k for k, v in settings.items() if mapping.get(k) != v]
    if mapping.get("State") in ("Disabled", "Disabling") and p["Enabled"]:
        differing.append("Enabled")
    if differing and ctx.changes.apply("update", TRIGGER, mapping["UUID"], ", ".join(differing)):
        # LocalStack rejects a batching window of 0 in an update; 0 is the default anyway.
        changed = {k: v for k, v in settings.items() if k != "MaximumBatchingWindowInSeconds" or v}
        client.update_event_source_mapping(UUID=mapping["UUID"], Enabled=p["Enabled"], **changed)
    return Result(mapping["UUID"])


def delete_trigger(ctx: Context, p: dict) -> None:
    client = ctx.clients.awslambda
    found = _get(client, p["FunctionName"])
    if not found or not is_managed(found.get("Tags", {})):
        return
    for mapping in client.list_event_source_mappings(FunctionName=p["FunctionName"]).get("EventSourceMappings", []):
        if ctx.changes.apply("delete", TRIGGER, mapping["UUID"]):
            client.delete_event_source_mapping(UUID=mapping["UUID"])


FUNCTION_HANDLER = Handler(FUNCTION, "FunctionName", predict_function, ensure_function, delete_function)
TRIGGER_HANDLER = Handler(TRIGGER, "FunctionName", predict_trigger, ensure_trigger, delete_trigger)
