"""Dispatching the ladder: find active cases whose next step is due and perform it.

The case row is the source of truth for time: ``next_step`` and
``next_step_due_at``. Each due case is advanced in its own transaction: it
locks the row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers
share the work, while SQLite serializes writers anyway), performs the step and
sets the next one. Performing a step means queuing its message in the outbox
under the key (case, step, medium), or opening its staff task under the key
(case, step), so a dispatcher that runs twice, or two at once, does it once.

Timing, per step (see incasso.cases.ladder for the policy):

- nothing happens outside the contact hours (incasso.scheduler.calendar): a
  due step found at night or on a Sunday is moved to the next allowed moment;
- the next step is due its delay in days after this one, at 09:00 Brussels
  time, and never before the legal term of a term-binding notice has run out;
- a waiting task (solvency check, decision) holds the ladder until staff
  complete it (incasso.cases.transitions.finish_task makes the next step due).

After downtime the same query finds everything that fell due meanwhile. Each
case has one next step and the step after it is timed from the moment this
one was performed, so a debtor never receives two steps at once.

A written step goes by letter instead of e-mail while the debtor's e-mail
address is marked as bounced and a postal address is known.

Before the due steps, paused cases whose hold has an end that has passed (a
promised payment date, the week to check a payment the debtor reports) are
resumed: the case is still open, so nothing was paid.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload, sessionmaker

from incasso.cases.charges import ChargeLine, OpenInvoice, compute_charges
from incasso.cases.debtors import step_by_available_medium
from incasso.cases.ladder import (
    TERM_BINDING_STEPS,
    TIMED_HOLDS,
    LadderPolicy,
    LadderStep,
    Medium,
    StepRule,
    policy_for,
)
from incasso.cases.law import Channel, DebtorKind, payment_term
from incasso.cases.lifecycle import EventKind, record_event
from incasso.cases.rates import RateKind, RateMissingError, rate_periods
from incasso.cases.tasks import open_task
from incasso.cases.transitions import resume_case
from incasso.outbound.reminders import ReminderConfig
from incasso.outbound.render import MissingMentionError
from incasso.outbound.steps import queue_step
from incasso.scheduler.calendar import is_contact_time, next_contact_time
from incasso.store.db import transaction
from incasso.store.models import (
    Case,
    CaseCharge,
    CaseStatus,
    Direction,
    MailMessage,
    ReviewItem,
    ReviewKind,
)
from incasso.store.rawstore import RawStore

logger = logging.getLogger(__name__)

BRUSSELS = ZoneInfo("Europe/Brussels")
# Cases advanced per run of the dispatch job.
BATCH_SIZE = 100
# Local time at which a step that falls due on a given day becomes due.
STEP_TIME = time(9, 0)
SYSTEM = "system"


@dataclass(frozen=True)
class DispatchContext:
    factory: sessionmaker[Session]
    rawstore: RawStore
    reminders: ReminderConfig
    clock: Callable[[], datetime]


@dataclass(frozen=True)
class _Outcome:
    """What performing a step came to: done, skipped (with a reason) or blocked (with an error)."""

    performed: bool = False
    skipped: str | None = None
    blocked: str | None = None


def dispatch_due(context: DispatchContext, limit: int = BATCH_SIZE) -> int:
    """Resume broken promises, then perform up to ``limit`` due steps; return the cases moved."""
    now = context.clock()
    moved = resume_broken_promises(context, now, limit)
    for case_id in _due_case_ids(context, now, limit):
        if _advance(context, case_id, now):
            moved += 1
    return moved


def resume_broken_promises(context: DispatchContext, now: datetime, limit: int) -> int:
    """Resume paused cases whose timed hold has ended; return how many."""
    with transaction(context.factory) as session:
        cases = session.scalars(
            select(Case)
            .where(
                Case.status == CaseStatus.PAUSED,
                Case.hold_reason.in_(TIMED_HOLDS),
                Case.hold_until <= now,
            )
            .order_by(Case.hold_until, Case.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for case in cases:
            resume_case(session, case, now=now, actor=SYSTEM, why="hold ended, still unpaid")
    return len(cases)


def _due_case_ids(context: DispatchContext, now: datetime, limit: int) -> list[int]:
    with transaction(context.factory) as session:
        return list(
            session.scalars(
                select(Case.id)
                .where(Case.status == CaseStatus.ACTIVE, Case.next_step_due_at <= now)
                .order_by(Case.next_step_due_at, Case.id)
                .limit(limit)
            )
        )


def _advance(context: DispatchContext, case_id: int, now: datetime) -> bool:
    try:
        return _advance_locked(context, case_id, now)
    except IntegrityError:
        # Another worker performed this step between our check and our insert; its
        # transaction advanced the case, so there is nothing left to do here.
        logger.info("case id=%d step already performed by another worker", case_id)
        return False


def _advance_locked(context: DispatchContext, case_id: int, now: datetime) -> bool:
    with transaction(context.factory) as session:
        case = session.scalar(
            select(Case)
            .where(
                Case.id == case_id,
                Case.status == CaseStatus.ACTIVE,
                Case.next_step_due_at <= now,
            )
            # The step needs the creditor, the debtor and the invoices: load them with the
            # case rather than one query each. Only the case row is locked.
            .options(
                joinedload(Case.creditor), joinedload(Case.debtor), selectinload(Case.invoices)
            )
            .with_for_update(skip_locked=True, of=Case)
        )
        if case is None or case.next_step is None:
            return False  # another worker has it, or it changed since the query

        if not is_contact_time(now):
            case.next_step_due_at = next_contact_time(now)
            logger.info("case %s step %s waits for contact hours", case.reference, case.next_step)
            return False

        policy = _policy(case)
        rule = policy.rule(LadderStep(case.next_step))
        if not rule.enabled:
            return _skip_disabled(session, case, policy, rule, now)

        rule = step_by_available_medium(case.debtor, rule)
        outcome = _perform(context, session, case, policy, rule, now)
        if outcome.blocked is not None:
            _block(session, case, rule.step, outcome.blocked, now)
            return False
        _schedule_next(session, case, policy, rule, outcome, now)
    return True


def _policy(case: Case) -> LadderPolicy:
    creditor_overrides = case.creditor.ladder_policy if case.creditor else None
    return policy_for(creditor_overrides, case.ladder_policy)


def _perform(
    context: DispatchContext,
    session: Session,
    case: Case,
    policy: LadderPolicy,
    rule: StepRule,
    now: datetime,
) -> _Outcome:
    if rule.medium == Medium.TASK:
        open_task(session, case, rule.step, due_at=next_contact_time(now), now=now)
        return _Outcome(performed=True)

    debtor = case.debtor
    if rule.medium == Medium.SMS and (debtor is None or not debtor.phone):
        return _Outcome(skipped="no_phone")

    sent_on = _local_day(now)
    try:
        charges = _charges(session, case, policy, sent_on)
        queue_step(
            session,
            context.rawstore,
            case,
            rule.step,
            rule.medium,
            context.reminders,
            now=now,
            sent_on=sent_on,
            charges=charges,
        )
    except (MissingMentionError, RateMissingError) as err:
        return _Outcome(blocked=str(err))
    _store_charges(session, case, rule.step, charges, now)
    return _Outcome(performed=True)


def _charges(session: Session, case: Case, policy: LadderPolicy, sent_on: date) -> list[ChargeLine]:
    """The breakdown of charges on the case as of ``sent_on``, for the notice and the store."""
    debtor = case.debtor
    if debtor is None:
        return []
    return compute_charges(
        debtor.kind,
        _open_invoices(case),
        sent_on,
        rates=partial(rate_periods, session, RateKind.B2B),
        costs_from=_costs_from(session, case) if debtor.kind == DebtorKind.CONSUMER else None,
        claim_damages=policy.claim_consumer_damages,
        consumer_interest=policy.consumer_interest,
    )


def _open_invoices(case: Case) -> list[OpenInvoice]:
    """Invoices with what is still open on each: payments settle the oldest due first."""
    invoices = sorted(
        (
            OpenInvoice(invoice.number or str(invoice.id), invoice.due_date, invoice.amount_due)
            for invoice in case.invoices
            if invoice.due_date is not None and invoice.amount_due is not None
        ),
        key=lambda invoice: invoice.due_date,
    )
    unsettled = case.amount_paid
    result = []
    for invoice in invoices:
        settled = min(unsettled, invoice.open_amount)
        unsettled -= settled
        result.append(replace(invoice, open_amount=invoice.open_amount - settled))
    return result


def _costs_from(session: Session, case: Case) -> date | None:
    """First day a consumer may be charged: after the first reminder's term, once it was sent."""
    sent_at = session.scalar(
        select(MailMessage.sent_at).where(
            MailMessage.case_id == case.id,
            MailMessage.direction == Direction.OUTBOUND,
            MailMessage.step == LadderStep.FIRST_REMINDER,
        )
    )
    if sent_at is None:
        return None
    return payment_term(_local_day(sent_at), Channel.EMAIL).earliest_next_step


def _store_charges(
    session: Session, case: Case, step: LadderStep, charges: list[ChargeLine], now: datetime
) -> None:
    invoice_ids = {invoice.number: invoice.id for invoice in case.invoices}
    for line in charges:
        session.add(
            CaseCharge(
                case_id=case.id,
                step=step.value,
                kind=line.kind.value,
                invoice_id=invoice_ids.get(line.invoice_number),
                amount=line.amount,
                basis=line.basis,
                percent=line.percent,
                period_start=line.period_start,
                period_end=line.period_end,
                rate_id=line.rate_id,
                created_at=now,
            )
        )


def _schedule_next(
    session: Session,
    case: Case,
    policy: LadderPolicy,
    rule: StepRule,
    outcome: _Outcome,
    now: datetime,
) -> None:
    if outcome.performed:
        case.last_step = rule.step.value
        case.last_step_at = now

    following = policy.step_after(rule.step)
    case.next_step = following.step.value if following else None
    if following is None or rule.waits:
        case.next_step_due_at = None
    else:
        case.next_step_due_at = _due_after(rule, following, now)

    kind = EventKind.STEP_PERFORMED if outcome.performed else EventKind.STEP_SKIPPED
    detail = {
        "step": rule.step.value,
        "medium": rule.medium.value,
        "reason": outcome.skipped,
        "next_step": case.next_step,
        "due_at": case.next_step_due_at.isoformat() if case.next_step_due_at else None,
    }
    record_event(session, case, kind, at=now, detail=detail)
    logger.info(
        "case %s %s %s; next %s due %s",
        case.reference,
        rule.step,
        "performed" if outcome.performed else f"skipped ({outcome.skipped})",
        case.next_step,
        case.next_step_due_at,
    )


def _due_after(rule: StepRule, following: StepRule, now: datetime) -> datetime:
    """When ``following`` is due after ``rule`` was performed at ``now``."""
    today = _local_day(now)
    floor = None
    if rule.step in TERM_BINDING_STEPS:
        channel = Channel.POST if rule.medium == Medium.LETTER else Channel.EMAIL
        floor = payment_term(today, channel).earliest_next_step

    if following.delay_days == 0 and floor is None:
        return next_contact_time(now)
    day = max(today + timedelta(days=following.delay_days), floor or today)
    return next_contact_time(datetime.combine(day, STEP_TIME, tzinfo=BRUSSELS))


def _skip_disabled(
    session: Session, case: Case, policy: LadderPolicy, rule: StepRule, now: datetime
) -> bool:
    """A step disabled after it was scheduled: go on with the next enabled one, due now."""
    following = policy.step_after(rule.step)
    case.next_step = following.step.value if following else None
    case.next_step_due_at = now if following else None
    detail = {"step": rule.step.value, "reason": "disabled", "next_step": case.next_step}
    record_event(session, case, EventKind.STEP_SKIPPED, at=now, detail=detail)
    return True


def _block(session: Session, case: Case, step: LadderStep, error: str, now: datetime) -> None:
    """Stop retrying a step that cannot be performed lawfully and ask staff to fix the case."""
    case.next_step_due_at = None
    detail = {"step": step.value, "error": error}
    record_event(session, case, EventKind.REMINDER_BLOCKED, at=now, detail=detail)
    session.add(
        ReviewItem(
            kind=ReviewKind.REMINDER_BLOCKED,
            reasons=["reminder_blocked"],
            detail=error,
            case=case,
        )
    )
    logger.error("case %s step %s blocked: %s", case.reference, step, error)


def _local_day(moment: datetime) -> date:
    return moment.astimezone(BRUSSELS).date()
