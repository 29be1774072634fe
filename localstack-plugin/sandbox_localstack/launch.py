"""How a function's runtime process is started: the command line and the runtime's own environment variables.

Python runtimes run AWS's runtime interface client (awslambdaric) on the sandbox's interpreter; Node.js runtimes
run the sandbox's Node.js runtime (`node/runtime.mjs`) on the installed `node`. Everything else about the process
(the environment built from LocalStack's variables, the Runtime API, the lifeline, output capture, timeouts) is the
same for both and lives in `local_environment.py`.
"""

from __future__ import annotations

import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sandbox_localstack import node_runtime


@dataclass(frozen=True)
class Launch:
    argv: tuple[str, ...]
    bin_dir: str  # first on the function's PATH: the interpreter's directory
    runtime_dir: str  # LAMBDA_RUNTIME_DIR
    variables: Mapping[str, str] = field(default_factory=dict)  # defaults the function's own variables may override


def python_launch(handler: str, python: str = sys.executable) -> Launch:
    return Launch(
        argv=(python, "-u", "-m", "sandbox_localstack.bootstrap", handler),
        bin_dir=str(Path(python).parent),
        runtime_dir=sysconfig.get_paths()["purelib"],
    )


def node_launch(handler: str, runtime: str, task_root: str, node: str, sdk_home: Path) -> Launch:
    return Launch(
        argv=(node, str(node_runtime.RUNTIME_SCRIPT), handler),
        bin_dir=str(Path(node).parent),
        runtime_dir=str(node_runtime.NODE_DIR),
        variables={
            "NODE_PATH": node_runtime.node_path(runtime, task_root, sdk_home),
            # Notices about this machine's setup, not the function, which AWS's bundled SDKs do not print there:
            # aws-sdk 2.1693's end of support, and @aws-sdk v3's coming need for Node.js 22 (Node.js here is 20).
            "AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE": "1",
            "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED": "true",
        },
    )
