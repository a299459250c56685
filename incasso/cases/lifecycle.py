"""The case lifecycle: opening a case, activating it, and writing its timeline.

A case is opened as a draft (a person must look at it first) or activated at
once when every field it needs was extracted with enough confidence.
Activating sets the first ladder step and when it is due; the scheduler
picks it up from the case row. Every change of state is an event.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from incasso.cases.ladder import LadderStep
from incasso.cases.references import allocate_case_number
from incasso.store.models import Case, CaseStatus, Creditor, Debtor, Event, MailMessage

logger = logging.getLogger(__name__)


class EventKind(StrEnum):
    """Kinds of timeline entries."""

    SUBMISSION_RECEIVED = "submission_received"
    DUPLICATE_SUBMISSION = "duplicate_submission"
    CASE_OPENED = "case_opened"
    CASE_ACTIVATED = "case_activated"
    REMINDER_QUEUED = "reminder_queued"
    REMINDER_SENT = "reminder_sent"
    REMINDER_FAILED = "reminder_failed"
    REMINDER_BLOCKED = "reminder_blocked"
    REPLY_RECEIVED = "reply_received"
    BOUNCE_RECEIVED = "bounce_received"
    AUTO_REPLY_RECEIVED = "auto_reply_received"
    # The ladder (see incasso.cases.ladder and incasso.scheduler.ladder).
    STEP_PERFORMED = "step_performed"
    STEP_SKIPPED = "step_skipped"
    STEP_POSTPONED = "step_postponed"
    STEP_CHANGED = "step_changed"
    POLICY_CHANGED = "policy_changed"
    TASK_CREATED = "task_created"
    TASK_COMPLETED = "task_completed"
    TASK_CANCELLED = "task_cancelled"
    CASE_PAUSED = "case_paused"
    CASE_RESUMED = "case_resumed"
    PAYMENT_RECORDED = "payment_recorded"
    CASE_CLOSED = "case_closed"
    CASE_HANDED_OVER = "case_handed_over"
    # Staff corrected the debtor's details (see incasso.cases.debtors).
    DEBTOR_CHANGED = "debtor_changed"
    # The debtor's e-mail address failed for good: written steps go by post.
    CHANNEL_CHANGED = "channel_changed"
    # A note staff wrote on the case (see incasso.cases.transitions.add_note).
    NOTE_ADDED = "note_added"
    # Staff reviewing a draft (see incasso.cases.drafts).
    FIELD_CORRECTED = "field_corrected"
    DRAFT_APPROVED = "draft_approved"
    DRAFT_REJECTED = "draft_rejected"
    DRAFT_MERGED = "draft_merged"  # on the draft: its invoices went to another case
    INVOICES_MERGED = "invoices_merged"  # on the case that received a draft's invoices
    REVIEW_RESOLVED = "review_resolved"  # staff marked a review item as handled


def open_case(
    session: Session,
    *,
    creditor: Creditor | None,
    debtor: Debtor | None,
    language: str,
    currency: str,
    now: datetime,
) -> Case:
    """Create a draft case with a fresh reference and payment reference."""
    number = allocate_case_number(session, now.year)
    case = Case(
        reference=number.reference,
        ogm=number.ogm,
        status=CaseStatus.DRAFT,
        creditor=creditor,
        debtor=debtor,
        language=language,
        currency=currency,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    logger.info("case %s opened as draft", case.reference)
    return case


def activate_case(
    session: Session, case: Case, *, now: datetime, first_reminder_delay: timedelta
) -> None:
    """Make ``case`` active and schedule its first reminder ``first_reminder_delay`` from now."""
    if case.status != CaseStatus.DRAFT:
        raise ValueError(f"case {case.reference} is {case.status}; only a draft can be activated")

    case.status = CaseStatus.ACTIVE
    case.activated_at = now
    case.next_step = LadderStep.FIRST_REMINDER
    case.next_step_due_at = now + first_reminder_delay
    record_event(
        session,
        case,
        EventKind.CASE_ACTIVATED,
        at=now,
        detail={"next_step": case.next_step, "due_at": case.next_step_due_at.isoformat()},
    )
    logger.info("case %s active, first reminder due at %s", case.reference, case.next_step_due_at)


def record_event(
    session: Session,
    case: Case,
    kind: EventKind,
    *,
    at: datetime,
    message: MailMessage | None = None,
    detail: dict[str, Any] | None = None,
    actor: str = "system",
) -> Event:
    """Add one entry to the timeline of ``case``."""
    event = Event(
        case=case,
        kind=kind,
        occurred_at=at,
        mail_message=message,
        actor=actor,
        detail=detail or {},
    )
    session.add(event)
    return event
