"""Taking a message in: store the raw bytes durably, record them, and only then acknowledge.

Every channel (SMTP receiver, mailboxes, drop folder, uploads) calls
``receive`` and acknowledges its sender only after it returns. ``receive``
does no parsing: it writes the bytes to the raw store and one
``mail_message`` row in status ``received``, commits, and returns. A crash
before the commit leaves at most a blob that no row names (folder store);
the sender, never acknowledged, sends the message again. Parsing and extraction happen later
in ``incasso.intake.process``, so a message that breaks the parser is still
safely stored.

The idempotency key is ``in:<sha256 of the raw bytes>``: the same bytes
received twice, through any channel, are one message.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from incasso.store.db import transaction
from incasso.store.documents import insert_if_absent, record_document
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
    with transaction(factory) as session:
        receipt = record_received(
            session,
            rawstore,
            raw,
            channel=channel,
            envelope=envelope or Envelope(),
            content_type=content_type,
            filename=filename,
        )
    _log_receipt(receipt, channel, raw)
    return receipt


def record_received(
    session: Session,
    rawstore: RawStore,
    raw: bytes,
    *,
    channel: Channel,
    envelope: Envelope,
    content_type: str = MESSAGE_CONTENT_TYPE,
    filename: str | None = None,
) -> Receipt:
    """Write ``raw`` and its rows in the caller's transaction; durable when it commits."""
    # With the database store, one commit makes the bytes and the rows durable together.
    sha256 = rawstore.put(raw, session=session)
    key = f"in:{sha256}"
    document_id = record_document(
        session, sha256=sha256, size=len(raw), content_type=content_type, filename=filename
    )
    row_id = insert_if_absent(
        session,
        MailMessage,
        {
            "dedupe_key": key,
            "direction": Direction.INBOUND,
            "channel": channel,
            "status": MessageStatus.RECEIVED,
            "raw_document_id": document_id,
            "envelope_from": envelope.mail_from,
            "envelope_to": ", ".join(envelope.rcpt_tos) or None,
            "peer": envelope.peer,
            "helo": envelope.helo,
        },
        "dedupe_key",
    )
    if row_id is not None:
        return Receipt(row_id, duplicate=False)
    existing = session.scalars(select(MailMessage.id).where(MailMessage.dedupe_key == key)).one()
    return Receipt(existing, duplicate=True)


def _log_receipt(receipt: Receipt, channel: Channel, raw: bytes) -> None:
    if receipt.duplicate:
        logger.info("message already received row=%d", receipt.message_row_id)
    else:
        logger.info(
            "message received row=%d channel=%s bytes=%d", receipt.message_row_id, channel, len(raw)
        )


@dataclass
class _Pending:
    raw: bytes
    envelope: Envelope
    future: Future[Receipt]


class ReceiveBatcher:
    """Group commit for a busy receiver: messages that arrive together share one commit.

    ``submit`` hands a message to one writer thread and returns a future that
    resolves once the message is durable. The writer takes what has queued up
    (at most ``max_batch``) and stores it in one transaction, so concurrent
    senders share one fsync instead of queueing for one each. A lone message
    is stored at once, alone. If a shared transaction fails, each message of
    that batch is tried again in a transaction of its own, so one bad message
    cannot fail its neighbours.
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        rawstore: RawStore,
        *,
        channel: Channel,
        max_batch: int = 32,
    ) -> None:
        self.factory = factory
        self.rawstore = rawstore
        self.channel = channel
        self.max_batch = max_batch
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="receive-batcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Store what is queued, then end the writer thread."""
        self._queue.put(None)
        self._thread.join()

    def submit(self, raw: bytes, envelope: Envelope) -> Future[Receipt]:
        future: Future[Receipt] = Future()
        self._queue.put(_Pending(raw, envelope, future))
        return future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._store(batch)
                    return
                batch.append(item)
            self._store(batch)

    def _store(self, batch: list[_Pending]) -> None:
        try:
            with transaction(self.factory) as session:
                receipts = [self._record(session, item) for item in batch]
        except Exception:
            logger.warning("batch of %d messages failed; storing them one by one", len(batch))
            for item in batch:
                self._store_alone(item)
            return
        for item, receipt in zip(batch, receipts, strict=True):
            _log_receipt(receipt, self.channel, item.raw)
            item.future.set_result(receipt)

    def _store_alone(self, item: _Pending) -> None:
        try:
            with transaction(self.factory) as session:
                receipt = self._record(session, item)
        except Exception as err:
            logger.exception(
                "message of %d bytes from %s not stored", len(item.raw), item.envelope.peer
            )
            item.future.set_exception(err)
            return
        _log_receipt(receipt, self.channel, item.raw)
        item.future.set_result(receipt)

    def _record(self, session: Session, item: _Pending) -> Receipt:
        return record_received(
            session, self.rawstore, item.raw, channel=self.channel, envelope=item.envelope
        )
