"""The intake worker: parse each received message, route it, and record the outcome.

States of an inbound ``mail_message``: ``received`` → ``processing`` →
``processed`` or ``failed``.

- Claiming sets ``processing`` in its own short transaction, so two workers
  never take the same message (PostgreSQL claims with SKIP LOCKED).
- Parsing and invoice extraction run outside any transaction.
- The outcome (cases, invoices, events, review items, the message's own
  header fields and ``processed``) is written in one transaction: either
  all of it exists or none of it.
- If anything raises, that transaction rolls back and a second one marks the
  message ``failed`` with the error and opens a ``processing_failed`` review
  item. The raw bytes stay in the raw store.
- A worker that dies leaves ``processing`` rows behind; ``release_stale_claims``
  puts them back to ``received`` at start-up. Nothing of theirs was
  committed, so processing them again cannot create anything twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from incasso.cases.addresses import Addresses
from incasso.cases.brake import brake_applied, check_mass_bounce
from incasso.cases.debtors import has_postal_address
from incasso.cases.ladder import HoldReason, Medium
from incasso.cases.lifecycle import EventKind, record_event
from incasso.cases.thread_index import thread_root
from incasso.cases.transitions import continue_by_letter, pause_case
from incasso.i18n import LOCAL_ZONE
from incasso.intake.dsn import DeliveryFailure, read_bounce
from incasso.intake.extract import extract_document
from incasso.intake.extract.model import ExtractionResult
from incasso.intake.fax import detect_fax
from incasso.intake.gather import has_invoice, readable_documents, typed_claims
from incasso.intake.intent import Intent, Proposal
from incasso.intake.mime import Attachment, ParsedMail, parse_mail
from incasso.intake.reply_intent import hold_for_reply, read_reply
from incasso.intake.resolver import DnsResolver
from incasso.intake.route import CreditorSignal, Routing, find_creditor, route
from incasso.intake.submission import (
    ExtractedAttachment,
    Submission,
    SubmissionPolicy,
    extract_attachments,
    file_submission,
    sender_exclusions,
)
from incasso.intake.trust import SenderCheck, check_sender
from incasso.intake.weak_match import candidate_references
from incasso.store.db import transaction
from incasso.store.models import (
    Case,
    CaseStatus,
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

# Messages claimed per run of the intake job.
BATCH_SIZE = 50


UNMATCHED_REASON = {
    MessageKind.BOUNCE: "unmatched_bounce",
    MessageKind.AUTO_REPLY: "unmatched_auto_reply",
}

TIMELINE_EVENT = {
    MessageKind.REPLY: EventKind.REPLY_RECEIVED,
    MessageKind.BOUNCE: EventKind.BOUNCE_RECEIVED,
    MessageKind.AUTO_REPLY: EventKind.AUTO_REPLY_RECEIVED,
}


@dataclass(frozen=True)
class SenderPolicy:
    """Which relays and Authentication-Results headers we trust, and how to ask the DNS."""

    trusted_networks: tuple[str, ...]
    trusted_authserv_ids: tuple[str, ...]
    resolver: DnsResolver


@dataclass(frozen=True)
class IntakeContext:
    """What the intake worker needs from the rest of the application."""

    factory: sessionmaker[Session]
    rawstore: RawStore
    addresses: Addresses
    policy: SubmissionPolicy
    clock: Callable[[], datetime]
    senders: SenderPolicy
    # Runs invoice extraction; in a worker process with limits outside tests.
    extractor: Callable[..., ExtractionResult] = extract_document


@dataclass(frozen=True)
class _Outcome:
    """What processing found, for the transaction that records it."""

    routing: Routing
    extracted: list[ExtractedAttachment]
    check: SenderCheck | None
    notes: tuple[str, ...]
    parsed: ParsedMail


@dataclass(frozen=True)
class _Loaded:
    """A claimed message as read from the store."""

    channel: str
    raw: bytes
    content_type: str
    filename: str | None
    peer: str | None
    helo: str | None
    envelope_from: str | None
    envelope_to: list[str]


def process_pending(context: IntakeContext, limit: int = BATCH_SIZE) -> int:
    """Process up to ``limit`` received messages; return how many were handled."""
    handled = 0
    for row_id in claim_received(context, limit):
        process_claimed(context, row_id)
        handled += 1
    return handled


def claim_received(context: IntakeContext, limit: int) -> list[int]:
    """Mark up to ``limit`` received messages as being processed and return their ids."""
    with transaction(context.factory) as session:
        query = (
            select(MailMessage.id)
            .where(MailMessage.status == MessageStatus.RECEIVED)
            .order_by(MailMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(session.scalars(query))
        if ids:
            session.execute(
                update(MailMessage)
                .where(MailMessage.id.in_(ids))
                .values(status=MessageStatus.PROCESSING, claimed_at=context.clock())
            )
    return ids


def release_stale_claims(context: IntakeContext, older_than: timedelta) -> int:
    """Return messages left in ``processing`` by a dead worker to ``received``."""
    cutoff = context.clock() - older_than
    with transaction(context.factory) as session:
        result = session.execute(
            update(MailMessage)
            .where(
                MailMessage.status == MessageStatus.PROCESSING,
                MailMessage.claimed_at < cutoff,
            )
            .values(status=MessageStatus.RECEIVED)
        )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        logger.warning("released %d messages left in processing by a stopped worker", count)
    return count


def process_claimed(context: IntakeContext, row_id: int) -> None:
    """Process one claimed message; on any error mark it failed and open a review item."""
    try:
        _process(context, row_id)
    except Exception as err:
        logger.exception("intake failed for message row=%d", row_id)
        _mark_failed(context, row_id, f"{type(err).__name__}: {err}")


def _process(context: IntakeContext, row_id: int) -> None:
    loaded = _load(context, row_id)
    parsed = _parse(loaded)
    fax = detect_fax(parsed)
    documents, notes = readable_documents(parsed, fax)
    fax_number = fax.sender_number if fax is not None else None

    # DNS lookups and extraction are slow, so they run outside any transaction.
    creditor_known, exclusions = _sender_facts(context, loaded, parsed, fax_number)
    check = _check_sender(context, loaded, parsed) if creditor_known else None
    extracted = extract_attachments(documents, exclusions, context.extractor) if documents else []
    if creditor_known and not has_invoice(extracted):
        extracted.extend(typed_claims(parsed, exclusions))

    with transaction(context.factory) as session:
        message = session.get_one(MailMessage, row_id)
        _copy_headers(message, parsed)
        if check is not None:
            message.sender_check = check.verdict
            message.sender_check_detail = check.detail[:2000]
        routing = route(session, parsed, message, context.addresses, fax_number)
        outcome = _Outcome(routing, extracted, check, tuple(notes), parsed)
        _record_outcome(context, session, message, outcome)
        message.kind = routing.kind
        message.status = MessageStatus.PROCESSED
        message.processed_at = context.clock()
    logger.info("message row=%d processed as %s", row_id, routing.kind)


def _parse(loaded: _Loaded) -> ParsedMail:
    if loaded.channel == Channel.UPLOAD:
        attachment = Attachment(loaded.filename, loaded.content_type, loaded.raw)
        return ParsedMail(attachments=[attachment])
    return parse_mail(loaded.raw)


def _load(context: IntakeContext, row_id: int) -> _Loaded:
    with transaction(context.factory) as session:
        message = session.get_one(MailMessage, row_id)
        document = message.raw_document
        return _Loaded(
            channel=message.channel,
            raw=context.rawstore.get(document.sha256, session=session),
            content_type=document.content_type,
            filename=document.filename,
            peer=message.peer,
            helo=message.helo,
            envelope_from=message.envelope_from,
            envelope_to=[part.strip() for part in (message.envelope_to or "").split(",")],
        )


def _sender_facts(
    context: IntakeContext, loaded: _Loaded, parsed: ParsedMail, fax_number: str | None
) -> tuple[bool, list[str]]:
    """Tell whether a registered creditor sent this, and list what belongs to the sender."""
    with transaction(context.factory) as session:
        recipients = loaded.envelope_to + parsed.to
        match = find_creditor(session, parsed, recipients, context.addresses, fax_number)
        creditor = match.creditor if match is not None else None
        return creditor is not None, sender_exclusions(creditor, parsed.from_address)


def _check_sender(
    context: IntakeContext, loaded: _Loaded, parsed: ParsedMail
) -> SenderCheck | None:
    """Check the From address of mail that arrived over the network.

    Files taken in with ``incasso intake`` (drop folder, uploads) are the
    operator's own doing and are not checked.
    """
    if loaded.channel not in (Channel.SMTP, Channel.IMAP):
        return None
    senders = context.senders
    return check_sender(
        loaded.raw,
        from_address=parsed.from_address,
        peer=loaded.peer,
        helo=loaded.helo,
        mail_from=loaded.envelope_from,
        channel=loaded.channel,
        trusted_networks=senders.trusted_networks,
        trusted_authserv_ids=senders.trusted_authserv_ids,
        resolver=senders.resolver,
    )


def _copy_headers(message: MailMessage, parsed: ParsedMail) -> None:
    message.message_id = parsed.message_id
    message.in_reply_to = " ".join(parsed.in_reply_to) or None
    message.references = " ".join(parsed.references) or None
    message.thread_root = thread_root(parsed.header("thread-index"))
    message.subject = parsed.subject[:2000] or None
    message.from_address = parsed.from_address
    message.to_addresses = ", ".join(parsed.to + parsed.cc) or None


def hold_after_bounce(
    session: Session, case: Case, message: MailMessage, failure: DeliveryFailure, now: datetime
) -> None:
    """Act on a bounce: a final failure marks the debtor's address and moves the case to letters.

    A temporary failure (the sending server still tries) is only noted in the
    timeline. After a final one the ladder goes on by letter when the debtor's
    postal address is known. Without one the case is paused and staff give
    another address (``incasso debtor --email``) or a postal address, then
    resume it.
    """
    if not failure.final:
        logger.info("case %s: delivery delayed, status %s", case.reference, failure.status)
        return
    if brake_applied(session):
        # Many reminders bounced at once, so this bounce may be our fault, not the address's.
        logger.info(
            "case %s: bounce noted, not acted on: mass-bounce brake applied", case.reference
        )
        return
    debtor = case.debtor
    if debtor is not None and debtor.email and failure.recipient in (None, debtor.email.lower()):
        debtor.email_failed_at = now
        debtor.email_failure = (failure.status or "bounced")[:200]
        check_mass_bounce(session, now)
        if has_postal_address(debtor):
            bounced_step = _last_mailed_step(session, case)
            continue_by_letter(session, case, bounced_step=bounced_step, now=now)
            return
    if case.status == CaseStatus.ACTIVE:
        pause_case(session, case, HoldReason.BOUNCED, now=now, actor="system", note="mail bounced")
    session.add(
        ReviewItem(
            kind=ReviewKind.REPLY,
            reasons=["bounce_to_read"],
            detail=" ".join(part for part in (failure.recipient, failure.status) if part) or None,
            case=case,
            mail_message=message,
        )
    )


def _last_mailed_step(session: Session, case: Case) -> str | None:
    """The ladder step of the last e-mail sent on ``case``: the one that most likely bounced."""
    return session.scalar(
        select(MailMessage.step)
        .where(
            MailMessage.case_id == case.id,
            MailMessage.direction == Direction.OUTBOUND,
            MailMessage.medium == Medium.EMAIL,
            MailMessage.sent_at.is_not(None),
        )
        .order_by(MailMessage.sent_at.desc(), MailMessage.id.desc())
        .limit(1)
    )


def review_reply(
    session: Session, routing: Routing, message: MailMessage, proposal: Proposal, now: datetime
) -> None:
    """Pause the ladder where the reply requests it, and add the reply to the review queue.

    The proposal is what the rules read in the reply. Staff confirm or correct it.
    """
    case = routing.case
    assert case is not None  # a reply is routed to a case
    hold_for_reply(session, case, proposal, now=now)
    reasons = ["reply_to_read"]
    if routing.foreign_sender:
        reasons.append("sender_not_debtor")
    if proposal.intent != Intent.OTHER:
        reasons.append(f"intent:{proposal.intent.value}")
    session.add(
        ReviewItem(
            kind=ReviewKind.REPLY,
            reasons=reasons,
            detail="\n".join(proposal.evidence)[:2000] or None,
            case=case,
            mail_message=message,
        )
    )


def _record_outcome(
    context: IntakeContext, session: Session, message: MailMessage, outcome: _Outcome
) -> None:
    routing = outcome.routing
    now = context.clock()
    if routing.case is not None:
        message.case = routing.case
        detail: dict[str, object] = {"matched_by": routing.matched_by, "subject": message.subject}
        proposal = None
        failure = None
        if routing.kind == MessageKind.REPLY:
            proposal = read_reply(outcome.parsed, now.astimezone(LOCAL_ZONE).date())
            detail.update(proposal.as_detail())
        if routing.kind == MessageKind.BOUNCE:
            failure = read_bounce(outcome.parsed)
            detail.update(failure.as_detail())
        record_event(
            session,
            routing.case,
            TIMELINE_EVENT.get(routing.kind, EventKind.REPLY_RECEIVED),
            at=now,
            message=message,
            detail=detail,
        )
        if failure is not None:
            hold_after_bounce(session, routing.case, message, failure, now)
        if proposal is not None:
            review_reply(session, routing, message, proposal, now)
        return

    # An unknown sender's attachments are still extracted, so the reviewer sees the fields.
    if routing.kind == MessageKind.SUBMISSION or (
        routing.kind == MessageKind.UNMATCHED and outcome.extracted
    ):
        match = routing.creditor
        submission = Submission(
            creditor=match.creditor if match is not None else None,
            extracted=outcome.extracted,
            sender_check=outcome.check,
            by_fax_number=match is not None and match.signal == CreditorSignal.FAX_NUMBER,
            notes=outcome.notes,
        )
        file_submission(
            session,
            context.rawstore,
            message=message,
            submission=submission,
            policy=context.policy,
            now=now,
        )
        return

    reasons = [UNMATCHED_REASON.get(routing.kind, "no_case_found")]
    candidates = candidate_references(session, outcome.parsed)
    if candidates:
        reasons.append("candidates:" + " ".join(candidates))
    session.add(
        ReviewItem(
            kind=ReviewKind.UNMATCHED_MAIL,
            reasons=reasons,
            detail="; ".join(outcome.notes) or None,
            mail_message=message,
        )
    )


def _mark_failed(context: IntakeContext, row_id: int, error: str) -> None:
    with transaction(context.factory) as session:
        message = session.get_one(MailMessage, row_id)
        message.status = MessageStatus.FAILED
        message.error = error[:4000]
        message.processed_at = context.clock()
        session.add(
            ReviewItem(
                kind=ReviewKind.PROCESSING_FAILED,
                reasons=["processing_failed"],
                detail=error[:4000],
                mail_message=message,
            )
        )
