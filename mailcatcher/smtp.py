"""SMTP side: an aiosmtpd server on the app's event loop that hands every message to the store."""

from __future__ import annotations

import asyncio
import logging

from aiosmtpd.smtp import SMTP, Envelope, Session

from .store import Store

log = logging.getLogger("mailcatcher.smtp")


class CatchAllHandler:
    """Accepts any sender and recipients and stores the message bytes exactly as received."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            # Parsing and the SQLite commit run off the loop so a 25 MiB mail does not stall other clients.
            summary = await asyncio.to_thread(
                self.store.add, raw, envelope.mail_from or "", list(envelope.rcpt_tos)
            )
        except Exception:
            log.exception("could not store message from %s", envelope.mail_from)
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
    handler = CatchAllHandler(store)
    loop = asyncio.get_running_loop()

    # aiosmtpd refuses lines over 1001 bytes (RFC 5321). A client that sends bytes with bare LF line ends
    # (smtplib.sendmail(..., msg.as_bytes()) does) delivers its whole message as one "line", and long HTML lines
    # are common; real relays accept both, so the catcher does too. The message size limit still applies.
    class LenientSMTP(SMTP):
        line_length_limit = max_size + 2

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
