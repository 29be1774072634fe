"""`make up`, `make down` and `make status` in both modes, said so the user always knows where they stand.

- up: checks its ports before touching anything (and names who holds a busy one), starts only what is not
  running, deploys, says when nothing changed, and tells what a restart since the last `up` lost.
- down: says what stopping drops, then stops everything `up` started.
- status: services and health URLs, and what is deployed right now, asked of LocalStack.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox import compose, deployment, docker_mode, restarts
from sandbox.config import Settings, ensure_private_dir
from sandbox.ports import describe_holder, in_use
from sandbox.progress import step
from sandbox.services import ServiceError, local_services
from sandbox.terminal import say, table

MODES = ("local", "docker", "auto")


def mode_file(settings: Settings) -> Path:
    return settings.home / "mode"


def recorded_mode(settings: Settings) -> str | None:
    try:
        mode = mode_file(settings).read_text().strip()
    except OSError:
        return None
    return mode if mode in ("local", "docker") else None


def running_mode(settings: Settings) -> str | None:
    """The mode whose services run now: the recorded one, else docker when the project's containers run."""
    recorded = recorded_mode(settings)
    if recorded:
        return recorded
    if any(service.pid() is not None for service in local_services(settings)):
        return "local"
    if compose.engine_available() and docker_mode.running():
        return "docker"  # e.g. started with `docker compose up` directly
    return None


def anything_running(mode: str, settings: Settings) -> bool:
    if mode == "docker":
        return docker_mode.running()
    return any(service.pid() is not None for service in local_services(settings))


def wanted_ports(settings: Settings) -> dict[str, int]:
    return {"LOCALSTACK_PORT": settings.localstack_port, "SMTP_PORT": settings.smtp_port,
            "MAILCATCHER_PORT": settings.mail_http_port}


def check_ports(settings: Settings, ours: set[int], docker: bool) -> None:
    """ServiceError naming every busy port and who holds it; `ours` are held by the sandbox itself."""
    wanted = wanted_ports(settings)
    if len(set(wanted.values())) < len(wanted):
        raise ServiceError(f"two services were given the same port: {wanted}")
    problems = []
    for name, port in wanted.items():
        if port in ours:
            continue
        container = compose.publishing_container(port) if docker or in_use(port, settings.bind_host) else None
        if container is None and not in_use(port, settings.bind_host):
            continue
        holder = f"container {container}" if container else describe_holder(port)
        problems.append(f"port {port} ({name}) is in use by {holder}")
    if problems:
        example = next(name for name, port in wanted.items() if port not in ours and any(
            f"port {port} " in p for p in problems))
        raise ServiceError("; ".join(problems) + ". Nothing was started or stopped. Stop it, or choose another "
                           f"port, e.g. `{example}={wanted[example] + 1} make up`.")


def up(settings: Settings, mode: str, deploy: bool) -> None:
    recorded = recorded_mode(settings)
    if recorded and recorded != mode and anything_running(recorded, settings):
        raise ServiceError(f"the sandbox is running in {recorded} mode; run `make down` first")
    ensure_private_dir(settings.home)
    started = time.monotonic()
    say(f"Starting Callback Sandbox ({mode} mode)")
    if mode == "docker":
        docker_mode.require_engine()
        check_ports(settings, ours=docker_mode.running_ports(), docker=True)
        mode_file(settings).write_text("docker\n")
        changed = docker_mode.up(settings, say, step)
    else:
        changed = _up_local(settings, deploy)
    say(f"Ready in {time.monotonic() - started:.1f} s")
    if not changed:
        say(f"Already up ({mode} mode): every service was running and healthy; nothing was started or changed.")
    restarts.tell_losses(settings, say)


def _up_local(settings: Settings, deploy: bool) -> set[str]:
    services = local_services(settings)
    running = {service.spec.name: service.pid() for service in services}
    ours = set()
    for service in services:
        if running[service.spec.name] is not None:
            ours |= {settings.localstack_port} if service.spec.name == "localstack" else {
                settings.smtp_port, settings.mail_http_port}
    check_ports(settings, ours=ours, docker=False)
    mode_file(settings).write_text("local\n")
    changed = set()
    started = time.monotonic()
    for service in services:  # all at once: each starts in its own process, side by side
        if running[service.spec.name] is None:
            service.start()
            changed.add(service.spec.name)
    # Meanwhile this process loads the deployer (boto3 and all) and makes its clients, on the other core, which it
    # would otherwise do once LocalStack answers.
    prepared: list[Any] = []
    loading = threading.Thread(target=lambda: prepared.append(_deploy_clients(settings)), daemon=True)
    if deploy:
        loading.start()
    for service in services:
        pid = running[service.spec.name]
        label = f"{service.spec.name} (already running, pid {pid})" if pid else service.spec.name
        service.wait_ready(timeout=90)
        say(f"  {label} … ok ({time.monotonic() - started:.1f} s)")
    if deploy:
        done = step("deploying the pipeline")
        loading.join()
        from botocore.exceptions import ClientError

        from bootstrap import deploy as deploy_pipeline

        made: list[object] = []
        clients = prepared[0] if prepared else None
        try:
            # A LocalStack started just now holds nothing (local mode keeps no state): create without looking.
            deploy_pipeline(settings, report=made.append, clients=clients, empty="localstack" in changed)
        except ClientError:
            if "localstack" not in changed:
                raise
            # Something made resources in it first (a create failed): look at each resource, as any deploy does.
            deploy_pipeline(settings, report=made.append, clients=clients)
        settings.outputs_path.chmod(0o600)
        done()
        if made:
            changed.add("pipeline")
    return changed


def _deploy_clients(settings: Settings) -> Any:
    """The deployer's boto3 clients (importing it first): they open no connection until the deploy's first call."""
    return importlib.import_module("bootstrap").Clients(settings)


def down(settings: Settings, mode: str | None) -> bool:
    """Stop what `up` started; returns whether anything ran."""
    if mode is not None and anything_running(mode, settings):
        restarts.tell_what_stopping_drops(settings, say)
    stopped = False
    if mode == "docker":
        stopped = docker_mode.down(settings)
    else:
        # Stop in reverse start order so LocalStack's relay does not spend its retries on a vanished catcher.
        for service in reversed(local_services(settings)):
            done = step(f"stopping {service.spec.name}")
            if service.stop():
                stopped = True
                done()
            else:
                print(" not running", flush=True)
    mode_file(settings).unlink(missing_ok=True)
    return stopped


def status(settings: Settings) -> int:
    """Print services, health and the deployment; 0 when all is healthy, 3 otherwise."""
    mode = running_mode(settings)
    say(f"mode: {mode}" if mode else "mode: none (nothing runs; `make up` starts the sandbox)")
    if mode == "docker":
        rows = docker_mode.status_rows(settings)
        table(("service", "state", "container", "health URL", "logs"), rows)
        healthy = all(row[1] in docker_mode.HEALTHY_STATES for row in rows)
    else:
        rows, healthy = [], True
        for service in local_services(settings):
            pid = service.pid()
            ready = service.ready() if pid else False
            healthy &= ready
            state = "ready" if ready else ("starting or unhealthy" if pid else "stopped")
            rows.append((service.spec.name, state, str(pid or "-"), service.spec.ready_url, str(service.log_path)))
        table(("service", "state", "pid", "health URL", "log"), rows)
    healthy &= _print_pipeline(settings)
    return 0 if healthy else 3


def _print_pipeline(settings: Settings) -> bool:
    pipeline = deployment.inspect(settings)
    if not pipeline.localstack_up:
        say(f"pipeline: unknown, LocalStack does not answer at {settings.localstack_url} (`make up` deploys it)")
        return False
    if not pipeline.outputs:
        say("pipeline: not deployed (`make deploy`)")
        return False
    if pipeline.missing:
        say(f"pipeline: not deployed in the LocalStack running now ({' and '.join(pipeline.missing)} missing; "
            f"{settings.outputs_path} is from an earlier run); `make deploy`")
        return False
    say("pipeline: deployed (asked of LocalStack)")
    say(f"  state machine: {pipeline.outputs.get('state_machine_arn', '?')}")
    say(f"  approval API:  {pipeline.outputs.get('api_url', '?')}")
    answer = restarts.journal(settings)
    if answer is not None:
        say(f"  executions:    {int(answer.get('running', 0))} running, {int(answer.get('waiting', 0))} waiting "
            "for approval")
        losses = [r for r in answer.get("restarts", []) if isinstance(r, dict) and r.get("running")]
        if losses:
            say(f"  last loss:     {restarts.loss_sentence(losses[-1], advice=False)}")
    return True


def choose(requested: str, settings: Settings, engine: Callable[[], bool] = compose.engine_available) -> str:
    """auto: the mode already running, else docker when an engine answers, else local."""
    if requested not in MODES:
        raise ServiceError(f"MODE must be one of {', '.join(MODES)}, not {requested!r}")
    if requested != "auto":
        return requested
    return recorded_mode(settings) or ("docker" if engine() else "local")
