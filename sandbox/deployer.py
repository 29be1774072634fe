"""Docker mode's `bootstrap` service: deploy the pipeline into LocalStack, again whenever LocalStack restarts.

    python -m sandbox.deployer           wait for LocalStack, deploy, then watch for a restart (until stopped)
    python -m sandbox.deployer --check   healthcheck: exit 0 only if this container deployed into the LocalStack
                                         running now (an earlier run's files never count)

It runs as root in the container and writes into the bind-mounted sandbox home, so every file it writes there is
handed to the folder's owner (the user who cloned the repository, whatever their uid) with mode 0600, and the
folder is made 0700. A settings error ends the service (exit 2); an unreachable or restarting LocalStack is
waited for.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
from pathlib import Path

from sandbox.config import PRIVATE_UMASK, Settings
from sandbox.deployment import MARKER, deployed_into_running, localstack_instance, record_deployed
from sandbox.services import url_ready

WATCH_SECONDS = 1.0
RETRY_SECONDS = 2.0


def hand_over(home: Path, names: tuple[str, ...]) -> None:
    """Make `home` 0700 and the named files in it 0600, owned by the folder's owner."""
    folder = home.stat()
    if os.geteuid() == 0:
        home.chmod(0o700)
    for name in names:
        path = home / name
        if not path.exists():
            continue
        path.chmod(0o600)
        if os.geteuid() == 0 and folder.st_uid != 0:
            os.chown(path, folder.st_uid, folder.st_gid)


def deploy_once(settings: Settings, instance: str) -> None:
    import bootstrap

    outputs = bootstrap.deploy(settings, report=lambda change: print(change, flush=True))
    record_deployed(settings, instance, deployer=socket.gethostname())
    hand_over(settings.home, (settings.outputs_path.name, MARKER))
    print(f"Deployed {outputs['state_machine_name']} into LocalStack {instance[:8]}; "
          f"approve/reject links at {outputs['api_url']}", flush=True)


def watch(settings: Settings, stop: threading.Event) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from bootstrap.config import ConfigError

    deployed_into = None
    waiting_said = False
    while not stop.is_set():
        instance = localstack_instance(settings)
        ready = instance and url_ready(f"{settings.localstack_url}/_localstack/health")
        if not ready and not waiting_said:
            print(f"Waiting for LocalStack at {settings.localstack_url} …", flush=True)
            waiting_said = True
        if ready and instance != deployed_into:
            try:
                deploy_once(settings, str(instance))
                deployed_into, waiting_said = instance, False
            except ConfigError as error:
                print(f"error: {error}", file=sys.stderr, flush=True)
                return 2
            except (ClientError, BotoCoreError, OSError) as error:
                print(f"deploy failed, retrying in {RETRY_SECONDS:.0f} s: {error}", file=sys.stderr, flush=True)
                stop.wait(RETRY_SECONDS)
                continue
        stop.wait(WATCH_SECONDS)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.deployer", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 0 when the running LocalStack is deployed")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.check:
        return 0 if deployed_into_running(settings, deployer=socket.gethostname()) else 1
    os.umask(PRIVATE_UMASK)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    return watch(settings, stop)


if __name__ == "__main__":
    sys.exit(main())
