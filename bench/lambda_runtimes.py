"""Bench phase `lambda`: cold and warm invokes of Node.js functions beside Python's, through the `local` executor.

Two pairs of functions, created in the running sandbox and deleted afterwards: `hello` (returns at once) and `sdk`
(creates an SQS client at init, the usual shape of a handler module: boto3 on python3.13, the bundled @aws-sdk v3
on nodejs20.x). A cold invoke is the first one after a configuration change, which makes LocalStack replace the
function's environments; warm invokes follow it on the same process. Times are the Invoke call's round trip as a
client sees it; `init_ms` is the runtime's own Init Duration from the REPORT line.
"""

from __future__ import annotations

import base64
import io
import re
import statistics
import time
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

from bench.pipeline import BenchError
from sandbox import workflow
from sandbox.config import Settings

ROLE = "arn:aws:iam::000000000000:role/bench-lambda"
# language -> variant -> (runtime, handler, files)
FUNCTIONS: dict[str, dict[str, tuple[str, str, dict[str, str]]]] = {
    "python": {
        "hello": ("python3.13", "app.handler", {"app.py": "def handler(event, context):\n    return {'ok': True}\n"}),
        "sdk": ("python3.13", "app.handler", {"app.py": (
            "import boto3\n\nsqs = boto3.client('sqs')\n\n\ndef handler(event, context):\n    return {'ok': True}\n")}),
    },
    "node": {
        "hello": ("nodejs20.x", "index.handler", {"index.js": "exports.handler = async () => ({ ok: true });\n"}),
        "sdk": ("nodejs20.x", "index.handler", {"index.mjs": (
            "import { SQSClient } from '@aws-sdk/client-sqs';\n\nconst sqs = new SQSClient({});\n\n"
            "export const handler = async () => ({ ok: true });\n")}),
    },
}
INIT_DURATION = re.compile(r"Init Duration: ([\d.]+) ms")


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, source in files.items():
            archive.writestr(name, source)
    return buffer.getvalue()


def _invoke(client: Any, name: str) -> tuple[float, float | None]:
    """Round trip in ms, and the Init Duration the REPORT line gives (cold invokes only)."""
    started = time.monotonic()
    response = client.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
    elapsed = (time.monotonic() - started) * 1000
    payload = response["Payload"].read()
    if response.get("FunctionError"):
        raise BenchError(f"{name} failed: {payload.decode(errors='replace')[:300]}")
    init = INIT_DURATION.search(base64.b64decode(response.get("LogResult", "")).decode(errors="replace"))
    return elapsed, float(init[1]) if init else None


def _measure(client: Any, name: str, colds: int, warms: int) -> dict[str, float]:
    cold: list[float] = []
    init: list[float] = []
    warm: list[float] = []
    for round_ in range(colds):
        # A configuration change replaces the function's environments: the next invoke starts a fresh process.
        client.update_function_configuration(FunctionName=name, Environment={"Variables": {"ROUND": str(round_)}})
        client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1})
        elapsed, init_ms = _invoke(client, name)
        cold.append(elapsed)
        if init_ms is not None:
            init.append(init_ms)
        warm.extend(_invoke(client, name)[0] for _ in range(warms))
    return {
        "cold_ms": round(statistics.median(cold), 1),
        "init_ms": round(statistics.median(init), 1) if init else float("nan"),
        "warm_ms": round(statistics.median(warm), 1),
    }


def compare(settings: Settings, colds: int, warms: int, say: Callable[[str], None]) -> dict[str, Any]:
    client = workflow.client(settings, "lambda")
    suffix = uuid.uuid4().hex[:8]
    created: list[str] = []
    figures: dict[str, Any] = {"lambda_cold_samples": colds, "lambda_warm_samples": colds * warms}
    try:
        for language, variants in FUNCTIONS.items():
            for variant, (runtime, handler, files) in variants.items():
                name = f"bench-{language}-{variant}-{suffix}"
                client.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler,
                                       Timeout=30, Code={"ZipFile": _zip(files)})
                created.append(name)
                client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1})
                measured = _measure(client, name, colds, warms)
                say(f"  {language} {variant} ({runtime}): cold {measured['cold_ms']} ms "
                    f"(init {measured['init_ms']} ms), warm {measured['warm_ms']} ms")
                for key, value in measured.items():
                    figures[f"{language}_{variant}_{key}"] = value
    finally:
        for name in created:
            try:
                client.delete_function(FunctionName=name)
            except Exception as error:  # noqa: BLE001 - cleanup must not hide the figures
                say(f"  could not delete {name}: {error}")
    for variant in ("hello", "sdk"):
        for kind in ("cold_ms", "warm_ms"):
            python = figures[f"python_{variant}_{kind}"]
            figures[f"node_vs_python_{variant}_{kind.removesuffix('_ms')}"] = round(
                figures[f"node_{variant}_{kind}"] / python, 2) if python else None
    return figures


def table_rows(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(bench.json key, label, unit, what it depends on) of the ratio rows in the bench table."""
    rows = []
    for variant, what in (("hello", "empty handler"), ("sdk", "SQS client at init")):
        for kind in ("cold", "warm"):
            node, python = result.get(f"node_{variant}_{kind}_ms"), result.get(f"python_{variant}_{kind}_ms")
            rows.append((f"node_vs_python_{variant}_{kind}", f"{kind} invoke, {what}: Node.js ÷ Python", "×",
                         f"{node} / {python} ms p50"))
    return rows
