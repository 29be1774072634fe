"""Docker mode: the same services from docker-compose.yml, driven through whichever compose client exists.

Users mostly have `docker compose` (v2); Debian ships `docker-compose` 1.29. Both read the same file; 1.29 has no
`--wait`, so readiness is checked here the same way as in local mode: by the services' health URLs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable

from sandbox.config import REPO_ROOT, Settings
from sandbox.services import ServiceError, url_ready, wait_url

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
PROJECT = os.environ.get("COMPOSE_PROJECT_NAME", "callback-sandbox")


def engine_available() -> bool:
    docker = shutil.which("docker")
    if not docker:
        return False
    try:
        return subprocess.run([docker, "info"], capture_output=True, timeout=5).returncode == 0
    except (subprocess.TimeoutExpired, OSError):
        return False


def compose_command() -> list[str]:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy:
        return [legacy]
    raise ServiceError("no compose client: install Docker Compose v2 (`docker compose`) or `docker-compose`")


LOCAL_BASE_IMAGE = "callback-sandbox/python-base:trixie"
WHEELHOUSE = REPO_ROOT / "wheelhouse"


def compose_env(settings: Settings) -> dict[str, str]:
    """What the compose file reads: ports, the host folder for outputs, and how to build offline when we can."""
    env = {
        **os.environ,
        "LOCALSTACK_PORT": str(settings.localstack_port),
        "SMTP_PORT": str(settings.smtp_port),
        "MAILCATCHER_PORT": str(settings.mail_http_port),
        "SANDBOX_HOME": str(settings.home),
        # The bootstrap container writes outputs.json into the bind-mounted home as the invoking user.
        "SANDBOX_UID": str(os.getuid()),
        "SANDBOX_GID": str(os.getgid()),
    }
    # An air-gapped machine (docker/make-base-image.sh, docker/make-wheelhouse.sh) builds from local parts.
    if "SANDBOX_BASE_IMAGE" not in env and _image_exists(LOCAL_BASE_IMAGE):
        env["SANDBOX_BASE_IMAGE"] = LOCAL_BASE_IMAGE
    if "SANDBOX_WHEELHOUSE" not in env and any(WHEELHOUSE.glob("*.whl")):
        env["SANDBOX_WHEELHOUSE"] = "wheelhouse"
    return env


def _image_exists(name: str) -> bool:
    docker = shutil.which("docker")
    if not docker:
        return False
    return subprocess.run([docker, "image", "inspect", name], capture_output=True).returncode == 0


def _compose(*args: str, check: bool = True, capture: bool = False,
             settings: Settings | None = None) -> subprocess.CompletedProcess[str]:
    argv = [*compose_command(), "-p", PROJECT, "-f", str(COMPOSE_FILE), *args]
    env = compose_env(settings or Settings())
    result = subprocess.run(argv, cwd=REPO_ROOT, text=True, capture_output=capture, env=env)
    if check and result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()[-1:] if capture else []
        raise ServiceError(f"`{' '.join(argv[len(compose_command()):])}` failed" + (f": {detail[0]}" if detail else ""))
    return result


def up(settings: Settings, progress: Callable[[str], Callable[[], None]]) -> None:
    if not engine_available():
        raise ServiceError("no Docker engine answers (`docker info` failed); use MODE=local or start Docker")
    settings.home.mkdir(parents=True, exist_ok=True)
    previous_outputs = settings.outputs_path.stat().st_mtime if settings.outputs_path.exists() else 0.0
    done = progress("docker compose up")
    _compose("up", "-d", "--build", settings=settings)
    done()
    for name, url in (
        ("localstack", f"{settings.localstack_url}/_localstack/health"),
        ("mailcatcher", f"{settings.mail_url}/readyz"),
    ):
        done = progress(name)
        wait_url(url, name, timeout=180, hint="; see `make logs`")
        done()
    done = progress("deploying the pipeline (bootstrap service)")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if settings.outputs_path.exists() and settings.outputs_path.stat().st_mtime > previous_outputs:
            json.loads(settings.outputs_path.read_text())
            done()
            return
        time.sleep(0.5)
    raise ServiceError("the bootstrap service wrote no outputs in 180 s; see `make logs`")


def down(settings: Settings) -> bool:
    was_running = running(settings)
    _compose("down", "--remove-orphans", settings=settings)
    return was_running


def running(settings: Settings) -> bool:
    if not shutil.which("docker"):
        return False
    result = _compose("ps", "-q", check=False, capture=True, settings=settings)
    return bool(result.stdout.strip())


def status(settings: Settings) -> int:
    _compose("ps", check=False, settings=settings)
    return 0 if url_ready(f"{settings.localstack_url}/_localstack/health") and url_ready(
        f"{settings.mail_url}/readyz"
    ) else 3


def logs(settings: Settings, follow: bool) -> int:
    return _compose("logs", *(["-f"] if follow else ["--tail", "100"]), check=False, settings=settings).returncode
