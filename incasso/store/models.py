"""SQLAlchemy models: creditors, debtors, cases, invoices, documents, mail and the timeline.

Design notes:

- Raw bytes (received mail, attachments, rendered reminders) live in the raw
  store under their SHA-256; ``document`` rows point at them. A document is
  stored once, however often it arrives.
- ``mail_message.dedupe_key`` is the idempotency key of a message: ``in:<sha256>``
  for received mail (the same bytes twice are one message) and
  ``out:<case id>:<step>:<medium>`` for what a ladder step sends (one step of one
  case goes out once by each medium). An outbound row's ``medium`` says whether
  it is an e-mail, an SMS or a letter (PDF).
- A case row carries its next ladder step and when it is due; the scheduler
  reads due work from here, never from a job store. A paused case keeps its
  next step and says why in ``hold_reason`` (until ``hold_until``, if set).
- ``task`` rows are work for staff created by a ladder step (a phone call, a
  solvency check, the final decision), once per case and step.
- ``interest_rate`` is the dated table of legal rates staff keep up to date, and
  ``case_charge`` every amount a step added to a claim (interest, damages, the
  flat compensation), with the rate and period it was computed from.
- Everything a person must decide is an open ``review_item``.
- Status, kind and channel columns hold the values of the StrEnums below.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from incasso.store.types import Money, UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CaseStatus(StrEnum):
    DRAFT = "draft"  # waits for a person: fields missing or doubtful, sender unknown
    ACTIVE = "active"  # the ladder runs
    PAUSED = "paused"  # the ladder waits; hold_reason says why (dispute, promise to pay, ...)
    CLOSED = "closed"  # close_reason says how: paid, closed at no cost, withdrawn
    HANDED_OVER = "handed_over"  # passed to a lawyer or bailiff for legal collection


class Direction(StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


class Channel(StrEnum):
    SMTP = "smtp"  # our SMTP receiver
    DROP = "drop"  # a .eml file from a drop folder or `incasso intake`
    UPLOAD = "upload"  # a document file that arrived without a mail around it
    IMAP = "imap"  # fetched from a mailbox
    OUTBOX = "outbox"  # a message we composed


class MessageStatus(StrEnum):
    RECEIVED = "received"  # stored, not yet processed
    PROCESSING = "processing"  # claimed by an intake worker
    PROCESSED = "processed"
    FAILED = "failed"  # processing raised; the raw message is kept and a review item says why
    PENDING = "pending"  # outbound, waiting for the transport
    SENDING = "sending"  # outbound, handed to the transport
    SENT = "sent"
    UNCERTAIN = "uncertain"  # outbound, interrupted while sending: a person decides
    SEND_FAILED = "send_failed"


class MessageKind(StrEnum):
    SUBMISSION = "submission"
    REPLY = "reply"
    BOUNCE = "bounce"
    AUTO_REPLY = "auto_reply"
    UNMATCHED = "unmatched"
    REMINDER = "reminder"


class ReviewKind(StrEnum):
    DRAFT = "draft"  # a case waits for a person before its ladder starts
    REPLY = "reply"  # a debtor wrote about a case: a person reads it and decides
    UNMATCHED_MAIL = "unmatched_mail"  # neither a known creditor's submission nor an answer
    NO_INVOICE = "no_invoice"  # a creditor's submission that gave no invoice to open a case on
    PROCESSING_FAILED = "processing_failed"  # intake raised; the raw message is kept
    SEND_FAILED = "send_failed"  # a reminder could not be delivered
    SEND_UNCERTAIN = "send_uncertain"  # a send was interrupted; it may or may not have left
    REMINDER_BLOCKED = "reminder_blocked"  # a reminder could not be rendered lawfully
    TOO_LARGE = "too_large"  # a mailbox message above the size limit, left on the server
    RATE_MISSING = "rate_missing"  # interest was computed with last period's rate: add the new one
    MASS_BOUNCE = (
        "mass_bounce"  # many reminders bounced at once: e-mail waits (incasso.cases.brake)
    )


class ReviewStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Creditor(Base):
    __tablename__ = "creditor"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Short upper-case code for the per-creditor intake address intake+CODE@...
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    enterprise_number: Mapped[str] = mapped_column(String(10), unique=True)
    language: Mapped[str] = mapped_column(String(2))
    address: Mapped[str] = mapped_column(Text)
    phone: Mapped[str] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(320))
    # Overrides of the agency's default ladder, see incasso.cases.ladder.
    ladder_policy: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    senders: Mapped[list[CreditorSender]] = relationship(
        back_populates="creditor", cascade="all, delete-orphan", order_by="CreditorSender.id"
    )
    fax_numbers: Mapped[list[CreditorFaxNumber]] = relationship(
        back_populates="creditor", cascade="all, delete-orphan", order_by="CreditorFaxNumber.id"
    )


class CreditorFaxNumber(Base):
    """A fax number a creditor sends from, in E.164 form (``+3292345678``)."""

    __tablename__ = "creditor_fax_number"

    id: Mapped[int] = mapped_column(primary_key=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditor.id"), index=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)

    creditor: Mapped[Creditor] = relationship(back_populates="fax_numbers")


class CreditorSender(Base):
    """An address (``ap@acme.be``) or a whole domain (``@acme.be``) a creditor submits from."""

    __tablename__ = "creditor_sender"

    id: Mapped[int] = mapped_column(primary_key=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditor.id"), index=True)
    pattern: Mapped[str] = mapped_column(String(320), unique=True)

    creditor: Mapped[Creditor] = relationship(back_populates="senders")


class Debtor(Base):
    __tablename__ = "debtor"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    # E.164, "+32470123456"; what the SMS step sends to.
    phone: Mapped[str | None] = mapped_column(String(20))
    enterprise_number: Mapped[str | None] = mapped_column(String(20), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # incasso.cases.law.DebtorKind
    language: Mapped[str] = mapped_column(String(2))
    # True once staff chose the language; intake then keeps it over the invoice's language.
    language_chosen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    address: Mapped[str | None] = mapped_column(Text)
    # Set when mail to ``email`` bounced for good; e-mail steps wait until staff give another.
    email_failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    email_failure: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Blob(Base):
    """Raw bytes kept in the database by the database raw store, named by their SHA-256."""

    __tablename__ = "blob"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Document(Base):
    """Bytes in the raw store, known by their SHA-256."""

    __tablename__ = "document"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(255))
    filename: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CaseCounter(Base):
    """Last case sequence number handed out per year."""

    __tablename__ = "case_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(Integer)


class Case(Base):
    __tablename__ = "collection_case"
    __table_args__ = (
        # The dispatcher's query: due steps of active cases. A composite index, because
        # SQLite ignores a partial index when the status values are bound parameters.
        Index("ix_collection_case_status_due", "status", "next_step_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)  # "2026-00017"
    ogm: Mapped[str] = mapped_column(String(12), unique=True)  # structured communication
    status: Mapped[str] = mapped_column(String(16))
    creditor_id: Mapped[int | None] = mapped_column(ForeignKey("creditor.id"), index=True)
    debtor_id: Mapped[int | None] = mapped_column(ForeignKey("debtor.id"), index=True)
    language: Mapped[str] = mapped_column(String(2))
    currency: Mapped[str] = mapped_column(String(3))
    next_step: Mapped[str | None] = mapped_column(String(32))
    next_step_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The step performed last and when, which the next step's timing counts from.
    last_step: Mapped[str | None] = mapped_column(String(32))
    last_step_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Staff's overrides of the creditor's ladder for this case, see incasso.cases.ladder.
    ladder_policy: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    hold_reason: Mapped[str | None] = mapped_column(String(32))
    hold_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    close_reason: Mapped[str | None] = mapped_column(String(32))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Payments received on the case so far, in the case currency.
    amount_paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    creditor: Mapped[Creditor | None] = relationship()
    debtor: Mapped[Debtor | None] = relationship()
    invoices: Mapped[list[Invoice]] = relationship(
        back_populates="case", order_by="Invoice.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[Event]] = relationship(
        back_populates="case", order_by="(Event.occurred_at, Event.id)"
    )


class Invoice(Base):
    __tablename__ = "invoice"
    __table_args__ = (UniqueConstraint("creditor_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    # Copied from the case so the database can refuse the same invoice number twice.
    creditor_id: Mapped[int | None] = mapped_column(ForeignKey("creditor.id"))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))
    kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[str | None] = mapped_column(String(64))
    issue_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    amount_due: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    case: Mapped[Case] = relationship(back_populates="invoices")
    document: Mapped[Document | None] = relationship()
    fields: Mapped[list[InvoiceField]] = relationship(
        back_populates="invoice", order_by="InvoiceField.id", cascade="all, delete-orphan"
    )


class InvoiceField(Base):
    """One extracted value of an invoice with its source and confidence."""

    __tablename__ = "invoice_field"
    __table_args__ = (UniqueConstraint("invoice_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float)

    invoice: Mapped[Invoice] = relationship(back_populates="fields")


class MailMessage(Base):
    """A message we received or composed; its raw bytes are a document."""

    __tablename__ = "mail_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(100), unique=True)
    direction: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str | None] = mapped_column(String(16))
    raw_document_id: Mapped[int] = mapped_column(ForeignKey("document.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("collection_case.id"), index=True)
    # Header values as received, kept as text: malformed real-world headers must not be lost.
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    references: Mapped[str | None] = mapped_column(Text)
    # The root of Outlook's Thread-Index, in base64 (incasso.cases.thread_index).
    thread_root: Mapped[str | None] = mapped_column(String(44), index=True)
    subject: Mapped[str | None] = mapped_column(Text)
    from_address: Mapped[str | None] = mapped_column(String(320))
    to_addresses: Mapped[str | None] = mapped_column(Text)
    envelope_from: Mapped[str | None] = mapped_column(String(320))
    envelope_to: Mapped[str | None] = mapped_column(Text)
    peer: Mapped[str | None] = mapped_column(String(100))
    helo: Mapped[str | None] = mapped_column(String(255))
    # Whether the sender address is authentic: pass, fail, none or trusted_relay
    # (incasso.intake.trust.Verdict), with the evidence in English.
    sender_check: Mapped[str | None] = mapped_column(String(16))
    sender_check_detail: Mapped[str | None] = mapped_column(Text)
    step: Mapped[str | None] = mapped_column(String(32))  # outbound: the ladder step
    medium: Mapped[str | None] = mapped_column(String(8))  # outbound: email, sms or letter
    # Outbound: what the transport answered, kept as proof of sending (SMTP reply, SMS id).
    proof: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Outbound: no new attempt before this time (back-off after a temporary failure).
    retry_after: Mapped[datetime | None] = mapped_column(UtcDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # When a worker took the message for processing or sending.
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    raw_document: Mapped[Document] = relationship()
    case: Mapped[Case | None] = relationship()


class ImapMessage(Base):
    """One message seen in a mailbox folder, under the key IMAP itself gives it.

    (account, folder, UIDVALIDITY, UID) names one message for as long as the
    server keeps that UIDVALIDITY; after a change the same message comes back
    under a new key, and ``message_id`` and ``sha256`` recognize it.
    """

    __tablename__ = "imap_message"
    __table_args__ = (UniqueConstraint("account", "folder", "uidvalidity", "uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(100))
    folder: Mapped[str] = mapped_column(String(500))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    mail_message_id: Mapped[int | None] = mapped_column(ForeignKey("mail_message.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ImapFolder(Base):
    """What we last knew of a mailbox folder: its UIDVALIDITY."""

    __tablename__ = "imap_folder"
    __table_args__ = (UniqueConstraint("account", "folder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(100))
    folder: Mapped[str] = mapped_column(String(500))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Event(Base):
    """One entry of a case's timeline."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    mail_message_id: Mapped[int | None] = mapped_column(ForeignKey("mail_message.id"))
    actor: Mapped[str] = mapped_column(String(64), default="system")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    case: Mapped[Case] = relationship(back_populates="events")
    mail_message: Mapped[MailMessage | None] = relationship()


class StaffRole(StrEnum):
    STAFF = "staff"  # works the queue and the cases
    ADMIN = "admin"  # also hands cases over for legal collection


class StaffUser(Base):
    """A person who signs in to the web queue; the password is kept as an argon2id hash."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=StaffRole.STAFF)
    # Language of the screens: nl or fr.
    language: Mapped[str] = mapped_column(String(2), default="nl")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    signed_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ReviewItem(Base):
    """Something a person must look at: a draft, an unknown sender, a message that failed."""

    __tablename__ = "review_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=ReviewStatus.OPEN, index=True)
    # Reason codes such as "missing:due_date" or "unknown_sender", translated for display.
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    detail: Mapped[str | None] = mapped_column(Text)
    mail_message_id: Mapped[int | None] = mapped_column(ForeignKey("mail_message.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("collection_case.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The staff member who took the item on, if anyone did.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)

    mail_message: Mapped[MailMessage | None] = relationship()
    case: Mapped[Case | None] = relationship()
    assignee: Mapped[StaffUser | None] = relationship()


class Task(Base):
    """Work for staff that a ladder step created: a phone call, a solvency check, a decision."""

    __tablename__ = "task"
    __table_args__ = (
        UniqueConstraint("case_id", "step"),
        Index("ix_task_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"))
    step: Mapped[str] = mapped_column(String(32))  # incasso.cases.ladder.LadderStep
    kind: Mapped[str] = mapped_column(String(32))  # incasso.cases.ladder.TaskKind
    status: Mapped[str] = mapped_column(String(16))  # incasso.cases.ladder.TaskStatus
    # Not before this time: contact hours for a phone call.
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    completed_by: Mapped[str | None] = mapped_column(String(64))
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    case: Mapped[Case] = relationship()


class InterestRate(Base):
    """A legal interest rate valid from a date: the B2B late-payment rate or the legal rate."""

    __tablename__ = "interest_rate"
    __table_args__ = (UniqueConstraint("kind", "valid_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "b2b" or "legal"
    valid_from: Mapped[date] = mapped_column(Date)
    # Percent per year, e.g. 10.50; a rate is valid until the next one of its kind.
    percent: Mapped[Decimal] = mapped_column(Numeric(6, 3))
    source: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CaseCharge(Base):
    """An amount a ladder step added to a claim, with what it was computed from."""

    __tablename__ = "case_charge"
    __table_args__ = (UniqueConstraint("case_id", "step", "kind", "invoice_id", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    step: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))  # incasso.cases.charges.ChargeKind
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    # The amount the charge was computed on, its rate in percent per year and its period.
    basis: Mapped[Decimal | None] = mapped_column(Money)
    percent: Mapped[Decimal | None] = mapped_column(Numeric(6, 3))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    rate_id: Mapped[int | None] = mapped_column(ForeignKey("interest_rate.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
