"""Mail that found no case by itself: proposing cases for it, attaching it, or setting it aside.

Intake leaves a message ``unmatched`` when nothing in it ties it to a case or
a creditor (see incasso.intake.route), and opens an ``unmatched_mail`` review
item for it. A person then reads it and either attaches it to a case or marks
it as not ours.

- ``candidates`` proposes open cases, best first: a case the text names by
  reference or structured communication, then the open cases of the sender's
  address, the cases intake proposed already, and the business debtors at the
  sender's domain.
- ``attach_message`` makes the message part of the case exactly as if it had
  threaded by itself: a reply is read for its intent, a dispute pauses the
  ladder, and a review item is opened for staff to read the reply. A bounce
  or an automatic reply is recorded as one.
- ``dismiss_message`` closes the review item with the reviewer's note. The
  message and its raw bytes stay in the store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from incasso.cases.law import is_valid_ogm
from incasso.cases.lifecycle import EventKind, record_event
from incasso.cases.references import find_references
from incasso.i18n import LOCAL_ZONE, N_, LocalizedError
from incasso.intake.dsn import read_bounce
from incasso.intake.gather import html_text
from incasso.intake.mime import Attachment, ParsedMail, parse_mail
from incasso.intake.process import hold_after_bounce, review_reply
from incasso.intake.reply_intent import read_reply
from incasso.intake.route import Routing
from incasso.intake.weak_match import OPEN_STATUSES, SHARED_DOMAINS, STRUCTURED
from incasso.store.models import (
    Case,
    Channel,
    Debtor,
    Direction,
    MailMessage,
    MessageKind,
    MessageStatus,
    ReviewItem,
    ReviewKind,
    ReviewStatus,
)
from incasso.store.rawstore import RawStore

logger = logging.getLogger(__name__)

# How many cases the reviewer is offered at most.
CANDIDATE_LIMIT = 10
# Reasons for proposing a case, strongest first: their order ranks the candidates.
NAMED_IN_SUBJECT = "named_in_subject"
NAMED_IN_BODY = "named_in_body"
STRUCTURED_COMMUNICATION = "structured_communication"
SENDER_ADDRESS = "sender_address"
PROPOSED_AT_INTAKE = "proposed_at_intake"
SENDER_DOMAIN = "sender_domain"
SIGNAL_ORDER = (
    NAMED_IN_SUBJECT,
    NAMED_IN_BODY,
    STRUCTURED_COMMUNICATION,
    SENDER_ADDRESS,
    PROPOSED_AT_INTAKE,
    SENDER_DOMAIN,
)
CANDIDATES_PREFIX = "candidates:"
# Kinds of message that staff may attach: what intake could not place on a case.
ATTACHABLE = (MessageKind.UNMATCHED, MessageKind.BOUNCE, MessageKind.AUTO_REPLY)
TIMELINE_EVENT = {
    MessageKind.REPLY: EventKind.REPLY_RECEIVED,
    MessageKind.BOUNCE: EventKind.BOUNCE_RECEIVED,
    MessageKind.AUTO_REPLY: EventKind.AUTO_REPLY_RECEIVED,
}
MATCHED_BY_STAFF = "staff"


class UnmatchedError(LocalizedError):
    """A message cannot be attached or set aside as requested; the text names the fix."""


@dataclass
class Candidate:
    """An open case proposed for a message, with every reason it was proposed for."""

    case: Case
    signals: list[str] = field(default_factory=list)

    @property
    def rank(self) -> int:
        return min(SIGNAL_ORDER.index(signal) for signal in self.signals)


def stored_mail(session: Session, rawstore: RawStore, message: MailMessage) -> ParsedMail:
    """Parse the raw bytes of ``message`` again, as intake did."""
    document = message.raw_document
    raw = rawstore.get(document.sha256, session=session)
    if message.channel == Channel.UPLOAD:
        # A document taken in without a mail around it: the file is the only attachment.
        return ParsedMail(attachments=[Attachment(document.filename, document.content_type, raw)])
    return parse_mail(raw)


def mail_body(parsed: ParsedMail) -> str:
    """Return the text of ``parsed``, from its HTML part when it has no plain text."""
    return parsed.text or html_text(parsed.html or "")


def open_unmatched_item(session: Session, message: MailMessage) -> ReviewItem | None:
    """Return the open ``unmatched_mail`` review item of ``message``, if it has one."""
    return session.scalar(
        select(ReviewItem)
        .where(
            ReviewItem.mail_message_id == message.id,
            ReviewItem.kind == ReviewKind.UNMATCHED_MAIL,
            ReviewItem.status == ReviewStatus.OPEN,
        )
        .order_by(ReviewItem.id)
        .limit(1)
    )


def candidates(
    session: Session, message: MailMessage, parsed: ParsedMail, *, limit: int = CANDIDATE_LIMIT
) -> list[Candidate]:
    """Return the open cases ``message`` may be about, best first, at most ``limit``."""
    found: dict[int, Candidate] = {}

    def propose(cases: list[Case], signal: str) -> None:
        for case in cases:
            candidate = found.setdefault(case.id, Candidate(case))
            if signal not in candidate.signals:
                candidate.signals.append(signal)

    body = mail_body(parsed)
    propose(_named_cases(session, parsed.subject), NAMED_IN_SUBJECT)
    propose(_named_cases(session, body), NAMED_IN_BODY)
    propose(_cases_by_ogm(session, f"{parsed.subject}\n{body}"), STRUCTURED_COMMUNICATION)

    sender = (parsed.from_address or message.from_address or "").lower()
    propose(_cases_of_sender(session, sender), SENDER_ADDRESS)
    propose(_cases_proposed_at_intake(session, message), PROPOSED_AT_INTAKE)
    propose(_cases_at_sender_domain(session, sender), SENDER_DOMAIN)

    for candidate in found.values():
        candidate.signals.sort(key=SIGNAL_ORDER.index)
    ranked = sorted(found.values(), key=lambda candidate: (candidate.rank, -candidate.case.id))
    return ranked[:limit]


def _open_cases(session: Session, *conditions: object) -> list[Case]:
    query = (
        select(Case)
        .join(Debtor, Case.debtor_id == Debtor.id, isouter=True)
        .where(Case.status.in_(OPEN_STATUSES), *conditions)  # type: ignore[arg-type]
        .order_by(Case.id.desc())
        .limit(CANDIDATE_LIMIT)
    )
    return list(session.scalars(query))


def _named_cases(session: Session, text: str) -> list[Case]:
    references = find_references(text or "")
    return _open_cases(session, Case.reference.in_(references)) if references else []


def _cases_by_ogm(session: Session, text: str) -> list[Case]:
    digits = ["".join(groups) for groups in STRUCTURED.findall(text)]
    valid = [ogm for ogm in digits if is_valid_ogm(ogm)]
    return _open_cases(session, Case.ogm.in_(valid)) if valid else []


def _cases_of_sender(session: Session, sender: str) -> list[Case]:
    if "@" not in sender:
        return []
    return _open_cases(session, func.lower(Debtor.email) == sender)


def _cases_at_sender_domain(session: Session, sender: str) -> list[Case]:
    """Return open cases of business debtors at the sender's domain.

    A mail provider's domain is shared by many people, so it proposes no case.
    """
    domain = sender.rpartition("@")[2]
    if "@" not in sender or domain in SHARED_DOMAINS:
        return []
    return _open_cases(
        session,
        func.lower(Debtor.email).like(f"%@{domain}"),
        Debtor.enterprise_number.is_not(None),
    )


def _cases_proposed_at_intake(session: Session, message: MailMessage) -> list[Case]:
    """Return the cases named by the ``candidates:`` reason of the message's review items."""
    items = session.scalars(
        select(ReviewItem).where(
            ReviewItem.mail_message_id == message.id,
            ReviewItem.kind == ReviewKind.UNMATCHED_MAIL,
        )
    )
    references: list[str] = []
    for item in items:
        for reason in item.reasons or []:
            if reason.startswith(CANDIDATES_PREFIX):
                listed = reason.removeprefix(CANDIDATES_PREFIX).replace(",", " ")
                references.extend(listed.split())
    return _open_cases(session, Case.reference.in_(references)) if references else []


def attach_message(
    session: Session,
    rawstore: RawStore,
    message_id: int,
    case_reference: str,
    *,
    actor: str,
    now: datetime,
) -> Case:
    """Attach received message ``message_id`` to the case ``case_reference``; return the case.

    The message is then treated as if it had threaded by itself. Attaching it
    to the same case again changes nothing; attaching it to another case is
    refused.
    """
    message = _inbound_message(session, message_id)
    case = _case(session, case_reference)
    if message.case_id is not None:
        if message.case_id == case.id:
            logger.info("message row=%d is on case %s already", message.id, case.reference)
            return case
        raise UnmatchedError(
            N_(
                "Message {message} is attached to case {attached} already, "
                "so it cannot go to case {reference}. Open case {attached} to deal with it."
            ),
            message=message.id,
            attached=message.case.reference if message.case is not None else message.case_id,
            reference=case.reference,
        )
    if message.kind not in ATTACHABLE:
        raise UnmatchedError(
            N_(
                "Message {message} is not unmatched mail, so it cannot be attached to a case. "
                "Only mail that found no case can be attached."
            ),
            message=message.id,
        )

    parsed = stored_mail(session, rawstore, message)
    kind = MessageKind(message.kind) if message.kind != MessageKind.UNMATCHED else None
    _record_attached(session, message, case, parsed, kind or MessageKind.REPLY, actor, now)
    _resolve_unmatched(session, message, now, case=case)
    logger.info("message row=%d attached to case %s by %s", message.id, case.reference, actor)
    return case


def _record_attached(
    session: Session,
    message: MailMessage,
    case: Case,
    parsed: ParsedMail,
    kind: MessageKind,
    actor: str,
    now: datetime,
) -> None:
    """Record the message on ``case`` as intake records a message that threaded by itself."""
    message.case = case
    message.kind = kind
    received = message.processed_at or now
    detail: dict[str, object] = {
        "matched_by": MATCHED_BY_STAFF,
        "subject": message.subject,
        "attached_by": actor,
    }
    proposal = None
    failure = None
    if kind == MessageKind.REPLY:
        proposal = read_reply(parsed, received.astimezone(LOCAL_ZONE).date())
        detail.update(proposal.as_detail())
    if kind == MessageKind.BOUNCE:
        failure = read_bounce(parsed)
        detail.update(failure.as_detail())

    record_event(
        session, case, TIMELINE_EVENT[kind], at=now, message=message, detail=detail, actor=actor
    )
    if failure is not None:
        hold_after_bounce(session, case, message, failure, now)
    if proposal is not None:
        routing = Routing(kind, case=case, matched_by=MATCHED_BY_STAFF)
        review_reply(session, routing, message, proposal, now)


def dismiss_message(
    session: Session, message_id: int, *, actor: str, now: datetime, note: str = ""
) -> None:
    """Set message ``message_id`` aside as not ours: its review item is resolved with ``note``.

    The message and its raw bytes are kept. Setting it aside twice changes nothing.
    """
    message = _inbound_message(session, message_id)
    if message.case_id is not None:
        raise UnmatchedError(
            N_(
                "Message {message} is attached to case {reference}, so it cannot be set aside "
                "as not ours. Open case {reference} to deal with it."
            ),
            message=message.id,
            reference=message.case.reference if message.case is not None else message.case_id,
        )
    if open_unmatched_item(session, message) is None:
        logger.info("message row=%d has no open unmatched review item", message.id)
        return
    recorded = f"not ours ({actor}): {note.strip()}" if note.strip() else f"not ours ({actor})"
    _resolve_unmatched(session, message, now, note=recorded)
    logger.info("message row=%d set aside as not ours by %s", message.id, actor)


def _inbound_message(session: Session, message_id: int) -> MailMessage:
    message = session.scalar(
        select(MailMessage).where(MailMessage.id == message_id).with_for_update()
    )
    if message is None:
        raise UnmatchedError(
            N_("Message {message} was not found. Check the message number."),
            message=message_id,
        )
    if message.direction != Direction.INBOUND or message.status != MessageStatus.PROCESSED:
        raise UnmatchedError(
            N_(
                "Message {message} is not a processed received message, "
                "so it cannot be attached or set aside."
            ),
            message=message.id,
        )
    return message


def _case(session: Session, reference: str) -> Case:
    wanted = reference.strip().upper()
    case = session.scalar(select(Case).where(Case.reference == wanted)) if wanted else None
    if case is None:
        raise UnmatchedError(
            N_("Case {reference} was not found. Give a reference such as 2026-00017."),
            reference=reference.strip() or "—",
        )
    return case


def _resolve_unmatched(
    session: Session,
    message: MailMessage,
    now: datetime,
    *,
    case: Case | None = None,
    note: str | None = None,
) -> None:
    """Resolve the open unmatched review items of ``message``, noting the case or ``note``."""
    items = session.scalars(
        select(ReviewItem).where(
            ReviewItem.mail_message_id == message.id,
            ReviewItem.kind == ReviewKind.UNMATCHED_MAIL,
            ReviewItem.status == ReviewStatus.OPEN,
        )
    )
    for item in items:
        item.status = ReviewStatus.RESOLVED
        item.resolved_at = now
        if case is not None:
            item.case = case
        if note:
            item.detail = f"{item.detail}\n{note}" if item.detail else note
