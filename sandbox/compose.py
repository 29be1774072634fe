"""Docker Compose as docker mode drives it: the client, the environment docker-compose.yml reads, and the
project's containers as the engine reports them.

Users mostly have `docker compose` (v2); Debian ships `docker-compose` 1.29. Both read the same file and label
their containers the same way (`com.docker.compose.project`, `.service`, `.config-hash`), so everything that
decides (what runs, what would be recreated, what a failed start left behind) reads labels and `docker inspect`,
not either client's output.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from sandbox import build_images
from sandbox.config import REPO_ROOT, Settings
from sandbox.services import ServiceError

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SERVICES = ("localstack", "mailcatcher", "bootstrap")
LOCAL_BASE_IMAGE = "callback-sandbox/python-base:trixie"
_LABEL = "com.docker.compose"
# Compose 1.29 renames a container it replaces to `<12 hex>_<name>` and leaves it when the new one fails to start.
_RENAMED = re.compile(r"^/?[0-9a-f]{12}_")


def project() -> str:
    return os.environ.get("COMPOSE_PROJECT_NAME", "").strip() or "callback-sandbox"


def docker(*args: str, check: bool = False, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker")
    if not exe:
        raise ServiceError("no `docker` command: install Docker (or use MODE=local)")
    result = subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise ServiceError(f"`docker {' '.join(args)}` failed: {last_line(result.stderr)}")
    return result


def last_line(text: str | None) -> str:
    """The line of a client's error output that says what went wrong (compose 1.29 ends with a summary)."""
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    telling = [line for line in lines if "rror" in line and not line.startswith("Encountered errors")]
    return (telling or lines or ["(no output)"])[-1]


def engine_available() -> bool:
    try:
        return shutil.which("docker") is not None and docker("info", timeout=10).returncode == 0
    except (subprocess.TimeoutExpired, OSError):
        return False


@functools.cache
def compose_command() -> tuple[str, ...]:
    exe = shutil.which("docker")
    if exe and subprocess.run([exe, "compose", "version"], capture_output=True).returncode == 0:
        return (exe, "compose")
    legacy = shutil.which("docker-compose")
    if legacy:
        return (legacy,)
    raise ServiceError("no compose client: install Docker Compose v2 (`docker compose`) or `docker-compose`")


def compose_env(settings: Settings) -> dict[str, str]:
    """What the compose file reads: ports, the host folder, and the local base and wheel images when present."""
    env = {
        **os.environ,
        "LOCALSTACK_PORT": str(settings.localstack_port),
        "SMTP_PORT": str(settings.smtp_port),
        "MAILCATCHER_PORT": str(settings.mail_http_port),
        "SANDBOX_HOME": str(settings.home),
    }
    # An air-gapped machine (docker/make-base-image.sh, docker/make-wheelhouse.sh) builds from local parts, and
    # the wheels and Node.js SDKs come from their own images (sandbox/build_images.py) when those exist.
    if "SANDBOX_BASE_IMAGE" not in env and image_id(LOCAL_BASE_IMAGE):
        env["SANDBOX_BASE_IMAGE"] = LOCAL_BASE_IMAGE
    for side in build_images.IMAGES:
        if side.env not in env and image_id(side.tag):
            env[side.env] = side.tag
    return env


def compose(settings: Settings, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    argv = [*compose_command(), "-p", project(), "-f", str(COMPOSE_FILE), *args]
    return subprocess.run(argv, cwd=REPO_ROOT, env=compose_env(settings), capture_output=True, text=True,
                          timeout=timeout)


def image_id(name: str) -> str | None:
    try:
        result = docker("image", "inspect", "--format", "{{.Id}}", name)
    except (ServiceError, subprocess.TimeoutExpired, OSError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


@dataclass(frozen=True)
class Container:
    id: str
    name: str
    service: str
    image: str
    image_name: str
    status: str
    health: str
    started: str
    config_hash: str
    host_ports: frozenset[int]

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def renamed_leftover(self) -> bool:
        return bool(_RENAMED.match(self.name))

    def state(self) -> str:
        return f"{self.status} ({self.health})" if self.health and self.running else self.status


def _container(info: dict) -> Container:
    labels = info.get("Config", {}).get("Labels") or {}
    state = info.get("State", {})
    ports = set()
    for bindings in (info.get("HostConfig", {}).get("PortBindings") or {}).values():
        for binding in bindings or []:
            if str(binding.get("HostPort", "")).isdigit():
                ports.add(int(binding["HostPort"]))
    return Container(
        id=info["Id"], name=info.get("Name", "").lstrip("/"), service=labels.get(f"{_LABEL}.service", ""),
        image=info.get("Image", ""), image_name=info.get("Config", {}).get("Image", ""),
        status=state.get("Status", ""),
        health=(state.get("Health") or {}).get("Status", ""), started=state.get("StartedAt", ""),
        config_hash=labels.get(f"{_LABEL}.config-hash", ""), host_ports=frozenset(ports),
    )


def containers() -> list[Container]:
    """Every container of this project (running or not), as `docker inspect` sees it."""
    for _ in range(3):  # a container removed between `ps` and `inspect` fails the inspect: ask again
        ids = docker("ps", "-aq", "--no-trunc", "--filter", f"label={_LABEL}.project={project()}").stdout.split()
        if not ids:
            return []
        inspected = docker("inspect", *ids)
        if inspected.returncode == 0:
            return [c for c in map(_container, json.loads(inspected.stdout)) if c.service]
    raise ServiceError(f"cannot list the containers of project {project()}: {last_line(inspected.stderr)}")


def by_service(found: list[Container]) -> dict[str, Container]:
    return {c.service: c for c in found if not c.renamed_leftover}


def config_hashes(settings: Settings) -> dict[str, str]:
    """The config hash compose would give each service now (`config --hash`); {} when the client cannot say."""
    result = compose(settings, "config", "--hash=*", timeout=120)
    if result.returncode != 0:
        return {}
    pairs = (line.split() for line in result.stdout.splitlines())
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


def publishing_container(port: int) -> str | None:
    """The name of a running container that publishes host port `port`, if any."""
    try:
        names = docker("ps", "--filter", f"publish={port}", "--format", "{{.Names}}").stdout.split()
    except (ServiceError, subprocess.TimeoutExpired, OSError):
        return None
    return names[0] if names else None
