"""The outbox: composed messages wait in the database until a transport delivers them.

Each outbound ``mail_message`` is one e-mail (sent by a ``Transport``), one
SMS (by an ``SmsProvider``) or one letter (by a ``LetterSink``). Its states:
``pending`` → ``sending`` → ``sent``, with ``pending`` again after a temporary
failure, ``send_failed`` after a permanent one (or too many temporary ones),
and ``uncertain`` for an interrupted send whose transport cannot tell
whether it left.

- ``enqueue_item`` (and ``enqueue`` for an e-mail) writes the message under
  the key ``out:<case id>:<step>:<medium>``, so one step of one case is queued
  once by each medium however often the dispatcher runs.
- ``drain`` commits ``sending`` before it calls the transport and ``sent``,
  with the transport's answer as proof, after.
- A crash between the two leaves ``sending``. At start-up
  ``recover_interrupted_sends`` asks the transport whether the message left:
  yes marks it ``sent``, no puts it back to ``pending``, and when the
  transport cannot tell (an SMTP relay) it is marked ``uncertain`` for a
  person to decide instead of sending it a second time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import getaddresses, parseaddr

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from incasso.cases.brake import brake_applied
from incasso.cases.ladder import Medium
from incasso.cases.lifecycle import EventKind, record_event
from incasso.cases.thread_index import thread_root as read_thread_root
from incasso.outbound.letters import PDF_CONTENT_TYPE, LetterSink, letter_reference
from incasso.outbound.sms import SMS_CONTENT_TYPE, SmsProvider, parse_sms
from incasso.outbound.transport import Transport, TransportError
from incasso.store.db import transaction
from incasso.store.documents import store_document
from incasso.store.models import (
    Case,
    Channel,
    Direction,
    MailMessage,
    MessageKind,
    MessageStatus,
    ReviewItem,
    ReviewKind,
)
from incasso.store.rawstore import RawStore

logger = logging.getLogger(__name__)

# Messages claimed per run of the outbox job.
BATCH_SIZE = 50
# Temporary failures tolerated before a message is given up and shown to staff.
MAX_ATTEMPTS = 8
# Wait after the first temporary failure; it doubles with each further one, up to the cap.
FIRST_RETRY_DELAY = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(hours=1)

EMAIL_CONTENT_TYPE = "message/rfc822"
# The content type a queued item of each medium must have.
CONTENT_TYPES: dict[str, str] = {
    Medium.EMAIL: EMAIL_CONTENT_TYPE,
    Medium.SMS: SMS_CONTENT_TYPE,
    Medium.LETTER: PDF_CONTENT_TYPE,
}
# Proof of a message that an interrupted send had delivered, found at start-up.
FOUND_AFTER_RESTART = "found after restart"


@dataclass(frozen=True)
class OutboxContext:
    factory: sessionmaker[Session]
    rawstore: RawStore
    transport: Transport
    clock: Callable[[], datetime]
    sms: SmsProvider
    letters: LetterSink


def outbox_key(case: Case, step: str, medium: str = "email") -> str:
    return f"out:{case.id}:{step}:{medium}"


def enqueue(
    session: Session,
    rawstore: RawStore,
    *,
    case: Case,
    step: str,
    message: EmailMessage,
    envelope_from: str,
    now: datetime,
) -> MailMessage | None:
    """Queue the e-mail ``message`` as ``step`` of ``case``; return None when queued before."""
    # CRLF line ends, as SMTP carries them: smtplib sends bytes unchanged.
    raw = message.as_bytes(policy=SMTP)
    return enqueue_item(
        session,
        rawstore,
        case=case,
        step=step,
        medium=Medium.EMAIL,
        raw=raw,
        content_type=EMAIL_CONTENT_TYPE,
        recipient=str(message["To"] or ""),
        subject=message["Subject"],
        message_id=message["Message-ID"],
        envelope_from=envelope_from,
        now=now,
        sender=parseaddr(str(message["From"] or ""))[1] or None,
        thread_root=read_thread_root(message["Thread-Index"]),
    )


def enqueue_item(
    session: Session,
    rawstore: RawStore,
    *,
    case: Case,
    step: str,
    medium: str,
    raw: bytes,
    content_type: str,
    recipient: str,
    subject: str | None,
    message_id: str,
    envelope_from: str | None,
    now: datetime,
    sender: str | None = None,
    thread_root: str | None = None,
) -> MailMessage | None:
    """Queue ``raw`` as ``step`` of ``case`` by ``medium``; return None when queued before.

    ``raw`` is an RFC 5322 message for ``email``, the JSON object
    ``{"to": "+32...", "text": "..."}`` for ``sms`` and a PDF for ``letter``.
    ``recipient`` is the e-mail address, the E.164 number or the postal
    address on one line. ``sender`` is the From address of an e-mail, whose
    envelope sender is a bounce address. ``thread_root`` is the root of the
    e-mail's Thread-Index. Raises ValueError when the item does not
    fit its medium.
    """
    check_item(medium, raw, content_type=content_type, recipient=recipient)
    key = outbox_key(case, step, medium)
    if session.scalar(select(MailMessage.id).where(MailMessage.dedupe_key == key)) is not None:
        logger.info("case %s step %s by %s already queued", case.reference, step, medium)
        return None

    document = store_document(session, rawstore, raw, content_type=content_type)
    row = MailMessage(
        dedupe_key=key,
        direction=Direction.OUTBOUND,
        channel=Channel.OUTBOX,
        status=MessageStatus.PENDING,
        kind=MessageKind.REMINDER,
        raw_document=document,
        case=case,
        step=step,
        medium=str(medium),
        message_id=message_id,
        thread_root=thread_root,
        subject=subject,
        from_address=sender or envelope_from,
        to_addresses=recipient,
        envelope_from=envelope_from,
        created_at=now,
    )
    session.add(row)
    record_event(
        session,
        case,
        EventKind.REMINDER_QUEUED,
        at=now,
        message=row,
        detail={"step": step, "medium": str(medium)},
    )
    return row


def check_item(medium: str, raw: bytes, *, content_type: str, recipient: str) -> None:
    """Raise ValueError naming the problem when ``raw`` cannot be sent by ``medium``."""
    expected = CONTENT_TYPES.get(medium)
    if expected is None:
        known = ", ".join(CONTENT_TYPES)
        raise ValueError(f"unknown medium {medium!r}; use one of {known}")
    if content_type != expected:
        raise ValueError(
            f"content type {content_type!r} does not fit medium {medium!r}; use {expected!r}"
        )
    if not recipient.strip():
        raise ValueError(f"empty recipient for medium {medium!r}; give the address or number")

    if medium == Medium.SMS:
        text_message = parse_sms(raw)
        if text_message.to != recipient:
            raise ValueError(
                f"SMS is addressed to {text_message.to!r} but the recipient is {recipient!r}; "
                "give the same E.164 number in both"
            )
    elif medium == Medium.LETTER and not raw.startswith(b"%PDF-"):
        raise ValueError(f"letter for {recipient!r} is not a PDF: it does not start with %PDF-")


def drain(context: OutboxContext, limit: int = BATCH_SIZE) -> int:
    """Send up to ``limit`` pending messages; return how many were handed over."""
    # Checked once per batch, not per message: a brake applied meanwhile holds the next batch.
    with transaction(context.factory) as session:
        email_held = brake_applied(session)

    sent = 0
    for _ in range(limit):
        outgoing = _claim_next(context, email_held=email_held)
        if outgoing is None:
            break
        if _send_one(context, outgoing):
            sent += 1
    return sent


@dataclass(frozen=True)
class _Outgoing:
    """A claimed row's bytes and addresses, read before the transport is called."""

    row_id: int
    medium: str
    raw: bytes
    recipient: str
    mail_from: str
    message_id: str
    key: str
    reference: str


def _claim_next(context: OutboxContext, *, email_held: bool) -> _Outgoing | None:
    """Mark the next due message ``sending`` and return it; None when none is due.

    One message per claim, so a crash leaves ``sending`` only on the message
    that was in the transport's hands, never on the rest of a batch.
    """
    now = context.clock()
    with transaction(context.factory) as session:
        query = (
            select(MailMessage)
            .where(
                MailMessage.direction == Direction.OUTBOUND,
                MailMessage.status == MessageStatus.PENDING,
                or_(MailMessage.retry_after.is_(None), MailMessage.retry_after <= now),
            )
            .order_by(MailMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if email_held:
            # The mass-bounce brake holds e-mail only; text messages and letters go on.
            query = query.where(MailMessage.medium.in_((Medium.SMS, Medium.LETTER)))
        row = session.scalars(query).first()
        if row is None:
            return None

        row.status = MessageStatus.SENDING
        row.claimed_at = now
        medium = row.medium or Medium.EMAIL
        return _Outgoing(
            row_id=row.id,
            medium=medium,
            raw=context.rawstore.get(row.raw_document.sha256, session=session),
            recipient=row.to_addresses or "",
            mail_from=row.envelope_from or "",
            message_id=row.message_id or "",
            key=row.dedupe_key,
            reference=letter_reference(row) if medium == Medium.LETTER else "",
        )


def _send_one(context: OutboxContext, outgoing: _Outgoing) -> bool:
    try:
        proof = _hand_over(context, outgoing)
    except TransportError as err:
        _record_failure(context, outgoing.row_id, err)
        return False

    _record_sent(context, outgoing.row_id, proof)
    logger.info("message %s sent by %s row=%d", outgoing.key, outgoing.medium, outgoing.row_id)
    return True


def _hand_over(context: OutboxContext, outgoing: _Outgoing) -> str | None:
    """Send ``outgoing`` by its medium; return the proof of sending."""
    if outgoing.medium == Medium.EMAIL:
        return context.transport.send(
            outgoing.raw,
            mail_from=outgoing.mail_from,
            recipients=_recipients(outgoing.recipient),
            message_id=outgoing.message_id,
        )

    if outgoing.medium == Medium.SMS:
        try:
            text_message = parse_sms(outgoing.raw)
        except ValueError as err:
            raise TransportError(
                f"queued SMS {outgoing.key} is invalid: {err}", temporary=False
            ) from err
        provider_id = context.sms.send(
            text_message.to, text_message.text, idempotency_key=outgoing.key
        )
        return f"SMS accepted as {provider_id}"

    if outgoing.medium == Medium.LETTER:
        letter_id = context.letters.submit(
            outgoing.raw,
            recipient=outgoing.recipient,
            reference=outgoing.reference,
            idempotency_key=outgoing.key,
        )
        return f"letter accepted as {letter_id}"

    raise TransportError(
        f"message {outgoing.key} has unknown medium {outgoing.medium!r}; "
        f"known media are {', '.join(CONTENT_TYPES)}",
        temporary=False,
    )


def _recipients(to_addresses: str) -> list[str]:
    return [address for _name, address in getaddresses([to_addresses]) if address]


def _record_sent(context: OutboxContext, row_id: int, proof: str | None) -> None:
    with transaction(context.factory) as session:
        row = session.get_one(MailMessage, row_id)
        now = context.clock()
        row.status = MessageStatus.SENT
        row.sent_at = now
        row.attempts += 1
        row.error = None
        row.proof = proof
        if row.case is not None:
            record_event(
                session,
                row.case,
                EventKind.REMINDER_SENT,
                at=now,
                message=row,
                detail={"step": row.step, "medium": row.medium},
            )


def _record_failure(context: OutboxContext, row_id: int, err: TransportError) -> None:
    with transaction(context.factory) as session:
        row = session.get_one(MailMessage, row_id)
        row.attempts += 1
        row.error = str(err)[:4000]
        give_up = not err.temporary or row.attempts >= MAX_ATTEMPTS
        if not give_up:
            row.status = MessageStatus.PENDING
            row.retry_after = context.clock() + retry_delay(row.attempts)
            logger.warning(
                "message row=%d not sent, will retry (attempt %d): %s", row_id, row.attempts, err
            )
            return

        row.status = MessageStatus.SEND_FAILED
        session.add(
            ReviewItem(
                kind=ReviewKind.SEND_FAILED,
                reasons=["send_failed"],
                detail=row.error,
                mail_message=row,
                case=row.case,
            )
        )
        if row.case is not None:
            record_event(
                session,
                row.case,
                EventKind.REMINDER_FAILED,
                at=context.clock(),
                message=row,
                detail={"step": row.step, "medium": row.medium, "error": row.error},
            )
    logger.error(
        "message row=%d not sent, given up after %d attempts: %s", row_id, row.attempts, err
    )


def retry_delay(attempts: int) -> timedelta:
    """Return the wait before attempt ``attempts + 1``: 1 minute, doubling, at most 1 hour."""
    return min(FIRST_RETRY_DELAY * 2 ** max(attempts - 1, 0), MAX_RETRY_DELAY)


@dataclass(frozen=True)
class Recovery:
    """Counts of interrupted sends by what start-up found: sent, not sent, or unknown."""

    sent: int = 0
    requeued: int = 0
    uncertain: int = 0


def recover_interrupted_sends(context: OutboxContext, older_than: timedelta) -> Recovery:
    """Settle sends interrupted for longer than ``older_than`` by asking each transport.

    A message the transport has is marked sent, with the proof
    ``FOUND_AFTER_RESTART``. One it does not have goes back to pending, because
    nothing left and sending it is safe. One it cannot tell about is marked
    uncertain, with a review item, for staff to decide.
    """
    cutoff = context.clock() - older_than
    sent = requeued = uncertain = 0
    with transaction(context.factory) as session:
        rows = session.scalars(
            select(MailMessage)
            .where(
                MailMessage.direction == Direction.OUTBOUND,
                MailMessage.status == MessageStatus.SENDING,
                MailMessage.claimed_at < cutoff,
            )
            .order_by(MailMessage.id)
        )
        for row in rows:
            delivered = _was_delivered(context, row)
            if delivered is True:
                _mark_found(session, row, context.clock())
                sent += 1
            elif delivered is False:
                _requeue(row)
                requeued += 1
            else:
                _mark_uncertain(session, row)
                uncertain += 1

    recovery = Recovery(sent=sent, requeued=requeued, uncertain=uncertain)
    if sent or requeued or uncertain:
        logger.warning(
            "interrupted sends: %d found sent, %d queued again, %d marked uncertain for review",
            sent,
            requeued,
            uncertain,
        )
    return recovery


def flag_interrupted_sends(context: OutboxContext, older_than: timedelta) -> int:
    """Settle interrupted sends like ``recover_interrupted_sends``; return the uncertain count."""
    return recover_interrupted_sends(context, older_than).uncertain


def _was_delivered(context: OutboxContext, row: MailMessage) -> bool | None:
    """Ask the transport of ``row``'s medium whether it has the message; None if it cannot tell."""
    medium = row.medium or Medium.EMAIL
    transports: dict[str, object] = {
        Medium.EMAIL: context.transport,
        Medium.SMS: context.sms,
        Medium.LETTER: context.letters,
    }
    # was_delivered is optional: a transport without it cannot tell.
    check = getattr(transports.get(medium), "was_delivered", None)
    if check is None:
        return None

    try:
        answer = check(row)
    except OSError as err:
        logger.warning("cannot check whether message row=%d left: %s", row.id, err)
        return None
    return answer if isinstance(answer, bool) else None


def _mark_found(session: Session, row: MailMessage, now: datetime) -> None:
    row.status = MessageStatus.SENT
    # The send started when the row was claimed and got as far as the transport.
    row.sent_at = row.claimed_at or now
    row.attempts += 1
    row.error = None
    row.proof = FOUND_AFTER_RESTART
    if row.case is not None:
        record_event(
            session,
            row.case,
            EventKind.REMINDER_SENT,
            at=now,
            message=row,
            detail={"step": row.step, "medium": row.medium, "proof": FOUND_AFTER_RESTART},
        )
    logger.info("message %s found sent after restart row=%d", row.dedupe_key, row.id)


def _requeue(row: MailMessage) -> None:
    row.status = MessageStatus.PENDING
    row.claimed_at = None
    row.retry_after = None
    logger.info("message %s not sent before restart, queued again row=%d", row.dedupe_key, row.id)


def _mark_uncertain(session: Session, row: MailMessage) -> None:
    row.status = MessageStatus.UNCERTAIN
    session.add(
        ReviewItem(
            kind=ReviewKind.SEND_UNCERTAIN,
            reasons=["send_uncertain"],
            detail=(
                f"sending {row.dedupe_key} by {row.medium or Medium.EMAIL} was interrupted, "
                "and its transport cannot tell whether it left"
            ),
            mail_message=row,
            case=row.case,
        )
    )
