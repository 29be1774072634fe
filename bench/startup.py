"""Bench phase `up` and the settings behind the figures: a timed restart of the sandbox, what LocalStack runs with."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.pipeline import BenchError, not_running_reason
from sandbox.config import REPO_ROOT, Settings

# LocalStack's own defaults, for settings the sandbox leaves unset.
LOCALSTACK_DEFAULTS = {
    "LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC": "1",
    "LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC": "10",
    "LAMBDA_KEEPALIVE_MS": "600000",
    "LAMBDA_RUNTIME_EXECUTOR": "docker",
}

STEP_LINE = re.compile(r"^\s*(?P<step>.+?) … ok \((?P<seconds>[\d.]+) s\)", re.MULTILINE)


def _sandbox(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sandbox.cli", *args], cwd=REPO_ROOT, env=os.environ.copy(),
                          capture_output=True, text=True, timeout=300)


def restart_timed(settings: Settings) -> dict[str, Any]:
    """`sandbox down`, then a timed `sandbox up` in the same mode until deployed and healthy."""
    mode = (settings.home / "mode").read_text().strip() if (settings.home / "mode").exists() else "local"
    down = _sandbox("down")
    if down.returncode != 0:
        raise BenchError(f"`sandbox down` failed: {down.stderr.strip() or down.stdout.strip()}")
    started = time.monotonic()
    up = _sandbox("up", "--mode", mode)
    if up.returncode != 0:
        raise BenchError(f"`sandbox up --mode {mode}` failed: {up.stderr.strip() or up.stdout.strip()}")
    while not_running_reason(settings) is not None:  # `up` returns once deployed; confirm both answer
        if time.monotonic() - started > 120:
            raise BenchError(f"the sandbox was not healthy 120 s after `up`: {not_running_reason(settings)}")
        time.sleep(0.05)
    ready = time.monotonic() - started
    steps = {m["step"]: float(m["seconds"]) for m in STEP_LINE.finditer(up.stdout)}
    return {"up_ready_s": round(ready, 2), "up_mode": mode, "up_steps_s": steps}


def effective_settings(settings: Settings, localstack_pid: int | None) -> dict[str, Any]:
    """What the running LocalStack was started with (its /proc environ), LocalStack's defaults where unset."""
    environ: dict[str, str] = {}
    if localstack_pid:
        try:
            raw = Path(f"/proc/{localstack_pid}/environ").read_bytes()
            environ = dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)
        except OSError:
            pass
    known = {key: environ.get(key, default) for key, default in LOCALSTACK_DEFAULTS.items()}
    if not environ:  # docker mode or no /proc: what this environment would start it with
        known.update({
            "LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC": settings.esm_poll_interval_s,
            "LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC": settings.esm_max_backoff_s,
            "LAMBDA_RUNTIME_EXECUTOR": settings.lambda_executor,
            "LAMBDA_KEEPALIVE_MS": os.environ.get("LAMBDA_KEEPALIVE_MS", LOCALSTACK_DEFAULTS["LAMBDA_KEEPALIVE_MS"]),
        })
    return {
        "sqs_poll_interval_s": float(known["LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC"]),
        "sqs_max_backoff_on_empty_poll_s": float(known["LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC"]),
        "lambda_keepalive_ms": int(known["LAMBDA_KEEPALIVE_MS"]),
        "lambda_executor": known["LAMBDA_RUNTIME_EXECUTOR"],
        "localstack_version": _version("localstack-core"),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "machine": f"{platform.system()} {platform.machine()}",
    }


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "?"
