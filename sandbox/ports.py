"""Ports: free ones for services that tests and the benchmark start beside a running sandbox, and whether the
sandbox's own ports are free (and if not, who holds them) before `make up` touches anything.

A port the kernel hands out for `bind(0)` comes from the ephemeral range, the same range every Lambda process's
Runtime API server and every outgoing connection draws from; between choosing such a port and the service
binding it, another process may take it. Ports below the ephemeral range are handed out only when asked for by
number, so choosing there (and checking that the port binds) leaves nothing to race with but other choosers.
"""

from __future__ import annotations

import os
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


# --- ports the sandbox needs ------------------------------------------------------------------------------------


def in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could not listen on host:port now (SO_REUSEADDR as servers set it, so a closed
    connection lingering in TIME_WAIT does not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on `port` on any address (IPv4 and IPv6), from /proc/net."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def port_holders(port: int) -> tuple[list[tuple[int, str]], bool]:
    """(pid, command line) of the processes listening on `port` that this user can see, and whether some
    listener belongs to a process it cannot see (another user's, without root)."""
    inodes = _listening_inodes(port)
    found: dict[int, str] = {}
    seen: set[str] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            targets = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
        except OSError:
            continue
        hits = {target[8:-1] for target in targets if target.startswith("socket:[")} & inodes
        if hits:
            seen |= hits
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            found[int(entry.name)] = cmdline or "?"
    return sorted(found.items()), bool(inodes - seen)


def describe_holder(port: int) -> str:
    """Who holds `port`, for a message: 'pid 1234 (python3 -m http.server 8025)' or what is known."""
    holders, hidden = port_holders(port)
    parts = [f"pid {pid} ({_shorten(cmd)})" for pid, cmd in holders[:3]]
    if hidden:
        parts.append(f"a process of another user (`sudo ss -ltnp 'sport = :{port}'` names it)")
    return ", ".join(parts) or "a process this machine does not show (another network namespace?)"


def _shorten(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
