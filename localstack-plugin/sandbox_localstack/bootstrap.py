"""Entry point of a function process: `python -u -m sandbox_localstack.bootstrap <handler>`.

Arms the lifeline (exit as soon as LocalStack, which holds the pipe's write end, is gone), then hands over to
AWS's runtime interface client, which imports the handler from the working directory (the function's code)
and serves invocations from AWS_LAMBDA_RUNTIME_API.
"""

from __future__ import annotations

import os
import sys
import threading

from sandbox_localstack.lambda_env import LIFELINE_VARIABLE


def _exit_when_lifeline_breaks(fd: int) -> None:
    try:
        while os.read(fd, 1):
            pass  # nothing is ever written; read returns b"" once every write end is closed
    except OSError:
        pass
    os._exit(137)


def main() -> None:
    fd = os.environ.pop(LIFELINE_VARIABLE, None)
    if fd is not None:
        threading.Thread(target=_exit_when_lifeline_breaks, args=(int(fd),), name="lifeline", daemon=True).start()
    if len(sys.argv) != 2:
        sys.exit("usage: python -m sandbox_localstack.bootstrap <module.function>")
    from awslambdaric.__main__ import main as runtime_interface_client

    runtime_interface_client(["awslambdaric", sys.argv[1]])


if __name__ == "__main__":
    main()
