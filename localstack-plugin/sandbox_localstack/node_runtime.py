"""Node.js runtimes of the local executor: which runtimes, which `node`, which bundled SDK.

AWS's Node.js runtimes bundle the AWS SDK: `aws-sdk` v2 up to nodejs16.x, the `@aws-sdk/*` v3 clients from
nodejs18.x on. The sandbox installs both, pinned, under `node/sdk-v2` and `node/sdk-v3` (`npm ci` in `make install`)
and puts the one matching the declared runtime on NODE_PATH. Every declared version runs on the one Node.js found
here (SANDBOX_NODE, else `node` on PATH), as every python3.x runs on the sandbox's Python.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from sandbox_localstack.lambda_env import NODE_RUNTIMES

NODE_DIR = Path(__file__).resolve().parent / "node"
RUNTIME_SCRIPT = NODE_DIR / "runtime.mjs"
LAST_SDK_V2_MAJOR = 16  # nodejs16.x is the last runtime AWS ships with aws-sdk v2
MINIMUM_NODE = (18, 19)  # module.register, which lets ES modules import the bundled SDK

NODE_VARIABLE = "SANDBOX_NODE"  # the node binary (default: `node` on PATH)
SDK_HOME_VARIABLE = "SANDBOX_NODE_SDK_HOME"  # the directory holding sdk-v2/ and sdk-v3/ (default: NODE_DIR)
INSTALL_HINT = (
    "install Node.js 18.19 or newer (20 recommended; Debian: apt-get install nodejs) so that `node` is on the "
    f"PATH LocalStack starts with, or set {NODE_VARIABLE} to its path"
)


def is_node(runtime: str | None) -> bool:
    return runtime in NODE_RUNTIMES


def declared_major(runtime: str) -> int:
    return int(runtime.removeprefix("nodejs").removesuffix(".x"))


def sdk_home(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get(SDK_HOME_VARIABLE) or NODE_DIR)


def sdk_modules(runtime: str, home: Path) -> Path:
    """The node_modules directory with the SDK AWS bundles in this runtime."""
    generation = "sdk-v2" if declared_major(runtime) <= LAST_SDK_V2_MAJOR else "sdk-v3"
    return home / generation / "node_modules"


def node_path(runtime: str, task_root: str, home: Path) -> str:
    """NODE_PATH as AWS builds it (runtime's node_modules, then the task root), with this machine's paths."""
    return os.pathsep.join([str(sdk_modules(runtime, home)), task_root])


def find_node(environ: Mapping[str, str] = os.environ) -> str | None:
    configured = environ.get(NODE_VARIABLE, "").strip()
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("node", path=environ.get("PATH"))


@functools.cache
def node_version(node: str) -> tuple[int, int, int] | None:
    try:
        output = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)\s*", output)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def installed(environ: Mapping[str, str] = os.environ) -> tuple[str | None, tuple[int, int, int] | None]:
    """The node binary to run functions with, and its version (None for what is missing)."""
    node = find_node(environ)
    return node, (node_version(node) if node else None)


def format_version(version: tuple[int, int, int]) -> str:
    return "v" + ".".join(map(str, version))


def problem(runtime: str, node: str | None, version: tuple[int, int, int] | None) -> str | None:
    """Why a Node.js function cannot run here (no usable node), or None."""
    if node is None:
        found = "none was found"
    elif version is None:
        found = f"`{node} --version` did not answer"
    elif version[:2] < MINIMUM_NODE:
        found = f"the one at {node} is {format_version(version)}, too old"
    else:
        return None
    return f"Callback Sandbox runs {runtime} functions on the Node.js installed here, and {found}: {INSTALL_HINT}."


def version_note(runtime: str, version: tuple[int, int, int], home: Path) -> str:
    """What the sandbox runs for a declared runtime, as it says in LocalStack's log."""
    sdk = "aws-sdk v2" if declared_major(runtime) <= LAST_SDK_V2_MAJOR else "the @aws-sdk v3 clients"
    note = f"{runtime} runs on Node.js {format_version(version)} with {sdk} on NODE_PATH"
    if declared_major(runtime) != version[0]:
        note += f" (declared Node.js {declared_major(runtime)}; the installed one runs it)"
    if not sdk_modules(runtime, home).is_dir():
        note += f"; the SDK is not installed at {sdk_modules(runtime, home)} (run `make install`)"
    return note
