"""Deciding what a received message is: a bounce, an automatic reply, an answer on a case,
or a creditor's submission.

Order matters. Bounces and automatic replies are recognized first, because
real ones arrive with ``Re:`` subjects and a valid In-Reply-To; they may be
attached to a case but are never treated as an answer. Then the message is
threaded, strongest signal first:

1. a per-case reply address (``dossier+2026-00017@<our domain>``) among the
   envelope recipients, To, Cc or Delivered-To;
2. In-Reply-To, then References, against every Message-ID stored on a case,
   sent or received;
3. the root of Outlook's Thread-Index against the roots stored on a case
   (Outlook often answers without References; see incasso.cases.thread_index).

A message that does not thread this way is a submission when its sender is a
registered creditor: by the per-creditor intake address ``intake+CODE@``, the
exact sender address, the sender's domain, or, for a fax, the sending fax
number the gateway reports. Otherwise the weaker signals of
incasso.intake.weak_match are tried: a case or payment reference in the
subject or body, then the sender as the debtor of exactly one open case.
Similar subjects alone never match anything.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from incasso.cases.addresses import Addresses
from incasso.cases.thread_index import thread_root
from incasso.intake.gather import html_text
from incasso.intake.mime import ParsedMail
from incasso.intake.weak_match import find_by_text_or_sender
from incasso.store.models import (
    Case,
    Creditor,
    CreditorFaxNumber,
    CreditorSender,
    MailMessage,
    MessageKind,
)

logger = logging.getLogger(__name__)

AUTO_REPLY_PRECEDENCE = {"auto_reply", "bulk", "junk"}
BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|post_?master|mail-daemon)@", re.IGNORECASE)
# Reply and forward prefixes before a machine's subject: "Re:", "RE :", "AW:", "Antw:", "TR :".
SUBJECT_PREFIX = re.compile(r"^\s*((re|aw|antw|tr|fw|fwd|wg|doorst)\s*:\s*)+", re.IGNORECASE)
BOUNCE_SUBJECTS = re.compile(
    r"^(undeliverable|undelivered mail|delivery (status notification|failure|has failed|"
    r"notification)|mail delivery failed|returned mail|failure notice|failed mail|"
    r"mail could not be delivered|message not delivered|non remis|non distribuable|"
    r"niet (bezorgd|afgeleverd)|onbestelbaar|unzustellbar|nicht zustellbar)",
    re.IGNORECASE,
)
AUTO_REPLY_SUBJECTS = re.compile(
    r"^(automatic reply|auto[- ]?reply|autoresponse|auto[- ]?respons|out of (the )?office|"
    r"away until|automatisch antwoord|afwezig|niet aanwezig|r[ée]ponse automatique|"
    r"absence|absent|automatische antwort|abwesenheit)",
    re.IGNORECASE,
)
# Sentences only a machine writes, looked for at the start of the body.
BOUNCE_BODIES = re.compile(
    r"(your message (could not|couldn't|was not|has not) be(en)? delivered|"
    r"votre message n'a pas (pu )?([êe]tre|[ée]t[ée]) (d[ée]livr[ée]|remis|distribu[ée])|"
    r"uw bericht (kon|is) niet (worden )?(afgeleverd|bezorgd)|"
    r"ihre nachricht (konnte|wurde) nicht zugestellt)",
    re.IGNORECASE,
)
AUTO_REPLY_BODIES = re.compile(
    r"(this is an automatic(ally generated)? (reply|message)|"
    r"dit is een automatisch (antwoord|bericht)|"
    r"ceci est une r[ée]ponse automatique|ceci est un message automatique|"
    r"dies ist eine automatische (antwort|nachricht))",
    re.IGNORECASE,
)
# How much of the body is searched for those sentences.
AUTOMATIC_BODY_CHARS = 500


class CreditorSignal(StrEnum):
    """How a creditor was recognized, strongest first."""

    INTAKE_ADDRESS = "intake address"
    SENDER_ADDRESS = "sender address"
    SENDER_DOMAIN = "sender domain"
    # A fax gateway reports the calling number, which the caller can set at will.
    FAX_NUMBER = "fax number"


@dataclass(frozen=True)
class CreditorMatch:
    creditor: Creditor
    signal: CreditorSignal


@dataclass(frozen=True)
class Routing:
    """Where a message belongs."""

    kind: MessageKind
    case: Case | None = None
    creditor: CreditorMatch | None = None
    matched_by: str | None = None
    # Matched by a reference in its text, but sent by someone other than the debtor.
    foreign_sender: bool = False


def route(
    session: Session,
    parsed: ParsedMail,
    message: MailMessage,
    addresses: Addresses,
    fax_number: str | None = None,
) -> Routing:
    """Classify ``parsed`` and find its case or creditor."""
    automatic = classify_automatic(parsed, message.envelope_from)
    recipients = _recipients(parsed, message)
    case, matched_by = find_thread(session, parsed, recipients, addresses, message.id)

    if automatic is not None:
        if case is None:
            weak = find_by_text_or_sender(session, parsed, _body(parsed))
            if weak is not None:
                return Routing(automatic, case=weak.case, matched_by=weak.signal)
        return Routing(automatic, case=case, matched_by=matched_by)
    if case is not None:
        return Routing(MessageKind.REPLY, case=case, matched_by=matched_by)

    creditor = find_creditor(session, parsed, recipients, addresses, fax_number)
    if creditor is not None:
        return Routing(MessageKind.SUBMISSION, creditor=creditor)

    weak = find_by_text_or_sender(session, parsed, _body(parsed))
    if weak is not None:
        return Routing(
            MessageKind.REPLY,
            case=weak.case,
            matched_by=weak.signal,
            foreign_sender=weak.foreign_sender,
        )
    return Routing(MessageKind.UNMATCHED)


def _body(parsed: ParsedMail) -> str:
    return parsed.text or html_text(parsed.html or "")


def classify_automatic(parsed: ParsedMail, envelope_from: str | None) -> MessageKind | None:
    """Return BOUNCE or AUTO_REPLY for machine-written mail, None for mail from a person."""
    report_type = (parsed.header("content-type") or "").lower()
    if parsed.content_type == "multipart/report":
        # A delivery report is a bounce; a read receipt or an abuse report is automatic too.
        return MessageKind.BOUNCE if "delivery-status" in report_type else MessageKind.AUTO_REPLY
    subject = SUBJECT_PREFIX.sub("", parsed.subject or "")
    if envelope_from == "" or BOUNCE_SENDERS.match(parsed.from_address or ""):
        return MessageKind.BOUNCE
    opening = (parsed.text or "")[:AUTOMATIC_BODY_CHARS]
    if BOUNCE_SUBJECTS.match(subject) or BOUNCE_BODIES.search(opening):
        return MessageKind.BOUNCE

    auto_submitted = (parsed.header("auto-submitted") or "no").strip().lower()
    if not auto_submitted.startswith("no"):
        return MessageKind.AUTO_REPLY
    automatic_headers = ("x-autoreply", "x-autorespond", "x-auto-response-suppress")
    if any(parsed.header(name) for name in automatic_headers):
        return MessageKind.AUTO_REPLY
    precedence = (parsed.header("precedence") or "").strip().lower()
    if precedence in AUTO_REPLY_PRECEDENCE:
        return MessageKind.AUTO_REPLY
    if AUTO_REPLY_SUBJECTS.match(subject):
        return MessageKind.AUTO_REPLY
    if AUTO_REPLY_BODIES.search(opening):
        return MessageKind.AUTO_REPLY
    return None


def find_thread(
    session: Session,
    parsed: ParsedMail,
    recipients: list[str],
    addresses: Addresses,
    own_row_id: int | None = None,
) -> tuple[Case | None, str | None]:
    """Return the case ``parsed`` answers and the signal that matched, or (None, None)."""
    for address in recipients:
        bounce = addresses.parse_bounce_address(address)
        reference = addresses.tagged_part(address, addresses.reply_local_part)
        if bounce is None and reference is None:
            continue
        found = bounce[0] if bounce is not None else str(reference)
        case = session.scalar(select(Case).where(Case.reference == found.upper()))
        if case is not None:
            return case, "bounce address" if bounce is not None else "reply address"

    for header, ids in (("in-reply-to", parsed.in_reply_to), ("references", parsed.references)):
        case = _case_by_message_ids(session, ids, own_row_id)
        if case is not None:
            return case, header

    case = _case_by_thread_root(session, thread_root(parsed.header("thread-index")), own_row_id)
    if case is not None:
        return case, "thread-index"
    return None, None


def _case_by_message_ids(session: Session, ids: list[str], own_row_id: int | None) -> Case | None:
    if not ids:
        return None
    query = (
        select(Case)
        .join(MailMessage, MailMessage.case_id == Case.id)
        .where(MailMessage.message_id.in_(ids))
        .order_by(MailMessage.id.desc())
        .limit(1)
    )
    if own_row_id is not None:
        query = query.where(MailMessage.id != own_row_id)
    return session.scalar(query)


def _case_by_thread_root(session: Session, root: str | None, own_row_id: int | None) -> Case | None:
    """The case of the latest message in the same Outlook conversation as ``root``."""
    if root is None:
        return None
    query = (
        select(Case)
        .join(MailMessage, MailMessage.case_id == Case.id)
        .where(MailMessage.thread_root == root)
        .order_by(MailMessage.id.desc())
        .limit(1)
    )
    if own_row_id is not None:
        query = query.where(MailMessage.id != own_row_id)
    return session.scalar(query)


def find_creditor(
    session: Session,
    parsed: ParsedMail,
    recipients: list[str],
    addresses: Addresses,
    fax_number: str | None = None,
) -> CreditorMatch | None:
    """Return the registered creditor who sent ``parsed`` and how it was recognized, or None."""
    for address in recipients:
        code = addresses.tagged_part(address, addresses.intake_local_part)
        if code is None:
            continue
        creditor = session.scalar(select(Creditor).where(Creditor.code == code.upper()))
        if creditor is not None:
            return CreditorMatch(creditor, CreditorSignal.INTAKE_ADDRESS)

    sender = (parsed.from_address or "").lower()
    if "@" in sender:
        domain = "@" + sender.rpartition("@")[2]
        signals = ((sender, CreditorSignal.SENDER_ADDRESS), (domain, CreditorSignal.SENDER_DOMAIN))
        for pattern, signal in signals:
            match = session.scalar(select(CreditorSender).where(CreditorSender.pattern == pattern))
            if match is not None:
                return CreditorMatch(match.creditor, signal)

    if fax_number:
        fax = session.scalar(
            select(CreditorFaxNumber).where(CreditorFaxNumber.number == fax_number)
        )
        if fax is not None:
            return CreditorMatch(fax.creditor, CreditorSignal.FAX_NUMBER)
    return None


def _recipients(parsed: ParsedMail, message: MailMessage) -> list[str]:
    envelope = [part.strip() for part in (message.envelope_to or "").split(",") if part.strip()]
    return envelope + parsed.to + parsed.cc + parsed.delivered_to
