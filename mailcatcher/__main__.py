"""Command line: ``python -m mailcatcher`` runs the SMTP server and the web UI/API in one process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
from collections.abc import Callable
from typing import Any

import uvicorn

from . import __version__
from .app import create_app
from .smtp import start_smtp, stop_smtp
from .store import Store

log = logging.getLogger("mailcatcher")

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

Both servers bind 127.0.0.1 unless told otherwise (e.g. --http 0.0.0.0:8025 inside a container).
API: /api/v1/messages, /api/v1/message/{{ID|latest}}[/raw|/headers|/approval], /api/v1/search?query=,
/api/v1/wait?query=&timeout=&after=ID, /api/events (server-sent events), /livez, /readyz.
"""


def host_port(value: str) -> tuple[str, int]:
    """Parse HOST:PORT (IPv6 as [::1]:PORT); port 0 picks a free port."""
    host, sep, port_text = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host, int(port_text)


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
    description: str = "Catch all mail sent over SMTP and show it in a web UI and a Mailpit-shaped JSON API.",
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
    parser.add_argument("--version", action="version", version=f"mailcatcher {__version__}")
    return parser


class _Server(uvicorn.Server):
    """uvicorn server that ends open event streams and waits on SIGINT/SIGTERM, so shutdown is quick.

    It also stops uvicorn from re-raising the signal after its shutdown, which would kill the process before
    the SMTP server and the store are closed.
    """

    def __init__(self, config: uvicorn.Config, on_exit) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig, frame) -> None:
        self._on_exit()
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    return socket.create_server((host, port), family=family)


async def serve(args: argparse.Namespace, **app_options: Any) -> int:
    """Run SMTP and HTTP until a signal. ``app_options`` go to ``create_app`` (extra routes, nav links, ...), so
    another launcher (``python -m sandbox.webui``) can serve the catcher with its own pages mounted."""
    store = Store(args.db, max_messages=args.max_messages)
    try:
        smtp_host, smtp_port = args.smtp
        http_host, http_port = args.http
        try:
            smtp_server = await start_smtp(store, smtp_host, smtp_port, args.max_size, hostname=args.hostname)
        except OSError as exc:
            log.error("cannot listen for SMTP on %s:%d: %s", smtp_host, smtp_port, exc)
            return 1
        try:
            try:
                http_socket = _bind(http_host, http_port)
            except OSError as exc:
                log.error("cannot listen for HTTP on %s:%d: %s", http_host, http_port, exc)
                return 1
            smtp_port = smtp_server.sockets[0].getsockname()[1]
            http_port = http_socket.getsockname()[1]
            app = create_app(store, smtp_address=f"{smtp_host}:{smtp_port}", **app_options)
            config = uvicorn.Config(
                app,
                log_level=args.log_level,
                access_log=args.log_level == "debug",
                lifespan="on",
                timeout_graceful_shutdown=3,
                server_header=False,
            )
            server = _Server(config, on_exit=app.state.hub.close_threadsafe)
            log.info(
                "mailcatcher listening: SMTP %s:%d, web UI and API http://%s:%d/, store %s (%d messages max, "
                "%d bytes max per message)",
                smtp_host, smtp_port, http_host, http_port, args.db, args.max_messages, args.max_size,
            )
            await server.serve(sockets=[http_socket])
        finally:
            await stop_smtp(smtp_server)
    finally:
        store.close()
    log.info("mailcatcher stopped")
    return 0


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
    if args.log_level != "debug":  # aiosmtpd logs every connection at INFO
        logging.getLogger("mail.log").setLevel(logging.WARNING)
    try:
        return asyncio.run(serve(args, **(app_options(args) if app_options else {})))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
