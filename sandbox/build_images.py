"""The large, rarely changing parts of docker mode's images, as images of their own.

The wheels for offline builds (`wheelhouse/`, ~100 MB, docker/make-wheelhouse.sh) and the AWS SDKs of the
Node.js runtimes (`node/sdk-v2`, `node/sdk-v3`, ~160 MB, `npm ci` in `make install`) would otherwise travel in
every build's context. Each becomes a `FROM scratch` image, rebuilt only when its digest label no longer matches
what is on disk; the Dockerfiles copy from it (`WHEELS_IMAGE`, `NODE_SDKS_IMAGE`), and the build context is the
source alone.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sandbox.config import REPO_ROOT
from sandbox.services import ServiceError

WHEELHOUSE = REPO_ROOT / "wheelhouse"
NODE_DIR = REPO_ROOT / "localstack-plugin" / "sandbox_localstack" / "node"
LABEL = "sandbox.digest"


def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def wheels_digest() -> str | None:
    wheels = sorted(WHEELHOUSE.glob("*.whl"))
    return _digest([f"{w.name} {w.stat().st_size}" for w in wheels]) if wheels else None


def node_sdks_digest() -> str | None:
    """The lock files of the installed SDKs (npm ci makes node_modules from them exactly)."""
    locks = [NODE_DIR / sdk / "node_modules" / ".package-lock.json" for sdk in ("sdk-v2", "sdk-v3")]
    if not all(lock.is_file() for lock in locks):
        return None
    return _digest([hashlib.sha256(lock.read_bytes()).hexdigest() for lock in locks])


@dataclass(frozen=True)
class SideImage:
    tag: str
    env: str  # the compose variable that names it
    folder: Path
    dockerfile: str
    digest: Callable[[], str | None]


IMAGES = (
    SideImage("callback-sandbox/wheelhouse:local", "SANDBOX_WHEELS_IMAGE", WHEELHOUSE,
              "FROM scratch\nCOPY *.whl /wheels/\n", wheels_digest),
    SideImage("callback-sandbox/node-sdks:local", "SANDBOX_NODE_SDKS_IMAGE", NODE_DIR,
              "FROM scratch\nCOPY sdk-v2/ /node-sdks/sdk-v2/\nCOPY sdk-v3/ /node-sdks/sdk-v3/\n", node_sdks_digest),
)


def _label(tag: str) -> str | None:
    docker = shutil.which("docker") or "docker"
    found = subprocess.run([docker, "image", "inspect", "-f", f'{{{{index .Config.Labels "{LABEL}"}}}}', tag],
                           capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 else None


def ensure(say: Callable[[str], None]) -> dict[str, str]:
    """Build the side images whose folder changed; returns {compose variable: image} for those that exist."""
    docker = shutil.which("docker") or "docker"
    env = dict(os.environ)
    if subprocess.run([docker, "buildx", "version"], capture_output=True).returncode != 0:
        env["DOCKER_BUILDKIT"] = "0"  # recent clients without the buildx plugin need the classic builder named
    available = {}
    for image in IMAGES:
        digest = image.digest()
        current = _label(image.tag)
        if digest is not None and current != digest:
            say(f"  building {image.tag} from {image.folder.relative_to(REPO_ROOT)} (once per change) …")
            built = subprocess.run([docker, "build", "-q", "--label", f"{LABEL}={digest}", "-t", image.tag, "-f", "-",
                                    str(image.folder)], input=image.dockerfile, capture_output=True, text=True,
                                   env=env)
            if built.returncode != 0:
                raise ServiceError(f"building {image.tag} failed: {(built.stderr or built.stdout).strip()[-500:]}")
            current = digest
        if current is not None:
            available[image.env] = image.tag
    return available
