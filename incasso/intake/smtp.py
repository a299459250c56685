"""Our SMTP receiver (aiosmtpd): accept mail for our domains, store it, then answer 250.

The handler does only cheap checks on the event loop. ``handle_DATA`` hands
the raw bytes to a store that runs off the event loop (fsync and a database
commit block): normally a ``ReceiveBatcher``, which lets concurrent sessions
share one commit. It answers ``250`` only once the store reports the message
durable; if storing fails it answers ``451`` so the sending server keeps the
message and retries. Bytes
are never decoded here: 8-bit and SMTPUTF8 mail is stored exactly as sent.
Messages larger than the limit are refused with ``552`` by aiosmtpd while
they stream in, before they fill our memory.

Other limits: at most ``max_recipients`` recipients per message (``452``
after that, so a legitimate sender retries the rest), a per-session cap on
how often each command may be repeated (aiosmtpd answers ``421`` and
closes), and an idle timeout. STARTTLS is offered when a certificate is
configured; the HELO name, MAIL FROM, recipients and peer are recorded with
the message for the sender checks.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
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
REPLY_TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients; send the rest in another message"

# How often one session may repeat each command before aiosmtpd answers 421. Mail
# commands are generous for senders that deliver many messages per connection;
# commands with no use for delivery are kept low.
COMMAND_CALL_LIMITS = {"*": 1000, "NOOP": 20, "VRFY": 5, "EXPN": 5, "HELP": 10}

Store = Callable[[bytes, Envelope], Receipt]
# Hands a message to storage off the event loop; the future resolves once it is durable.
Submit = Callable[[bytes, Envelope], Future[Receipt]]


def threaded(store: Store, workers: int = 4) -> Submit:
    """Run a blocking ``store`` function in a small thread pool, one message per call."""
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smtp-store")
    return lambda raw, envelope: executor.submit(store, raw, envelope)


class IntakeHandler:
    """aiosmtpd handler that stores each message through ``submit`` before acknowledging it."""

    def __init__(
        self,
        submit: Submit,
        accepted_domains: Iterable[str],
        on_stored: Callable[[], None] | None = None,
        *,
        max_recipients: int = 100,
    ) -> None:
        self.submit = submit
        self.accepted_domains = {domain.lower() for domain in accepted_domains}
        self.on_stored = on_stored
        self.max_recipients = max_recipients

    async def handle_RCPT(
        self,
        server: SMTP,
        session: SmtpSession,
        envelope: SmtpEnvelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= self.max_recipients:
            logger.info("peer=%s recipient %s deferred: too many recipients", session.peer, address)
            return REPLY_TOO_MANY_RECIPIENTS
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
            helo=session.host_name,
        )
        try:
            receipt = await asyncio.wrap_future(self.submit(raw, details))
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
    handler: IntakeHandler,
    *,
    host: str,
    port: int,
    max_message_bytes: int,
    greeting_name: str = "localhost",
    timeout_seconds: float = 300.0,
    tls_context: ssl.SSLContext | None = None,
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
        timeout=timeout_seconds,
        command_call_limit=COMMAND_CALL_LIMITS,
        tls_context=tls_context,
        # Given, so the greeting never waits for a DNS lookup of our own name.
        server_hostname=greeting_name,
    )


def server_tls_context(certificate: Path, key: Path) -> ssl.SSLContext:
    """Build the STARTTLS context from PEM files; raise naming the file when one is unusable."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(certfile=certificate, keyfile=key)
    except (OSError, ssl.SSLError) as err:
        raise ValueError(
            f"cannot load the SMTP certificate {certificate} with key {key}: {err}; "
            "check smtp_receiver.tls_certificate_file and tls_key_file"
        ) from err
    return context
