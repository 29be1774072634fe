"""docker-compose.yml checked without a Docker engine, and with the compose clients that exist here.

The file is read with PyYAML; `${VAR:-default}` is resolved to its default the way compose does when the
variable is unset, so the checks see what a user gets from a plain `docker compose up`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKER_EXECUTOR_OVERRIDE = REPO_ROOT / "docker" / "compose.docker-executor.yml"
LOCALSTACK_IMAGE_OVERRIDE = REPO_ROOT / "docker" / "compose.localstack-image.yml"
LOCALSTACK_DOCKERFILE = REPO_ROOT / "docker" / "localstack.Dockerfile"
EXPECTED_SERVICES = {"localstack", "mailcatcher", "bootstrap"}
ALLOWED_CONDITIONS = {"service_healthy", "service_completed_successfully"}

_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def with_defaults(value: object) -> object:
    """Resolve `${VAR:-default}` / `${VAR}` as compose does with VAR unset (pure, recursive)."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda m: m.group("default") or "", value)
    if isinstance(value, list):
        return [with_defaults(v) for v in value]
    if isinstance(value, dict):
        return {k: with_defaults(v) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(raw: dict) -> dict:
    return with_defaults(raw["services"])  # type: ignore[return-value]


def test_with_defaults_resolves_like_compose() -> None:
    assert with_defaults("127.0.0.1:${LOCALSTACK_PORT:-4566}:4566") == "127.0.0.1:4566:4566"
    assert with_defaults({"a": ["${X}", "${Y:-y}z"]}) == {"a": ["", "yz"]}


def test_services_are_the_sandbox(services: dict) -> None:
    assert set(services) == EXPECTED_SERVICES


def test_every_service_has_a_health_check(services: dict) -> None:
    for name, service in services.items():
        check = service.get("healthcheck") or {}
        assert check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable"), f"{name} disables its healthcheck"
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name


def test_ports_are_published_on_loopback_only(services: dict) -> None:
    published = {}
    for name, service in services.items():
        for port in service.get("ports", []):
            assert isinstance(port, str), f"{name}: use the short form so the host IP is explicit"
            host_ip, host_port, container_port = port.split(":")
            assert host_ip == "127.0.0.1", f"{name} publishes {port} beyond loopback"
            published[int(host_port)] = (name, int(container_port.split("/")[0]))
    assert published == {
        4566: ("localstack", 4566),
        1025: ("mailcatcher", 1025),
        8025: ("mailcatcher", 8025),
    }


def test_depends_on_waits_for_conditions(services: dict) -> None:
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: a depends_on list would not wait for health"
        for dependency, spec in depends_on.items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert spec.get("condition") in ALLOWED_CONDITIONS, f"{name} -> {dependency}: {spec}"
    assert services["bootstrap"]["depends_on"]["localstack"]["condition"] == "service_healthy"
    assert services["bootstrap"]["depends_on"]["mailcatcher"]["condition"] == "service_healthy"


def test_images_are_named_and_pinned(services: dict) -> None:
    for name, service in services.items():
        image = service.get("image", "")
        repository, _, tag = image.rpartition(":")
        assert repository and tag, f"{name}: image {image!r} has no explicit tag"
        assert tag != "latest", f"{name} uses a latest tag"
        if "build" in service:
            base = service["build"]["args"]["BASE_IMAGE"]
            assert ":" in base and not base.endswith(":latest"), f"{name}: base image {base!r} not pinned"


def test_images_come_from_builds_here_never_from_a_registry(services: dict) -> None:
    built_here = {s["image"] for s in services.values() if "build" in s}
    for name, service in services.items():
        if "build" not in service:
            assert service["image"] in built_here, f"{name} would pull {service['image']}"
            assert service.get("pull_policy") == "never", name


def test_dockerfile_base_image_is_an_argument_with_a_pinned_default() -> None:
    text = LOCALSTACK_DOCKERFILE.read_text()
    default = re.search(r"^ARG BASE_IMAGE=(\S+)$", text, re.MULTILINE)
    assert default and ":" in default.group(1) and not default.group(1).endswith(":latest")
    # Every stage starts from the base image, the wheels image (default: an empty stage) or an earlier stage.
    stages: list[str] = []
    for line in text.splitlines():
        if line.startswith("FROM "):
            words = line.split()
            assert words[1] in ("${BASE_IMAGE}", "${WHEELS_IMAGE}", "${NODE_SDKS_IMAGE}", *stages), line
            stages += words[3:4]
    assert re.search(r"^ARG WHEELS_IMAGE=no-wheels$", text, re.MULTILINE) and "no-wheels" in stages
    assert re.search(r"^ARG NODE_SDKS_IMAGE=no-node-sdks$", text, re.MULTILINE) and "no-node-sdks" in stages
    assert "--no-index --find-links" in text


def test_the_build_context_is_the_source_without_wheels_or_local_state() -> None:
    """What compose sends per build, computed with docker-py's own .dockerignore rules (compose 1.29 uses them)."""
    from docker.utils.build import exclude_paths

    patterns = [line.strip() for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    sent = exclude_paths(str(REPO_ROOT), patterns, dockerfile="docker/localstack.Dockerfile")
    assert {"lambdas/decide.py", "sandbox/deployer.py", "localstack-plugin/pyproject.toml", "constraints.txt",
            "docker/requirements.txt", "mailcatcher/requirements.txt"} <= sent
    assert not [p for p in sent if p.startswith(("wheelhouse", ".venv", ".sandbox", ".git/", "test-artifacts"))]
    assert not [p for p in sent if p.endswith(".whl") or "node_modules" in p]
    size = sum((REPO_ROOT / p).stat().st_size for p in sent if (REPO_ROOT / p).is_file())
    assert size < 5 * 1024 * 1024, f"{size / 1e6:.1f} MB of build context"


def test_localstack_is_the_pinned_release_with_the_local_executor(services: dict) -> None:
    requirements = (REPO_ROOT / "docker" / "requirements.txt").read_text()
    assert "localstack-core[runtime]==4.14.0" in requirements.splitlines()
    env = services["localstack"]["environment"]
    assert env["LAMBDA_RUNTIME_EXECUTOR"] == "local"
    assert env["GATEWAY_LISTEN"] == "0.0.0.0:4566"
    # Mail reaches the catcher by service name; links in it open from the host's browser.
    assert env["SMTP_HOST"] == "mailcatcher:1025"
    assert env["LOCALSTACK_HOST"] == "localhost:4566"
    assert not any("docker.sock" in v for v in services["localstack"].get("volumes", []))
    assert services["localstack"]["build"]["args"]["WHEELS_IMAGE"] == "no-wheels"


def test_bootstrap_writes_outputs_to_the_host_for_any_uid(services: dict) -> None:
    bootstrap = services["bootstrap"]
    assert bootstrap["command"] == ["python3", "-m", "sandbox.deployer"]
    assert "./.sandbox:/sandbox" in bootstrap["volumes"]
    # Root in the container writes into any user's home and hands the files to that user (no fixed uid).
    assert "user" not in bootstrap
    # Healthy only once this container deployed into the LocalStack running now, never by an earlier run's file.
    assert bootstrap["healthcheck"]["test"] == ["CMD", "python3", "-m", "sandbox.deployer", "--check"]
    env = bootstrap["environment"]
    assert env["SANDBOX_HOME"] == "/sandbox"
    assert env["LOCALSTACK_ENDPOINT"] == "http://localstack:4566"
    assert env["SANDBOX_PUBLIC_URL"] == "http://localhost:4566"


def test_the_restart_journal_outlives_the_localstack_container(raw: dict, services: dict) -> None:
    localstack = services["localstack"]
    assert localstack["environment"]["SANDBOX_JOURNAL_DIR"] == "/var/lib/sandbox-journal"
    assert "journal:/var/lib/sandbox-journal" in localstack["volumes"]
    assert "journal" in raw["volumes"]


def test_mail_is_stored_on_a_named_volume(raw: dict, services: dict) -> None:
    assert "mail-data:/data" in services["mailcatcher"]["volumes"]
    assert "mail-data" in raw["volumes"]
    assert services["mailcatcher"]["command"][-2:] == ["--db", "/data/mail.sqlite"]


def test_docker_executor_is_an_opt_in_override() -> None:
    override = yaml.safe_load(DOCKER_EXECUTOR_OVERRIDE.read_text())["services"]["localstack"]
    assert override["environment"]["LAMBDA_RUNTIME_EXECUTOR"] == "docker"
    assert "/var/run/docker.sock:/var/run/docker.sock" in override["volumes"]


def test_official_localstack_image_is_an_opt_in_from_variables() -> None:
    override = yaml.safe_load(LOCALSTACK_IMAGE_OVERRIDE.read_text())["services"]["localstack"]
    assert override["build"]["args"]["LOCALSTACK_IMAGE"] == "${LOCALSTACK_IMAGE:-localstack/localstack:4.14.0}"
    assert override["environment"]["LOCALSTACK_AUTH_TOKEN"] == "${LOCALSTACK_AUTH_TOKEN:-}"
    assert not with_defaults(override["image"]).endswith(":latest")


def _compose_clients() -> list:
    clients = []
    docker = shutil.which("docker")
    has_v2 = bool(docker) and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    clients.append(pytest.param([docker, "compose"], id="docker-compose-v2", marks=pytest.mark.skipif(
        not has_v2, reason="no `docker compose` (v2) client on this machine")))
    legacy = shutil.which("docker-compose")
    clients.append(pytest.param([legacy], id="docker-compose-1", marks=pytest.mark.skipif(
        not legacy, reason="no `docker-compose` client on this machine")))
    return clients


def _published_ports(service: dict) -> set[tuple[str, str, str]]:
    """(host_ip, published, target) from either client's normalised output."""
    result = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):  # compose v2 prints the long form
            result.add((port.get("host_ip", ""), str(port["published"]), str(port["target"])))
        else:  # docker-compose 1.29 prints "127.0.0.1:4566:4566/tcp"
            host_ip, published, target = port.split(":")
            result.add((host_ip, published, target.split("/")[0]))
    return result


@pytest.mark.parametrize("client", _compose_clients())
@pytest.mark.parametrize(
    "files",
    [[COMPOSE_FILE], [COMPOSE_FILE, DOCKER_EXECUTOR_OVERRIDE], [COMPOSE_FILE, LOCALSTACK_IMAGE_OVERRIDE]],
    ids=["default", "docker-executor", "localstack-image"],
)
def test_compose_client_accepts_the_file(client: list[str], files: list[Path]) -> None:
    # A moved port shows the client interpolates the variables this file documents.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "SANDBOX_"))}
    env["LOCALSTACK_PORT"] = "14566"
    argv = [*client, "-p", "compose-file-test", *[a for f in files for a in ("-f", str(f))], "config"]
    result = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rendered = yaml.safe_load(result.stdout)["services"]
    assert set(rendered) == EXPECTED_SERVICES
    assert _published_ports(rendered["localstack"]) == {("127.0.0.1", "14566", "4566")}
    assert rendered["localstack"]["environment"]["LOCALSTACK_HOST"] == "localhost:14566"


def test_plain_compose_and_make_use_one_project_name(monkeypatch: pytest.MonkeyPatch) -> None:
    from sandbox import compose

    monkeypatch.delenv("COMPOSE_PROJECT_NAME", raising=False)
    lines = (REPO_ROOT / ".env").read_text().splitlines()
    assert f"COMPOSE_PROJECT_NAME={compose.project()}" in lines
