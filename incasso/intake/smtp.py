"""Our SMTP receiver (aiosmtpd): accept mail for our domains, store it, then answer 250.

The handler does only cheap checks on the event loop. ``handle_DATA`` hands
the raw bytes to ``receive`` in a worker thread (fsync and a database commit
block) and answers ``250`` only after that returned; if storing fails it
answers ``451`` so the sending server keeps the message and retries. Bytes
are never decoded here: 8-bit and SMTPUTF8 mail is stored exactly as sent.
Messages larger than the limit are refused with ``552`` by aiosmtpd while
they stream in, before they fill our memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from aiosmtpd.smtp import Envelope as SmtpEnvelope
from aiosmtpd.smtp import Session as SmtpSession

from incasso.intake.receive import Envelope, Receipt

logger = logging.getLogger(__name__)

REPLY_STORED = "250 2.0.0 Message accepted"
REPLY_RECIPIENT_OK = "250 2.1.5 Recipient OK"
REPLY_RELAY_DENIED = "550 5.7.1 Relaying denied: we accept mail for our own domains only"
REPLY_NOT_STORED = "451 4.3.0 Message not stored; please try again later"

Store = Callable[[bytes, Envelope], Receipt]


class IntakeHandler:
    """aiosmtpd handler that stores each message through ``store`` before acknowledging it."""

    def __init__(
        self,
        store: Store,
        accepted_domains: Iterable[str],
        on_stored: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.accepted_domains = {domain.lower() for domain in accepted_domains}
        self.on_stored = on_stored

    async def handle_RCPT(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: SmtpEnvelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        domain = address.rpartition("@")[2].lower()
        if domain not in self.accepted_domains:
            logger.info("peer=%s recipient %s refused: not our domain", session.peer, address)
            return REPLY_RELAY_DENIED
        envelope.rcpt_tos.append(address)
        return REPLY_RECIPIENT_OK

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: SmtpEnvelope) -> str:
        raw = envelope.original_content or b""
        details = Envelope(
            mail_from=envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            peer=_format_peer(session.peer),
        )
        try:
            receipt = await asyncio.to_thread(self.store, raw, details)
        except Exception:
            logger.exception("peer=%s message of %d bytes not stored", details.peer, len(raw))
            return REPLY_NOT_STORED

        logger.info(
            "peer=%s message stored row=%d duplicate=%s",
            details.peer,
            receipt.message_row_id,
            receipt.duplicate,
        )
        if self.on_stored is not None:
            self.on_stored()
        return REPLY_STORED


def _format_peer(peer: Any) -> str | None:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer) if peer else None


def make_controller(
    handler: IntakeHandler, *, host: str, port: int, max_message_bytes: int
) -> Controller:
    """Build a controller that runs the receiver in its own thread; call ``start()``."""
    return Controller(
        handler,
        hostname=host,
        port=port,
        data_size_limit=max_message_bytes,
        decode_data=False,
        enable_SMTPUTF8=True,
        ident="incasso",
    )
