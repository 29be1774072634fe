"""Docker mode: the services of docker-compose.yml, started so that the user always knows where they stand.

`up` builds first (a failed build touches nothing), says beforehand when a code or settings change will
recreate LocalStack (dropping its executions), starts what is missing, and waits for the health URLs and for
the `bootstrap` service to have deployed into the LocalStack running now. A second `up` finds everything up to
date and changes nothing. When compose fails half-way, the containers it replaced are put back.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sandbox import build_images, restarts
from sandbox.compose import (
    SERVICES,
    Container,
    by_service,
    compose,
    config_hashes,
    containers,
    docker,
    engine_available,
    image_id,
    last_line,
)
from sandbox.config import Settings, ensure_private_dir
from sandbox.deployment import deployed_into_running
from sandbox.services import ServiceError, url_ready, wait_url

Step = Callable[[str], Callable[[], None]]
DEPLOY_TIMEOUT = 180


def require_engine() -> None:
    if not engine_available():
        raise ServiceError("no Docker engine answers (`docker info` failed); start Docker or use MODE=local")


def running_ports() -> set[int]:
    """Host ports the project's running containers publish (theirs to keep, not a conflict)."""
    return {port for c in containers() if c.running for port in c.host_ports}


def up(settings: Settings, say: Callable[[str], None], step: Step) -> set[str]:
    """Start or update the sandbox; returns the services whose container was created, recreated or started."""
    ensure_private_dir(settings.home)
    found = containers()
    _remove_leftovers(found, say)
    before = by_service(found)

    build_images.ensure(say)
    done = step(f"building images (log: {settings.home / 'docker-build.log'})")
    _build(settings)
    done()
    _warn_recreation(settings, before, say)

    done = step("docker compose up")
    result = compose(settings, "up", "-d", "--remove-orphans")
    if result.returncode != 0:
        restored = _restore(before)
        raise ServiceError(f"`docker compose up` failed: {last_line(result.stderr)}"
                           + ("; the containers it replaced run again" if restored else ""))
    done()
    for name, url in (("localstack", f"{settings.localstack_url}/_localstack/health"),
                      ("mailcatcher", f"{settings.mail_url}/readyz")):
        done = step(name)
        wait_url(url, name, timeout=180, hint="; see `make logs`")
        done()
    done = step("deploying the pipeline (bootstrap service)")
    _wait_deployed(settings)
    done()
    after = by_service(containers())
    return {s for s in SERVICES if s in after and _changed(before.get(s), after[s])}


def _changed(before: Container | None, after: Container) -> bool:
    return before is None or not before.running or before.id != after.id or before.started != after.started


def _build(settings: Settings) -> None:
    log = settings.home / "docker-build.log"
    result = compose(settings, "build")
    log.write_text(result.stdout + result.stderr)
    log.chmod(0o600)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise ServiceError(f"building the images failed (nothing was changed); see {log}:\n{tail}")


def _warn_recreation(settings: Settings, before: dict[str, Container], say: Callable[[str], None]) -> None:
    """Say before `up` that a changed image or setting will recreate LocalStack and drop its executions."""
    localstack = before.get("localstack")
    if localstack is None or not localstack.running:
        return
    wanted = config_hashes(settings).get("localstack")
    built = image_id(localstack.image_name)
    if (wanted is None or wanted == localstack.config_hash) and built in (None, localstack.image):
        return
    why = "its image changed (a code change)" if built not in (None, localstack.image) else "its settings changed"
    answer = restarts.journal(settings) or {}
    running, waiting = int(answer.get("running", 0)), int(answer.get("waiting", 0))
    dropped = restarts.executions_phrase(running, waiting) if running else "no running executions"
    say(f"  LocalStack will be recreated because {why}: this drops {dropped} (LocalStack keeps no state).")


def _remove_leftovers(found: list[Container], say: Callable[[str], None]) -> None:
    leftovers = [c for c in found if c.renamed_leftover and not c.running]
    for container in leftovers:
        docker("rm", "-f", container.id)
    if leftovers:
        say(f"  removed {len(leftovers)} container(s) an earlier failed start left behind: "
            + ", ".join(c.name for c in leftovers))


def _restore(before: dict[str, Container]) -> bool:
    """After a failed `up`: put back the containers compose renamed and stopped, remove what it left half-made."""
    restored = False
    now = containers()
    current = by_service(now)
    for leftover in (c for c in now if c.renamed_leftover):
        previous = before.get(leftover.service)
        replacement = current.get(leftover.service)
        if previous is None or previous.id != leftover.id or not previous.running:
            docker("rm", "-f", leftover.id)
            continue
        if replacement is not None and replacement.running:
            docker("rm", "-f", leftover.id)
            continue
        if replacement is not None:
            docker("rm", "-f", replacement.id)
        docker("rename", leftover.id, leftover.name.split("_", 1)[1])
        restored |= docker("start", leftover.id).returncode == 0
    return restored


def _wait_deployed(settings: Settings) -> None:
    deadline = time.monotonic() + DEPLOY_TIMEOUT
    while time.monotonic() < deadline:
        bootstrap = by_service(containers()).get("bootstrap")
        if bootstrap is None:
            raise ServiceError("the bootstrap service has no container; see `make logs`")
        if not bootstrap.running:
            logs = docker("logs", "--tail", "15", bootstrap.id)
            raise ServiceError(f"the bootstrap service stopped ({bootstrap.status}) without deploying:\n"
                               + (logs.stdout + logs.stderr).strip())
        if deployed_into_running(settings, deployer=bootstrap.id[:12]):
            return
        time.sleep(0.5)
    raise ServiceError(f"the bootstrap service did not deploy in {DEPLOY_TIMEOUT} s; see `make logs`")


def down(settings: Settings) -> bool:
    was_running = running()
    result = compose(settings, "down", "--remove-orphans", timeout=300)
    if result.returncode != 0:
        raise ServiceError(f"`docker compose down` failed: {last_line(result.stderr)}")
    for leftover in containers():  # compose 1.29 does not count renamed ones as the project's
        docker("rm", "-f", leftover.id)
    return was_running


def running() -> bool:
    try:
        return any(c.running for c in containers())
    except ServiceError:
        return False


def status_rows(settings: Settings) -> list[tuple[str, str, str, str, str]]:
    """(service, state, container, health URL, logs) for `make status`. The state is checked now, not read
    from Docker's health status, which lags by up to a healthcheck interval."""
    current = by_service(containers())
    urls = {"localstack": f"{settings.localstack_url}/_localstack/health", "mailcatcher": f"{settings.mail_url}/readyz",
            "bootstrap": "(deployed into the LocalStack running now)"}
    rows = []
    for service in SERVICES:
        container = current.get(service)
        if container is None:
            rows.append((service, "stopped", "-", urls[service], "-"))
            continue
        if not container.running:
            state = container.status
        elif service == "bootstrap":
            deployed = deployed_into_running(settings, deployer=container.id[:12])
            state = "running (deployed)" if deployed else "running (deploying)"
        else:
            state = "running (healthy)" if url_ready(urls[service]) else "running (not answering yet)"
        rows.append((service, state, container.name, urls[service], f"docker logs {container.name}"))
    return rows


HEALTHY_STATES = ("running (healthy)", "running (deployed)")


def logs(settings: Settings, follow: bool) -> int:
    import subprocess

    from sandbox.compose import COMPOSE_FILE, compose_command, compose_env, project

    argv = [*compose_command(), "-p", project(), "-f", str(COMPOSE_FILE), "logs",
            *(["-f"] if follow else ["--tail", "100"])]
    return subprocess.run(argv, env=compose_env(settings)).returncode
