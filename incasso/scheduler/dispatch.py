"""Dispatching due ladder steps: find active cases whose next step is due and perform it.

The case row is the source of truth for time: ``next_step`` and
``next_step_due_at``. Each due case is advanced in its own transaction. It
locks the row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers
share the work, while SQLite serializes writers anyway), queues the message
in the outbox under its idempotency key and moves the case to its next step.
A dispatcher that runs twice, or two dispatchers at once, queue one message.

After downtime the same query finds everything that fell due meanwhile; each
case has one next step, so a debtor never receives two steps at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from incasso.cases.ladder import LadderStep
from incasso.cases.law import Channel, payment_term
from incasso.cases.lifecycle import EventKind, record_event
from incasso.outbound.reminders import ReminderConfig, queue_first_reminder
from incasso.outbound.render import MissingMentionError
from incasso.store.db import transaction
from incasso.store.models import Case, CaseStatus, ReviewItem, ReviewKind
from incasso.store.rawstore import RawStore

logger = logging.getLogger(__name__)

BRUSSELS = ZoneInfo("Europe/Brussels")
# Cases advanced per run of the dispatch job.
BATCH_SIZE = 100
# Local time at which a step that falls due on a given day becomes due.
STEP_TIME = time(9, 0)

# NOTE: only the first reminder is dispatched yet. A case then waits at its second
# step, with the lawful earliest date already set, until the ladder grows.
DISPATCHED_STEPS = (LadderStep.FIRST_REMINDER,)


@dataclass(frozen=True)
class DispatchContext:
    factory: sessionmaker[Session]
    rawstore: RawStore
    reminders: ReminderConfig
    clock: Callable[[], datetime]


def dispatch_due(context: DispatchContext, limit: int = BATCH_SIZE) -> int:
    """Perform up to ``limit`` due steps; return how many cases advanced."""
    now = context.clock()
    advanced = 0
    for case_id in _due_case_ids(context, now, limit):
        if _advance(context, case_id, now):
            advanced += 1
    return advanced


def _due_case_ids(context: DispatchContext, now: datetime, limit: int) -> list[int]:
    with transaction(context.factory) as session:
        return list(
            session.scalars(
                select(Case.id)
                .where(
                    Case.status == CaseStatus.ACTIVE,
                    Case.next_step_due_at <= now,
                    Case.next_step.in_(DISPATCHED_STEPS),
                )
                .order_by(Case.next_step_due_at, Case.id)
                .limit(limit)
            )
        )


def _advance(context: DispatchContext, case_id: int, now: datetime) -> bool:
    try:
        return _advance_locked(context, case_id, now)
    except IntegrityError:
        # Another worker queued this step between our check and our insert; its
        # transaction advanced the case, so there is nothing left to do here.
        logger.info("case id=%d step already queued by another worker", case_id)
        return False


def _advance_locked(context: DispatchContext, case_id: int, now: datetime) -> bool:
    sent_on = now.astimezone(BRUSSELS).date()
    with transaction(context.factory) as session:
        case = session.scalar(
            select(Case)
            .where(
                Case.id == case_id,
                Case.status == CaseStatus.ACTIVE,
                Case.next_step_due_at <= now,
            )
            .with_for_update(skip_locked=True)
        )
        if case is None:
            return False  # another worker has it, or it changed since the query

        try:
            queue_first_reminder(
                session, context.rawstore, case, context.reminders, now=now, sent_on=sent_on
            )
        except MissingMentionError as err:
            _block(session, case, str(err), now)
            return False

        term = payment_term(sent_on, Channel.EMAIL)
        case.last_step = LadderStep.FIRST_REMINDER
        case.last_step_at = now
        case.next_step = LadderStep.SECOND_REMINDER
        case.next_step_due_at = datetime.combine(
            term.earliest_next_step, STEP_TIME, tzinfo=BRUSSELS
        )
        logger.info(
            "case %s first reminder queued; next step due %s",
            case.reference,
            case.next_step_due_at,
        )
    return True


def _block(session: Session, case: Case, error: str, now: datetime) -> None:
    """Stop retrying a step that cannot be sent lawfully and ask staff to fix the case."""
    case.next_step_due_at = None
    record_event(session, case, EventKind.REMINDER_BLOCKED, at=now, detail={"error": error})
    session.add(
        ReviewItem(
            kind=ReviewKind.REMINDER_BLOCKED,
            reasons=["reminder_blocked"],
            detail=error,
            case=case,
        )
    )
    logger.error("case %s reminder blocked: %s", case.reference, error)
