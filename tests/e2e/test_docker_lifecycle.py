"""Docker mode as a user drives it (issue 15): `make up` twice, with a port taken, after a code change, after a
crash, a start that fails half-way, `make status` after `make down`, and plain `docker compose up` for a user
whose uid is not 1000 with an earlier run's files lying around.

Runs under `make e2e-docker` (SANDBOX_E2E_DOCKER=1), on a compose project, image tag, home and ports of its
own, so the docker sandbox the other end-to-end tests use is never touched. The tests run in file order.
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from own_sandbox import REPO, OwnSandbox

from sandbox import workflow
from sandbox.ports import free_port
from sandbox.services import wait_url

pytestmark = pytest.mark.skipif(os.environ.get("SANDBOX_E2E_DOCKER") != "1",
                                reason="docker mode's lifecycle runs under `make e2e-docker`")

PROBE = REPO / "lambdas" / "_e2e_code_change_probe.py"
OTHER_UID = 1001  # GitHub's runners


class DockerSandbox(OwnSandbox):
    command_timeout = 900  # a `make up` that builds the images

    def __init__(self, home: Path) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.project = f"cbs-e2e-{suffix}"
        self.tag = f"e2e-{suffix}"
        super().__init__(home, MODE="docker", COMPOSE_PROJECT_NAME=self.project, SANDBOX_IMAGE_TAG=self.tag)

    def compose(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """The compose client itself, as the README's direct path uses it."""
        client = ["docker", "compose"] if subprocess.run(["docker", "compose", "version"],
                                                        capture_output=True).returncode == 0 else ["docker-compose"]
        return subprocess.run([*client, "-p", self.project, *args], cwd=REPO, env={**self.env, **env},
                              capture_output=True, text=True, timeout=900)

    def containers(self) -> dict[str, dict]:
        """`docker inspect` of this project's containers by name."""
        ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project}"],
                             capture_output=True, text=True, check=True).stdout.split()
        if not ids:
            return {}
        found = json.loads(subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True).stdout)
        return {c["Name"].lstrip("/"): c for c in found}

    def service(self, name: str) -> dict:
        [found] = [c for c in self.containers().values()
                   if c["Config"]["Labels"].get("com.docker.compose.service") == name
                   and not re.match(r"^[0-9a-f]{12}_", c["Name"].lstrip("/"))]
        return found

    def identities(self) -> dict[str, tuple[str, str, bool]]:
        return {name: (c["Id"], c["State"]["StartedAt"], c["State"]["Running"])
                for name, c in self.containers().items()}

    def waiting_request(self) -> str:
        """Start a request and wait until it waits for its approval (its email arrived)."""
        try:
            started = workflow.start(self.settings, {"title": f"docker lifecycle {uuid.uuid4().hex[:8]}"})
        except Exception as error:
            raise AssertionError(f"{error}\n{self.diagnostics()}") from error
        self.wait_mail(started.name, timeout=120)
        return started.name

    def diagnostics(self) -> str:
        """What the containers say, for a failure message."""
        parts = [self.make("status", check=False).stdout]
        for name, container in self.containers().items():
            logs = subprocess.run(["docker", "logs", "--tail", "25", name], capture_output=True, text=True)
            parts.append(f"--- {name} {container['State']['Status']} since {container['State']['StartedAt']}\n"
                         + logs.stdout[-3000:] + logs.stderr[-3000:])
        return "\n".join(parts)

    def approve_flow(self) -> None:
        self.approve(self.waiting_request())


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerSandbox]:
    sandbox = DockerSandbox(tmp_path_factory.mktemp("docker-lifecycle"))
    try:
        yield sandbox
    finally:
        PROBE.unlink(missing_ok=True)
        sandbox.make("down", check=False)
        sandbox.compose("-f", "docker-compose.yml", "down", "-v", "--remove-orphans")
        subprocess.run(["docker", "rmi", f"callback-sandbox/localstack:{sandbox.tag}"], capture_output=True)


def test_up_twice_changes_nothing_and_status_tells_the_truth(own: DockerSandbox) -> None:
    first = own.make("up")
    assert "Starting Callback Sandbox (docker mode)" in first.stdout and "Ready in" in first.stdout
    running = own.identities()
    assert len(running) == 3 and all(alive for _, _, alive in running.values())

    again = own.make("up")
    assert "Already up (docker mode)" in again.stdout and "nothing was started or changed" in again.stdout
    assert own.identities() == running, "a second `make up` restarted or replaced a container"

    status = own.make("status")
    assert "mode: docker" in status.stdout
    for service, state in (("localstack", "healthy"), ("mailcatcher", "healthy"), ("bootstrap", "deployed")):
        assert re.search(rf"^{service}\s+running \({state}\)", status.stdout, re.MULTILINE), status.stdout
    assert f"http://localhost:{own.settings.localstack_port}/_localstack/health" in status.stdout
    assert "pipeline: deployed (asked of LocalStack)" in status.stdout
    assert "0 running, 0 waiting for approval" in status.stdout
    # Issue 11 item 9: the home and what the sandbox writes there are the owner's alone.
    home = own.settings.home
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for path in home.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    own.approve_flow()


def test_a_busy_port_is_named_and_the_running_sandbox_is_untouched(own: DockerSandbox) -> None:
    running = own.identities()
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        busy = own.make("up", check=False, MAILCATCHER_PORT=str(port))
    assert busy.returncode != 0
    assert f"port {port} (MAILCATCHER_PORT) is in use by pid {os.getpid()} (" in busy.stderr, busy.stderr
    assert "Nothing was started or stopped" in busy.stderr and "Traceback" not in busy.stderr

    # A port another container publishes is named by that container.
    image = f"callback-sandbox/localstack:{own.tag}"
    other = f"{own.project}-port-holder"
    subprocess.run(["docker", "run", "-d", "--rm", "--name", other, "-p", f"127.0.0.1:{port}:8000", image,
                    "python3", "-m", "http.server", "8000"], check=True, capture_output=True)
    try:
        taken = own.make("up", check=False, SMTP_PORT=str(port))
    finally:
        subprocess.run(["docker", "rm", "-f", other], capture_output=True)
    assert taken.returncode != 0
    assert f"port {port} (SMTP_PORT) is in use by container {other}" in taken.stderr, taken.stderr
    assert own.identities() == running, "a refused `make up` touched the running sandbox"


def test_a_code_change_says_what_the_rebuild_drops(own: DockerSandbox) -> None:
    name = own.waiting_request()
    localstack = own.service("localstack")["Id"]
    PROBE.write_text("# Created by tests/e2e/test_docker_lifecycle.py for a moment: a code change.\n")
    try:
        changed = own.make("up")
    finally:
        PROBE.unlink(missing_ok=True)
    assert ("LocalStack will be recreated because its image changed (a code change): this drops 1 execution, "
            "waiting for approval") in changed.stdout, changed.stdout
    assert "LocalStack was stopped and started again" in changed.stdout
    assert "lost with it: 1 execution, waiting for approval." in changed.stdout
    assert own.service("localstack")["Id"] != localstack
    with pytest.raises(workflow.WorkflowError):
        workflow.describe(own.settings, name)
    own.approve_flow()
    # Told once: the next `make up` is quiet about it.
    assert "lost with it" not in own.make("up").stdout


def test_a_crash_is_explained_and_the_pipeline_deployed_again(own: DockerSandbox) -> None:
    own.waiting_request()
    subprocess.run(["docker", "kill", own.service("localstack")["Id"]], check=True, capture_output=True)
    down = own.make("status", check=False)
    assert "pipeline: deployed" not in down.stdout and "LocalStack does not answer" in down.stdout

    up = own.make("up")
    assert "LocalStack stopped unexpectedly (a crash or a kill)" in up.stdout, up.stdout
    assert "lost with it: 1 execution, waiting for approval." in up.stdout
    assert "pipeline: deployed" in own.make("status").stdout
    own.approve_flow()


def test_a_start_that_fails_half_way_puts_the_old_containers_back(own: DockerSandbox) -> None:
    # Compose 1.29 renames a container it replaces and leaves it when the new one cannot start: a leftover of
    # that kind from an earlier failed start is removed and named.
    own.make("up")
    image = f"callback-sandbox/localstack:{own.tag}"
    leftover = f"0123456789ab_{own.project}_mailcatcher_1"
    subprocess.run(["docker", "create", "--name", leftover, "--label", f"com.docker.compose.project={own.project}",
                    "--label", "com.docker.compose.service=mailcatcher", image, "true"], check=True,
                   capture_output=True)
    cleaned = own.make("up")
    assert f"removed 1 container(s) an earlier failed start left behind: {leftover}" in cleaned.stdout
    assert leftover not in own.containers()

    # A port taken after the check passed (between the build and compose starting the new container): the
    # start fails half-way, and the catcher that was replaced runs again on its old ports.
    catcher = own.service("mailcatcher")["Id"]
    port = free_port()
    holder = socket.socket()
    up = subprocess.Popen(["make", "--no-print-directory", "up"], cwd=REPO, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env={**own.env, "MAILCATCHER_PORT": str(port)})
    try:
        assert up.stdout is not None
        for line in up.stdout:
            if "building images" in line:  # the port check passed before the build; compose has not started
                holder.bind(("127.0.0.1", port))
                holder.listen()
                break
        out, err = up.communicate(timeout=600)
    finally:
        holder.close()
    assert up.returncode != 0, out
    assert "`docker compose up` failed" in err and "the containers it replaced run again" in err, err
    assert own.service("mailcatcher")["Id"] == catcher
    assert not [n for n in own.containers() if re.match(r"^[0-9a-f]{12}_", n)], own.containers().keys()
    wait_url(f"{own.settings.mail_url}/readyz", "the restored catcher", timeout=90)


def test_down_then_status_does_not_say_deployed(own: DockerSandbox) -> None:
    own.waiting_request()
    down = own.make("down")
    assert "Stopping LocalStack drops 1 execution, waiting for approval." in down.stdout
    assert "Stopped." in down.stdout and own.containers() == {}
    status = own.make("status", check=False)
    assert status.returncode != 0
    assert "pipeline: deployed" not in status.stdout and "mode: none" in status.stdout


def test_docker_compose_up_directly_for_another_uid_reports_this_runs_health(own: DockerSandbox) -> None:
    """The README's direct path on a GitHub runner (uid 1001), with an earlier run's outputs.json in place."""
    home = own.settings.home
    for path in [home, *home.iterdir()]:
        os.chown(path, OTHER_UID, OTHER_UID)
    home.chmod(0o755)
    (home / "deployed.json").write_text(json.dumps({"localstack_instance": "earlier", "deployer": "earlier"}))
    assert own.settings.outputs_path.exists()  # from the earlier run: must not count as this run's deploy
    build_env = {k: os.environ[k] for k in ("SANDBOX_BASE_IMAGE", "SANDBOX_WHEELS_IMAGE") if k in os.environ}
    build_env.setdefault("SANDBOX_BASE_IMAGE", "callback-sandbox/python-base:trixie")
    build_env.setdefault("SANDBOX_WHEELS_IMAGE", "callback-sandbox/wheelhouse:local")

    # A deploy that cannot succeed (a bad setting): the bootstrap service ends, and is never healthy.
    bad = own.compose("up", "-d", "--build", **build_env, APPROVAL_TIMEOUT_SECONDS="soon")
    assert bad.returncode == 0, bad.stderr
    bootstrap = _wait(lambda: own.service("bootstrap")["State"]["Status"] == "exited", 240, own)
    assert bootstrap["State"]["ExitCode"] == 2
    assert (bootstrap.get("State", {}).get("Health") or {}).get("Status") != "healthy"
    status = own.make("status", check=False)
    assert "pipeline: not deployed in the LocalStack running now" in status.stdout, status.stdout

    good = own.compose("up", "-d", "--build", **build_env)
    assert good.returncode == 0, good.stderr
    bootstrap = _wait(lambda: (own.service("bootstrap")["State"].get("Health") or {}).get("Status") == "healthy",
                      240, own)
    outputs = own.settings.outputs_path.stat()
    assert (outputs.st_uid, outputs.st_gid, stat.S_IMODE(outputs.st_mode)) == (OTHER_UID, OTHER_UID, 0o600)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    marker = json.loads((home / "deployed.json").read_text())
    assert marker["deployer"] == bootstrap["Id"][:12]
    assert "pipeline: deployed" in own.make("status").stdout
    own.approve_flow()


def _wait(ready, timeout: float, own: DockerSandbox) -> dict:  # noqa: ANN001 - a predicate
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, json.dumps(own.service("bootstrap")["State"])[:800]
        time.sleep(1)
    return own.service("bootstrap")

