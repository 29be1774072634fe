"""Command line: ``python -m mailcatcher`` runs the SMTP server and the web UI/API in one process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from . import __version__
from .server import serve

DEFAULT_SMTP = "127.0.0.1:1025"
DEFAULT_HTTP = "127.0.0.1:8025"
DEFAULT_DB = os.path.join(".sandbox", "mailcatcher.db")
DEFAULT_MAX_SIZE = 25 * 1024 * 1024
DEFAULT_MAX_MESSAGES = 1000

EPILOG = f"""\
environment variables (used when the option is not given):
  MAILCATCHER_SMTP          --smtp          (default {DEFAULT_SMTP})
  MAILCATCHER_HTTP          --http          (default {DEFAULT_HTTP})
  MAILCATCHER_DB            --db            (default {DEFAULT_DB})
  MAILCATCHER_MAX_SIZE      --max-size      (default {DEFAULT_MAX_SIZE}, 25 MiB)
  MAILCATCHER_MAX_MESSAGES  --max-messages  (default {DEFAULT_MAX_MESSAGES})
  MAILCATCHER_HOSTNAME      --hostname      (default mailcatcher)
  MAILCATCHER_LOG_LEVEL     --log-level     (default info)
  MAILCATCHER_ALLOWED_HOSTS --allowed-hosts (default none beyond loopback and the --http address;
                                           SANDBOX_ALLOWED_HOSTS, the sandbox-wide list, is added to it)
  MAILCATCHER_AWS_GATEWAY   --aws-gateway   (default none: execute-api links are shown as written)
  MAILCATCHER_LINK_CHECK_ANY_HOST=1  --link-check-any-host

Both servers bind 127.0.0.1 unless told otherwise (e.g. --http 0.0.0.0:8025 inside a container).
The web UI and API answer only requests addressed to localhost, *.localhost, 127.0.0.1, [::1] or the --http
address, plus the --allowed-hosts names (a guard against DNS rebinding; others get 403), and refuse changes
(POST, PUT, PATCH, DELETE) that a browser marks as coming from another site.
API: Mailpit's v1 (/api/v1/messages, /message/{{ID|latest}}[/raw|/headers|/part/N|/link-check], /search,
/tags, /send, /info, /webui, /view/{{ID}}.html|.txt) and ours: /api/v1/message/{{ID}}/approval,
/api/v1/wait?query=&timeout=&after=ID, /api/events (server-sent events), /livez, /readyz.
"""


def host_port(value: str) -> tuple[str, int]:
    """Parse HOST:PORT (IPv6 as [::1]:PORT); port 0 picks a free port."""
    host, sep, port_text = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host, int(port_text)


def host_list(value: str) -> list[str]:
    """Comma-separated host names (an empty string is none)."""
    names = [name.strip() for name in value.split(",") if name.strip()]
    for name in names:
        if any(char.isspace() or char in "/@?#" for char in name):
            raise argparse.ArgumentTypeError(f"not a host name: {name!r}")
    return names


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def build_parser(
    prog: str = "python -m mailcatcher",
    description: str = "Catch all mail sent over SMTP and show it in a web UI and Mailpit's API v1.",
) -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # String defaults go through `type`, so a bad environment value is reported like a bad option.
    parser.add_argument("--smtp", type=host_port, default=env("MAILCATCHER_SMTP", DEFAULT_SMTP),
                        metavar="HOST:PORT", help="SMTP listen address")
    parser.add_argument("--http", type=host_port, default=env("MAILCATCHER_HTTP", DEFAULT_HTTP),
                        metavar="HOST:PORT", help="web UI and API listen address")
    parser.add_argument("--db", default=env("MAILCATCHER_DB", DEFAULT_DB), metavar="PATH",
                        help="SQLite file for the messages (created with its directory)")
    parser.add_argument("--max-size", type=positive_int,
                        default=env("MAILCATCHER_MAX_SIZE", str(DEFAULT_MAX_SIZE)), metavar="BYTES",
                        help="largest message accepted; bigger ones get SMTP 552")
    parser.add_argument("--max-messages", type=positive_int,
                        default=env("MAILCATCHER_MAX_MESSAGES", str(DEFAULT_MAX_MESSAGES)), metavar="N",
                        help="messages kept; the oldest are pruned beyond this")
    parser.add_argument("--hostname", default=env("MAILCATCHER_HOSTNAME", "mailcatcher"),
                        help="name in the SMTP greeting (given so no DNS lookup is made)")
    parser.add_argument("--log-level", default=env("MAILCATCHER_LOG_LEVEL", "info"),
                        choices=["debug", "info", "warning", "error"], help="log verbosity")
    parser.add_argument("--allowed-hosts", type=host_list, default=env("MAILCATCHER_ALLOWED_HOSTS", ""),
                        metavar="NAMES", help="extra host names the web UI and API answer for, comma-separated "
                        "(.example.com: it and its subdomains; *: any host, which turns the guard off)")
    parser.add_argument("--aws-gateway", default=env("MAILCATCHER_AWS_GATEWAY", "") or None, metavar="URL",
                        help="local AWS gateway (e.g. http://localhost:4566): execute-api links in mail "
                        "(*.execute-api.localhost, *.localhost.localstack.cloud, *.amazonaws.com) are shown "
                        "routed to its path-style URL")
    parser.add_argument("--link-check-any-host", action="store_true",
                        default=env("MAILCATCHER_LINK_CHECK_ANY_HOST", "") in ("1", "true", "yes"),
                        help="let /api/v1/message/{ID}/link-check request any host (default: loopback only)")
    parser.add_argument("--version", action="version", version=f"mailcatcher {__version__}")
    return parser


def main(
    argv: list[str] | None = None,
    *,
    parser: argparse.ArgumentParser | None = None,
    app_options: Callable[[argparse.Namespace], dict[str, Any]] | None = None,
) -> int:
    """Parse the options, set up logging and serve; ``app_options(args)`` adds ``create_app`` arguments."""
    args = (parser or build_parser()).parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        return asyncio.run(serve(args, **(app_options(args) if app_options else {})))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
