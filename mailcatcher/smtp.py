"""SMTP side: an aiosmtpd server on the app's event loop that hands every message to the store.

Like every MTA (and Mailpit), the catcher puts trace headers in front of what it receives: ``Received`` (who
sent it, when) and ``Return-Path`` (the envelope sender) when the message has none. The bytes received follow
unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate

from aiosmtpd.smtp import SMTP, Envelope, Session

from .store import Store

log = logging.getLogger("mailcatcher.smtp")


_RETURN_PATH = re.compile(rb"(?im)^return-path:")
_UNPRINTABLE = re.compile(r"[^\x21-\x7e]")


def header_block(raw: bytes) -> bytes:
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(separator)
        if end >= 0:
            return raw[:end]
    return raw


def trace_headers(raw: bytes, session: Session, envelope: Envelope, hostname: str) -> bytes:
    """The Received (and, when missing, Return-Path) lines to put in front of a received message."""
    helo = _UNPRINTABLE.sub("", str(session.host_name or "unknown"))[:200] or "unknown"
    peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
    recipient = _UNPRINTABLE.sub("", envelope.rcpt_tos[0])[:320] if envelope.rcpt_tos else ""
    protocol = "ESMTP" if session.extended_smtp else "SMTP"
    lines = f"Received: from {helo} ([{peer}])\r\n\tby {hostname} (Callback Sandbox mailcatcher) with {protocol}"
    lines += f"\r\n\tfor <{recipient}>; {formatdate(localtime=True)}\r\n"
    trace = lines.encode("utf-8", "replace")
    if not _RETURN_PATH.search(header_block(raw)):
        sender = _UNPRINTABLE.sub("", envelope.mail_from or "")[:320]
        trace = f"Return-Path: <{sender}>\r\n".encode("utf-8", "replace") + trace
    return trace


class CatchAllHandler:
    """Accepts any sender and recipients and stores the message bytes exactly as received."""

    def __init__(self, store: Store, hostname: str = "mailcatcher") -> None:
        self.store = store
        self.hostname = hostname
        # One thread stores messages in arrival order. Several (asyncio.to_thread's pool) gain nothing: parsing
        # holds the GIL and the insert holds the store lock; their contention cost a few percent of throughput.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mailcatcher-store")

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        raw = trace_headers(raw, session, envelope, self.hostname) + raw
        try:
            # Parsing and the SQLite commit run off the loop so a 25 MiB mail does not stall other clients.
            summary = await asyncio.get_running_loop().run_in_executor(
                self._writer, self.store.add, raw, envelope.mail_from or "", list(envelope.rcpt_tos)
            )
        except Exception:
            log.exception("could not store message from %s", envelope.mail_from)
            self.store.stats.update(rejected=1)
            return "451 Requested action aborted: could not store the message"
        # 250 only after the commit: an acknowledged message is on disk.
        log.info("stored message %s (%d bytes) from %s to %d recipient(s)",
                 summary["ID"], len(raw), envelope.mail_from, len(envelope.rcpt_tos))
        return f"250 OK: queued as {summary['ID']}"


async def start_smtp(
    store: Store,
    host: str,
    port: int,
    max_size: int,
    hostname: str = "mailcatcher",
) -> asyncio.Server:
    """Listen for SMTP on host:port in the running loop.

    ``hostname`` is given explicitly because aiosmtpd otherwise calls socket.getfqdn(), a DNS lookup.
    """
    handler = CatchAllHandler(store, hostname)
    loop = asyncio.get_running_loop()

    # aiosmtpd refuses lines over 1001 bytes (RFC 5321). A client that sends bytes with bare LF line ends
    # (smtplib.sendmail(..., msg.as_bytes()) does) delivers its whole message as one "line", and long HTML lines
    # are common; real relays accept both, so the catcher does too. The message size limit still applies.
    class LenientSMTP(SMTP):
        line_length_limit = max_size + 2
        _addresses: dict[str, tuple[str | None, str | None]] = {}

        def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
            # aiosmtpd 1.4.6 defines a typing.Protocol class on every MAIL FROM and RCPT TO it parses, which
            # was ~8 % of the server's CPU under load. Senders and recipients repeat, so remember the answers
            # (they depend only on the argument: local_part_limit is the same for every session).
            found = self._addresses.get(arg)
            if found is None:
                found = super()._getaddr(arg)
                if len(self._addresses) >= 1024:
                    self._addresses.clear()
                self._addresses[arg] = found
            return found

    def protocol() -> SMTP:
        return LenientSMTP(
            handler,
            data_size_limit=max_size,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=hostname,
            ident="Callback Sandbox mailcatcher",
            loop=loop,
        )

    return await loop.create_server(protocol, host=host, port=port, reuse_address=True)


async def stop_smtp(server: asyncio.Server) -> None:
    server.close()
    close_clients = getattr(server, "close_clients", None)  # Python 3.13+: do not wait for idle clients
    if close_clients is not None:
        close_clients()
    try:
        await asyncio.wait_for(server.wait_closed(), timeout=5)
    except TimeoutError:
        log.warning("SMTP clients still connected at shutdown")
