"""Run the catcher: SMTP and HTTP in one process and one event loop over one store (received mail is parsed in
a child process, see parser_process), until a signal."""

from __future__ import annotations

import argparse
import logging
import os
import socket
from typing import Any

import uvicorn

from .app import create_app
from .smtp import start_smtp, stop_smtp
from .store import Store

log = logging.getLogger("mailcatcher")

GRACEFUL_SHUTDOWN_SECONDS = 3
# h11 drops a connection whose request head passes its limit (16 KiB by default) without answering; a larger
# limit lets the guard answer 414 for long URLs. Heads beyond this still get h11's own 400.
MAX_REQUEST_HEAD = 1 << 20


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
            smtp_port = smtp_server.port
            http_port = http_socket.getsockname()[1]
            options = {
                "bind": [http_host, os.environ.get("SANDBOX_BIND", "")],
                # The sandbox-wide setting (LocalStack's gateway reads it too) adds to the catcher's own.
                "allowed_hosts": [*args.allowed_hosts, *(name.strip() for name in
                                                         os.environ.get("SANDBOX_ALLOWED_HOSTS", "").split(","))],
                "link_check_any_host": args.link_check_any_host,
                **app_options,
            }
            if args.aws_gateway:  # the command line wins over a launcher's default
                options["aws_gateway"] = args.aws_gateway
            app = create_app(store, smtp_address=f"{smtp_host}:{smtp_port}", **options)
            config = uvicorn.Config(
                app,
                log_level=args.log_level,
                access_log=args.log_level == "debug",
                lifespan="on",
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
                server_header=False,
                h11_max_incomplete_event_size=MAX_REQUEST_HEAD,
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
