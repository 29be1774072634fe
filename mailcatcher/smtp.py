"""SMTP side: a small ESMTP server on the app's event loop that hands every message to the store.

A catch-all server needs little of SMTP: greet, take MAIL/RCPT/DATA (with SIZE, 8BITMIME, SMTPUTF8 and
PIPELINING announced), reply. aiosmtpd, which served this before, spent ~0.8 ms of CPU per message in its
general machinery (per-command coroutines, address parsing through the email package); this protocol class does
the same work in a fraction of that, which is what lets ingest outpace MailDev. Lines may end in CRLF or a bare
LF (real relays accept both); a message ends at CRLF.CRLF; the size limit is checked at MAIL (SIZE=) and while
the data arrives, and an oversized message gets 552 with the connection still usable.

Like every MTA (and Mailpit), the catcher puts trace headers in front of what it receives: ``Received`` (who
sent it, when) and ``Return-Path`` (the envelope sender) when the message has none. The bytes received follow
unchanged. 250 is sent only after the message is committed to the store.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from email.utils import formatdate
from typing import Any

from .store import Store
from .writer import StoreWriter

log = logging.getLogger("mailcatcher.smtp")

MAX_COMMAND_LINE = 4096
# RFC 5321 asks servers to take at least 100 recipients; a bound keeps one connection's memory bounded.
MAX_RECIPIENTS = 1000
IDLE_TIMEOUT_SECONDS = 300.0
_END = b"\r\n.\r\n"
_STUFFED = re.compile(rb"(?m)^\.\.")
_PATH = re.compile(r"(?i)^(?:FROM|TO):\s*(<[^>]*>|[^\s<>]*)(.*)$")
_SIZE = re.compile(r"(?i)(?:^|\s)SIZE=(\d+)")
_RETURN_PATH = re.compile(rb"(?im)^return-path:")
_UNPRINTABLE = re.compile(r"[^\x21-\x7e]")


def header_block(raw: bytes) -> bytes:
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(separator)
        if end >= 0:
            return raw[:end]
    return raw


def trace_headers(raw: bytes, helo: str, peer: str, sender: str, recipients: list[str], hostname: str,
                  extended: bool) -> bytes:
    """The Received (and, when missing, Return-Path) lines to put in front of a received message."""
    helo = _UNPRINTABLE.sub("", helo)[:200] or "unknown"
    recipient = _UNPRINTABLE.sub("", recipients[0])[:320] if recipients else ""
    lines = f"Received: from {helo} ([{peer}])\r\n\tby {hostname} (Callback Sandbox mailcatcher) with "
    lines += f"{'ESMTP' if extended else 'SMTP'}\r\n\tfor <{recipient}>; {formatdate(localtime=True)}\r\n"
    trace = lines.encode("utf-8", "replace")
    if not _RETURN_PATH.search(header_block(raw)):
        trace = f"Return-Path: <{_UNPRINTABLE.sub('', sender)[:320]}>\r\n".encode("utf-8", "replace") + trace
    return trace


class _Session(asyncio.Protocol):
    """One SMTP connection."""

    def __init__(self, server: CatchAll) -> None:
        self.server = server
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.helo, self.extended, self.peer = "", False, ""
        self.sender: str | None = None
        self.recipients: list[str] = []
        self.in_data = self.oversized = self.busy = False
        self.scanned = 0  # how much of the buffer is known not to hold the end of the message
        self.idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = str(peer[0]) if isinstance(peer, tuple) else str(peer)
        self._reply(f"220 {self.server.hostname} ESMTP Callback Sandbox mailcatcher")
        self._touch()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.idle is not None:
            self.idle.cancel()
        self.transport = None

    def _touch(self) -> None:
        if self.idle is not None:
            self.idle.cancel()
        loop = asyncio.get_running_loop()
        self.idle = loop.call_later(IDLE_TIMEOUT_SECONDS, self._timeout)

    def _timeout(self) -> None:
        if self.transport is not None:
            self._reply("421 Timeout, closing the connection")
            self.transport.close()

    def _reply(self, line: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(line.encode("utf-8", "replace") + b"\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._touch()
        self._process()

    def _process(self) -> None:
        while not self.busy and self.transport is not None:
            if self.in_data:
                if not self._take_data():
                    return
                continue
            end = self.buffer.find(b"\n")
            if end < 0:
                if len(self.buffer) > MAX_COMMAND_LINE:
                    self.buffer.clear()
                    self._reply("500 Error: line too long")
                return
            # Bytes that are not UTF-8 in a command become U+FFFD: what is stored must be text.
            line = bytes(self.buffer[:end]).rstrip(b"\r").decode("utf-8", "replace")
            del self.buffer[: end + 1]
            self._command(line)

    def _take_data(self) -> bool:
        """Consume message data; True when the message ended (and was handed over or refused)."""
        if self.buffer.startswith(b".\r\n"):  # an empty message: the terminator comes first
            content, rest = b"", 3
        else:
            at = self.buffer.find(_END, self.scanned)
            if at < 0:
                # Search only new bytes next time (a big message arrives in many reads).
                self.scanned = max(0, len(self.buffer) - len(_END) + 1)
                if len(self.buffer) > self.server.max_size + len(_END):
                    self.oversized = True
                    del self.buffer[: -len(_END)]  # keep only what may start the terminator
                    self.scanned = 0
                return False
            content, rest = bytes(self.buffer[: at + 2]), at + len(_END)
        del self.buffer[:rest]
        self.in_data, self.scanned = False, 0
        if self.oversized or len(content) > self.server.max_size:
            self._reset()
            self.server.store.stats.update(rejected=1)
            self._reply("552 Error: Too much mail data")
            return True
        self.busy = True
        if self.transport is not None:
            self.transport.pause_reading()
        self._deliver(_STUFFED.sub(b".", content))
        return True

    def _deliver(self, content: bytes) -> None:
        sender, recipients = self.sender or "", self.recipients
        self._reset()
        raw = trace_headers(content, self.helo, self.peer, sender, recipients, self.server.hostname,
                            self.extended) + content
        # A callback, not a task per message: the reply is all that happens after the commit.
        self.server.writer.store_message(raw, sender, recipients).add_done_callback(
            functools.partial(self._stored, sender, len(raw), len(recipients)))

    def _stored(self, sender: str, size: int, recipients: int, stored: asyncio.Future[dict[str, Any]]) -> None:
        try:
            summary = stored.result()
            log.info("stored message %s (%d bytes) from %s to %d recipient(s)", summary["ID"], size, sender,
                     recipients)
            self._reply(f"250 OK: queued as {summary['ID']}")
        except Exception:  # the writer logged why
            self.server.store.stats.update(rejected=1)
            self._reply("451 Requested action aborted: could not store the message")
        finally:
            self.busy = False
            if self.transport is not None:
                self.transport.resume_reading()
                self._process()  # commands a pipelining client sent meanwhile

    def _reset(self) -> None:
        self.sender, self.recipients, self.oversized = None, [], False

    def _command(self, line: str) -> None:
        verb, _, argument = line.partition(" ")
        verb = verb.upper()
        if verb in ("EHLO", "HELO"):
            self.helo, self.extended = argument.strip(), verb == "EHLO"
            self._reset()
            if verb == "HELO":
                self._reply(f"250 {self.server.hostname}")
            else:
                self._reply(f"250-{self.server.hostname}\r\n250-SIZE {self.server.max_size}\r\n250-8BITMIME\r\n"
                            "250-SMTPUTF8\r\n250-PIPELINING\r\n250 HELP")
        elif verb == "MAIL":
            self._mail(argument)
        elif verb == "RCPT":
            path = _PATH.match(argument.strip())
            if self.sender is None:
                self._reply("503 Error: need MAIL command")
            elif path is None or not argument.strip().upper().startswith("TO:"):
                self._reply("501 Syntax: RCPT TO: <address>")
            elif len(self.recipients) >= MAX_RECIPIENTS:
                self._reply(f"452 Too many recipients (at most {MAX_RECIPIENTS} a message)")
            else:
                self.recipients.append(path.group(1).strip("<>"))
                self._reply("250 OK")
        elif verb == "DATA":
            if not self.recipients:
                self._reply("503 Error: need RCPT command")
            else:
                self.in_data = True
                self._reply("354 End data with <CR><LF>.<CR><LF>")
        elif verb == "RSET":
            self._reset()
            self._reply("250 OK")
        elif verb == "NOOP":
            self._reply("250 OK")
        elif verb == "QUIT":
            self._reply("221 Bye")
            if self.transport is not None:
                self.transport.close()
        elif verb == "VRFY":
            self._reply("252 Cannot VRFY user, but will accept message and attempt delivery")
        elif verb == "HELP":
            self._reply("214 Supported commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP")
        elif verb in ("STARTTLS", "AUTH", "EXPN", "ETRN", "TURN"):
            self._reply(f"502 Error: {verb} not implemented")
        else:
            self._reply(f'500 Error: command "{verb[:20]}" not recognized')

    def _mail(self, argument: str) -> None:
        path = _PATH.match(argument.strip())
        if self.sender is not None:
            self._reply("503 Error: nested MAIL command")
        elif path is None or not argument.strip().upper().startswith("FROM:"):
            self._reply("501 Syntax: MAIL FROM: <address>")
        else:
            size = _SIZE.search(path.group(2))
            if size and int(size.group(1)) > self.server.max_size:
                self._reply("552 Error: message size exceeds fixed maximum message size")
                return
            self.sender = path.group(1).strip("<>")
            self._reply("250 OK")


class CatchAll:
    """What every session shares: the store, its writer, the limits."""

    def __init__(self, store: Store, max_size: int, hostname: str) -> None:
        self.store = store
        self.max_size = max_size
        self.hostname = hostname
        self.writer = StoreWriter(store, asyncio.get_running_loop())


class SmtpServer:
    def __init__(self, listening: asyncio.Server, shared: CatchAll) -> None:
        self.listening = listening
        self.shared = shared

    @property
    def port(self) -> int:
        return int(self.listening.sockets[0].getsockname()[1])


async def start_smtp(store: Store, host: str, port: int, max_size: int,
                     hostname: str = "mailcatcher") -> SmtpServer:
    """Listen for SMTP on host:port in the running loop (``hostname`` given, so no DNS lookup is made)."""
    shared = CatchAll(store, max_size, hostname)
    loop = asyncio.get_running_loop()
    try:
        listening = await loop.create_server(lambda: _Session(shared), host=host, port=port, reuse_address=True)
    except OSError:
        shared.writer.close()
        raise
    return SmtpServer(listening, shared)


async def stop_smtp(server: SmtpServer) -> None:
    """Stop listening, let go of idle clients, and store what was already received."""
    server.listening.close()
    close_clients = getattr(server.listening, "close_clients", None)  # Python 3.13+: do not wait for idle clients
    if close_clients is not None:
        close_clients()
    try:
        await asyncio.wait_for(server.listening.wait_closed(), timeout=5)
    except TimeoutError:
        log.warning("SMTP clients still connected at shutdown")
    await asyncio.to_thread(server.shared.writer.close)
