"""`make e2e-docker` on machines that lack Docker: it installs what it can, and otherwise says exactly why not
and which command fixes it (issue 15, point 1).

The script runs for real with a PATH that holds only the tools a machine without Docker would have, as root
and as an unprivileged user; E2E_DOCKER_DRY_RUN=1 and E2E_DOCKER_INSTALL=0 stop it before it installs or
starts anything, so these tests change nothing on the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "docker" / "e2e-docker.sh"
BASIC_TOOLS = ("bash", "id", "dirname", "date", "seq", "sleep", "tail", "cat", "sh")
PACKAGES = "docker.io docker-compose debootstrap"

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="runs the script as root and as another user")


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A folder other users can enter (pytest's own are private to root), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="e2e-docker-prereqs-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _bin(tmp_path: Path, *extra: str) -> Path:
    """A bin folder with the basic tools and `extra` (commands found on this machine) and nothing else."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    for tool in (*BASIC_TOOLS, *extra):
        found = shutil.which(tool)
        if found is None:
            pytest.skip(f"{tool} is not installed here")
        (folder / tool).symlink_to(found)
    folder.chmod(0o755)
    return folder


def run(folder: Path, as_user: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    argv = ["bash", str(SCRIPT)]
    if as_user:
        argv = [shutil.which("setpriv") or "setpriv", f"--reuid={as_user}", f"--regid={as_user}", "--clear-groups",
                *argv]
    environment = {"PATH": str(folder), "HOME": "/tmp", **env}
    return subprocess.run(argv, env=environment, capture_output=True, text=True, timeout=60, cwd="/")


@needs_root
def test_root_on_a_debian_machine_installs_the_packages(tmp_path: Path) -> None:
    done = run(_bin(tmp_path, "apt-get"), E2E_DOCKER_DRY_RUN="1")
    assert done.returncode == 0, done.stderr
    assert f"would run: apt-get update && apt-get install -y {PACKAGES}" in done.stdout
    assert "would start: dockerd &" in done.stdout


@needs_root
def test_root_who_may_not_install_gets_the_command(tmp_path: Path) -> None:
    done = run(_bin(tmp_path, "apt-get"), E2E_DOCKER_INSTALL="0")
    assert done.returncode == 0
    assert (f"SKIP: docker mode end to end: {PACKAGES} not installed (E2E_DOCKER_INSTALL=0 installs nothing); "
            f"run: apt-get update && apt-get install -y {PACKAGES}") in done.stderr
    assert "not root" not in done.stderr


@needs_root
def test_root_with_a_docker_client_but_no_engine_is_not_told_it_needs_root(tmp_path: Path) -> None:
    """The report in issue 15: a docker client, no dockerd, running as root."""
    done = run(_bin(tmp_path, "apt-get", "docker"), E2E_DOCKER_INSTALL="0", DOCKER_HOST="unix:///nonexistent.sock",
               SANDBOX_BASE_IMAGE="python:3.13-slim")
    assert "SKIP: docker mode end to end: docker.io" in done.stderr
    assert "apt-get install -y docker.io" in done.stderr
    assert "root" not in done.stderr


@needs_root
def test_a_machine_without_apt_is_pointed_at_dockers_installation_guide(tmp_path: Path) -> None:
    done = run(_bin(tmp_path))
    assert "not a Debian-like system (no apt-get)" in done.stderr
    assert "https://docs.docker.com/engine/install/" in done.stderr


@needs_root
def test_a_user_who_is_not_root_gets_the_sudo_command(tmp_path: Path) -> None:
    done = run(_bin(tmp_path, "apt-get"), as_user="65534")
    assert done.returncode == 0
    assert ("not installed, and this user (uid 65534) is not root, so it cannot install them; "
            f"run: sudo sh -c 'apt-get update && apt-get install -y {PACKAGES}'") in done.stderr


@needs_root
def test_a_user_who_is_not_root_cannot_start_the_engine_and_is_told_how(tmp_path: Path) -> None:
    folder = _bin(tmp_path, "docker", "dockerd", "docker-compose")
    done = run(folder, as_user="65534", DOCKER_HOST="unix:///nonexistent.sock", SANDBOX_BASE_IMAGE="x")
    assert "no Docker engine answers, and this user (uid 65534) is not root, so it cannot start dockerd" in done.stderr
    assert "sudo systemctl start docker" in done.stderr


@needs_root
def test_a_required_run_fails_instead_of_skipping(tmp_path: Path) -> None:
    done = run(_bin(tmp_path), E2E_DOCKER_REQUIRED="1")
    assert done.returncode == 1 and "SKIP:" in done.stderr
