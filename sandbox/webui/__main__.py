"""``python -m sandbox.webui``: the mail catcher with the Workflows page mounted, same options as
``python -m mailcatcher``. LocalStack's address and the sandbox home come from the sandbox settings
(LOCALSTACK_PORT or LOCALSTACK_ENDPOINT, SANDBOX_HOME, AWS_DEFAULT_REGION)."""

from __future__ import annotations

import os
import sys

from mailcatcher.__main__ import build_parser, main
from sandbox.config import Settings

from .workflows import DEFAULT_POLL_SECONDS, app_options


def run(argv: list[str] | None = None) -> int:
    parser = build_parser(
        prog="python -m sandbox.webui",
        description="The sandbox's web UI: the mail catcher (SMTP, web UI, Mailpit-shaped API) with the "
                    "Workflows page at /workflows.",
    )
    try:
        poll = max(0.2, float(os.environ.get("SANDBOX_WEBUI_POLL_SECONDS", DEFAULT_POLL_SECONDS)))
    except ValueError:
        parser.error("SANDBOX_WEBUI_POLL_SECONDS must be a number of seconds")
    return main(argv, parser=parser, app_options=lambda args: app_options(Settings(), poll_interval=poll))


if __name__ == "__main__":
    sys.exit(run())
