"""Taking a message in: store the raw bytes durably, record them, and only then acknowledge.

Every channel (SMTP receiver, drop folder, uploads) calls ``receive`` and
acknowledges its sender only after it returns. ``receive`` does no parsing:
it writes the bytes to the raw store (fsynced), commits one ``mail_message``
row in status ``received`` and returns. Parsing and extraction happen later
in ``incasso.intake.process``, so a message that breaks the parser is still
safely stored.

The idempotency key is ``in:<sha256 of the raw bytes>``: the same bytes
received twice, through any channel, are one message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from incasso.store.db import transaction
from incasso.store.documents import store_document
from incasso.store.models import Channel, Direction, MailMessage, MessageStatus
from incasso.store.rawstore import RawStore

logger = logging.getLogger(__name__)

MESSAGE_CONTENT_TYPE = "message/rfc822"


@dataclass(frozen=True)
class Envelope:
    """What the SMTP conversation said about a message, apart from its content."""

    mail_from: str | None = None
    rcpt_tos: tuple[str, ...] = ()
    peer: str | None = None
    helo: str | None = None


@dataclass(frozen=True)
class Receipt:
    """The stored message's row id, and whether it had been received before."""

    message_row_id: int
    duplicate: bool


def receive(
    factory: sessionmaker[Session],
    rawstore: RawStore,
    raw: bytes,
    *,
    channel: Channel,
    envelope: Envelope | None = None,
    content_type: str = MESSAGE_CONTENT_TYPE,
    filename: str | None = None,
) -> Receipt:
    """Store ``raw`` durably and record it for processing; safe to call twice with the same bytes.

    ``content_type`` and ``filename`` describe an upload that is a document
    rather than a mail (``channel=UPLOAD``). Raises on storage failure, in
    which case nothing was acknowledged and the sender must retry.
    """
    try:
        return _record(factory, rawstore, raw, channel, envelope, content_type, filename)
    except IntegrityError:
        # A concurrent receive of the same bytes committed first.
        return _existing_receipt(factory, raw, rawstore)


def _record(
    factory: sessionmaker[Session],
    rawstore: RawStore,
    raw: bytes,
    channel: Channel,
    envelope: Envelope | None,
    content_type: str,
    filename: str | None,
) -> Receipt:
    envelope = envelope or Envelope()
    with transaction(factory) as session:
        document = store_document(
            session, rawstore, raw, content_type=content_type, filename=filename
        )
        key = f"in:{document.sha256}"
        existing = session.scalar(select(MailMessage.id).where(MailMessage.dedupe_key == key))
        if existing is not None:
            logger.info("message already received sha256=%s row=%d", document.sha256, existing)
            return Receipt(existing, duplicate=True)

        message = MailMessage(
            dedupe_key=key,
            direction=Direction.INBOUND,
            channel=channel,
            status=MessageStatus.RECEIVED,
            raw_document=document,
            envelope_from=envelope.mail_from,
            envelope_to=", ".join(envelope.rcpt_tos) or None,
            peer=envelope.peer,
            helo=envelope.helo,
        )
        session.add(message)
        session.flush()
        logger.info(
            "message received row=%d channel=%s sha256=%s bytes=%d",
            message.id,
            channel,
            document.sha256,
            len(raw),
        )
        return Receipt(message.id, duplicate=False)


def _existing_receipt(factory: sessionmaker[Session], raw: bytes, rawstore: RawStore) -> Receipt:
    sha256 = rawstore.put(raw)
    with transaction(factory) as session:
        row_id = session.scalars(
            select(MailMessage.id).where(MailMessage.dedupe_key == f"in:{sha256}")
        ).one()
    return Receipt(row_id, duplicate=True)
