"""Free ports for services that tests and the benchmark start beside a running sandbox.

A port the kernel hands out for `bind(0)` comes from the ephemeral range, the same range every Lambda process's
Runtime API server and every outgoing connection draws from; between choosing such a port and the service
binding it, another process may take it. Ports below the ephemeral range are handed out only when asked for by
number, so choosing there (and checking that the port binds) leaves nothing to race with but other choosers.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_FALLBACK_EPHEMERAL_START = 32768
_LOWEST = 10000


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return _FALLBACK_EPHEMERAL_START


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port on 127.0.0.1 that binds now and lies outside the kernel's ephemeral range."""
    top = _ephemeral_start()
    if top - _LOWEST < 1000:  # an unusual ephemeral range: fall back to asking the kernel
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    for _ in range(200):
        port = random.randrange(_LOWEST, top)  # noqa: S311 - not for security
        if _bindable(port):
            return port
    raise RuntimeError("no free port found below the ephemeral range")
