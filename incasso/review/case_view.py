"""What the case page shows, read in a handful of queries.

``load_case_view`` reads one case with its parties, invoices, charges, tasks,
open review items and timeline. It also works out the ladder: the steps
performed so far (from the ``step_performed`` events), and the steps still to
come with their planned timing under the case's policy. The result is plain
data, so the page renders after the database session has closed.

Each query is bounded by the case: events and messages are found through the
indexes on ``event.case_id`` and ``mail_message.id``, never by reading a table.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from incasso.cases.debtors import step_by_available_medium
from incasso.cases.ladder import (
    TERM_BINDING_STEPS,
    LadderPolicy,
    LadderStep,
    Medium,
    PolicyError,
    StepRule,
    TaskKind,
    TaskStatus,
    policy_for,
)
from incasso.cases.law import Channel, format_enterprise_number, format_ogm, payment_term
from incasso.cases.lifecycle import EventKind
from incasso.cases.tasks import OUTCOMES
from incasso.cases.transitions import RUNNING, claimed_total
from incasso.i18n import LOCAL_ZONE
from incasso.scheduler.calendar import next_contact_time
from incasso.store.models import (
    Case,
    CaseCharge,
    CaseStatus,
    Event,
    Invoice,
    ReviewItem,
    ReviewStatus,
    Task,
)

logger = logging.getLogger(__name__)

BELGIAN_ENTERPRISE_NUMBER = re.compile(r"[01]\d{9}")


@dataclass(frozen=True)
class CreditorView:
    code: str
    name: str
    enterprise_number: str


@dataclass(frozen=True)
class DebtorView:
    name: str
    email: str | None
    # When mail to ``email`` failed for good, and the server's words.
    email_failed_at: datetime | None
    email_failure: str | None
    phone: str | None
    address: str | None
    kind: str
    language: str
    enterprise_number: str | None


@dataclass(frozen=True)
class InvoiceView:
    number: str | None
    issue_date: date | None
    due_date: date | None
    amount_due: Decimal | None
    currency: str | None
    description: str | None


@dataclass(frozen=True)
class ChargeView:
    """One computed charge line; ``counted`` when it belongs to what is claimed now."""

    step: str
    kind: str
    amount: Decimal
    basis: Decimal | None
    percent: Decimal | None
    period_start: date | None
    period_end: date | None
    counted: bool


@dataclass(frozen=True)
class Amounts:
    invoiced: Decimal
    charges: Decimal
    claimed: Decimal
    paid: Decimal
    open: Decimal


@dataclass(frozen=True)
class PastStep:
    step: str
    medium: str | None
    at: datetime


@dataclass(frozen=True)
class ComingStep:
    """A step still to come.

    The next step has ``due_at`` (None while nothing is scheduled). A later
    step has ``earliest``, the first day it can come when every step before it
    goes as planned, or None when that depends on staff finishing the task
    ``waits_for``, or on a step whose day is not known yet.
    """

    step: str
    medium: str
    delay_days: int
    after: str | None
    due_at: datetime | None = None
    earliest: date | None = None
    waits_for: str | None = None


@dataclass(frozen=True)
class TaskView:
    id: int
    step: str
    kind: str
    due_at: datetime
    outcomes: tuple[str, ...]


@dataclass(frozen=True)
class MessageView:
    id: int
    direction: str
    kind: str | None
    channel: str
    subject: str | None
    from_address: str | None
    to_addresses: str | None
    status: str


@dataclass(frozen=True)
class TimelineEntry:
    id: int
    at: datetime
    kind: str
    actor: str
    detail: dict[str, Any]
    message: MessageView | None


@dataclass(frozen=True)
class ReviewView:
    id: int
    kind: str
    reasons: tuple[str, ...]
    detail: str | None
    created_at: datetime


@dataclass(frozen=True)
class CaseView:
    """Everything the case page shows about one case."""

    reference: str
    status: str
    payment_reference: str
    language: str
    currency: str
    created_at: datetime
    hold_reason: str | None
    hold_until: datetime | None
    # The last day of a hold that ends at midnight ("until and including 20/12"), if it does.
    hold_last_day: date | None
    close_reason: str | None
    closed_at: datetime | None
    next_step: str | None
    next_step_due_at: datetime | None
    creditor: CreditorView | None
    debtor: DebtorView | None
    invoices: list[InvoiceView]
    charges: list[ChargeView]
    amounts: Amounts
    past_steps: list[PastStep]
    coming_steps: list[ComingStep]
    # The step whose task the ladder waits for, when nothing is scheduled because of it.
    waiting_for_task: str | None
    # Steps staff may move the case to: the enabled steps of its policy.
    enabled_steps: list[str]
    open_tasks: list[TaskView]
    open_reviews: list[ReviewView]
    # Newest first.
    timeline: list[TimelineEntry]

    @property
    def running(self) -> bool:
        return self.status in RUNNING

    @property
    def ended(self) -> bool:
        return self.status in (CaseStatus.CLOSED, CaseStatus.HANDED_OVER)


def load_case_view(session: Session, reference: str) -> CaseView | None:
    """Read the case ``reference`` for its page; None when no case has that reference."""
    case = session.scalar(
        select(Case)
        .options(joinedload(Case.creditor), joinedload(Case.debtor), selectinload(Case.invoices))
        .where(Case.reference == reference.strip())
    )
    if case is None:
        return None

    charges = _charges(session, case)
    events = _events(session, case)
    policy = _policy(case)
    claimed = claimed_total(session, case)
    return CaseView(
        reference=case.reference,
        status=case.status,
        payment_reference=_payment_reference(case.ogm),
        language=case.language,
        currency=case.currency,
        created_at=case.created_at,
        hold_reason=case.hold_reason,
        hold_until=case.hold_until,
        hold_last_day=_last_day(case.hold_until),
        close_reason=case.close_reason,
        closed_at=case.closed_at,
        next_step=case.next_step,
        next_step_due_at=case.next_step_due_at,
        creditor=_creditor(case),
        debtor=_debtor(case),
        invoices=[_invoice(invoice) for invoice in case.invoices],
        charges=charges,
        amounts=_amounts(case, claimed),
        past_steps=_past_steps(events),
        coming_steps=coming_steps(case, policy),
        waiting_for_task=_waiting_for_task(case, policy),
        enabled_steps=[rule.step.value for rule in policy.rules if rule.enabled] if policy else [],
        open_tasks=_open_tasks(session, case),
        open_reviews=_open_reviews(session, case),
        timeline=[_timeline_entry(event) for event in events],
    )


def coming_steps(case: Case, policy: LadderPolicy | None) -> list[ComingStep]:
    """List the steps still to come for ``case``, the next one first, with their planned timing."""
    if policy is None or case.status not in (CaseStatus.DRAFT, *RUNNING):
        return []
    first = case.next_step
    if first is None and case.status == CaseStatus.DRAFT:
        first = policy.first_step().step.value
    rule = _rule(policy, first)
    if rule is None:
        return []

    # Shown as the scheduler carries them out: by letter after a bounce, in the contact hours.
    rule = step_by_available_medium(case.debtor, rule)
    due_at = next_contact_time(case.next_step_due_at) if case.next_step_due_at else None
    steps = [ComingStep(rule.step.value, rule.medium.value, rule.delay_days, None, due_at=due_at)]
    day = _local_day(case.next_step_due_at) if case.next_step_due_at else None
    previous = rule
    while (next_rule := policy.step_after(previous.step)) is not None:
        following = step_by_available_medium(case.debtor, next_rule)
        if previous.waits:
            day = None
            waits_for = previous.step.value
        else:
            day = _earliest_day(previous, following, day)
            waits_for = None
        steps.append(
            ComingStep(
                following.step.value,
                following.medium.value,
                following.delay_days,
                previous.step.value,
                earliest=day,
                waits_for=waits_for,
            )
        )
        previous = following
    return steps


def _earliest_day(previous: StepRule, following: StepRule, day: date | None) -> date | None:
    """Return the first day ``following`` can come when ``previous`` happens on ``day``."""
    if day is None:
        return None
    earliest = day + timedelta(days=following.delay_days)
    if previous.step in TERM_BINDING_STEPS:
        channel = Channel.POST if previous.medium == Medium.LETTER else Channel.EMAIL
        earliest = max(earliest, payment_term(day, channel).earliest_next_step)
    return earliest


def _waiting_for_task(case: Case, policy: LadderPolicy | None) -> str | None:
    """Return the step whose open task stops the ladder, when the next step has no time yet."""
    if policy is None or case.status not in RUNNING or case.next_step_due_at is not None:
        return None
    rule = _rule(policy, case.last_step)
    return rule.step.value if rule is not None and rule.waits else None


def _policy(case: Case) -> LadderPolicy | None:
    try:
        return policy_for(
            case.creditor.ladder_policy if case.creditor else None, case.ladder_policy
        )
    except PolicyError as err:
        logger.error("case %s has a ladder policy that cannot be read: %s", case.reference, err)
        return None


def _rule(policy: LadderPolicy, step: str | None) -> StepRule | None:
    if step is None or step not in set(LadderStep):
        return None
    return policy.rule(LadderStep(step))


def _payment_reference(ogm: str) -> str:
    try:
        return format_ogm(ogm)
    except ValueError:
        return ogm


def _creditor(case: Case) -> CreditorView | None:
    creditor = case.creditor
    if creditor is None:
        return None
    return CreditorView(creditor.code, creditor.name, creditor.enterprise_number)


def _debtor(case: Case) -> DebtorView | None:
    debtor = case.debtor
    if debtor is None:
        return None
    return DebtorView(
        name=debtor.name,
        email=debtor.email,
        email_failed_at=debtor.email_failed_at,
        email_failure=debtor.email_failure,
        phone=debtor.phone,
        address=debtor.address,
        kind=debtor.kind,
        language=debtor.language,
        enterprise_number=_enterprise_number(debtor.enterprise_number),
    )


def _enterprise_number(value: str | None) -> str | None:
    """A Belgian enterprise number as people write it (0643.120.886); others as stored."""
    if value is None or not BELGIAN_ENTERPRISE_NUMBER.fullmatch(value):
        return value
    return format_enterprise_number(value)


def _last_day(until: datetime | None) -> date | None:
    """The day before ``until`` when ``until`` is a Brussels midnight, else None."""
    if until is None:
        return None
    local = until.astimezone(LOCAL_ZONE)
    if (local.hour, local.minute, local.second) != (0, 0, 0):
        return None
    return local.date() - timedelta(days=1)


def _invoice(invoice: Invoice) -> InvoiceView:
    return InvoiceView(
        number=invoice.number,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        amount_due=invoice.amount_due,
        currency=invoice.currency,
        description=invoice.description,
    )


def _charges(session: Session, case: Case) -> list[ChargeView]:
    """Read every charge line of the case. The lines of the last charged step are claimed."""
    rows = list(
        session.scalars(
            select(CaseCharge).where(CaseCharge.case_id == case.id).order_by(CaseCharge.id)
        )
    )
    claimed_step = rows[-1].step if rows else None
    return [
        ChargeView(
            step=row.step,
            kind=row.kind,
            amount=row.amount,
            basis=row.basis,
            percent=row.percent,
            period_start=row.period_start,
            period_end=row.period_end,
            counted=row.step == claimed_step,
        )
        for row in rows
    ]


def _amounts(case: Case, claimed: Decimal) -> Amounts:
    invoiced = sum((i.amount_due or Decimal(0) for i in case.invoices), Decimal("0.00"))
    paid = case.amount_paid or Decimal("0.00")
    return Amounts(
        invoiced=invoiced,
        charges=claimed - invoiced,
        claimed=claimed,
        paid=paid,
        open=max(claimed - paid, Decimal("0.00")),
    )


def _events(session: Session, case: Case) -> list[Event]:
    """Read the case's timeline, newest first, with each event's mail message in the same query."""
    return list(
        session.scalars(
            select(Event)
            .options(joinedload(Event.mail_message))
            .where(Event.case_id == case.id)
            .order_by(Event.occurred_at.desc(), Event.id.desc())
        )
    )


def _past_steps(events: list[Event]) -> list[PastStep]:
    """List the ladder steps performed on the case, oldest first."""
    performed = [event for event in events if event.kind == EventKind.STEP_PERFORMED]
    return [
        PastStep(
            step=str(event.detail.get("step") or "?"),
            medium=event.detail.get("medium"),
            at=event.occurred_at,
        )
        for event in reversed(performed)
    ]


def _open_tasks(session: Session, case: Case) -> list[TaskView]:
    tasks = session.scalars(
        select(Task)
        .where(Task.case_id == case.id, Task.status == TaskStatus.OPEN)
        .order_by(Task.due_at, Task.id)
    )
    return [
        TaskView(
            id=task.id,
            step=task.step,
            kind=task.kind,
            due_at=task.due_at,
            outcomes=tuple(outcome.value for outcome in OUTCOMES.get(TaskKind(task.kind), ())),
        )
        for task in tasks
    ]


def _open_reviews(session: Session, case: Case) -> list[ReviewView]:
    items = session.scalars(
        select(ReviewItem)
        .where(ReviewItem.case_id == case.id, ReviewItem.status == ReviewStatus.OPEN)
        .order_by(ReviewItem.id)
    )
    return [
        ReviewView(item.id, item.kind, tuple(item.reasons), item.detail, item.created_at)
        for item in items
    ]


def _timeline_entry(event: Event) -> TimelineEntry:
    message = event.mail_message
    return TimelineEntry(
        id=event.id,
        at=event.occurred_at,
        kind=event.kind,
        actor=event.actor,
        detail=dict(event.detail or {}),
        message=(
            MessageView(
                id=message.id,
                direction=message.direction,
                kind=message.kind,
                channel=message.channel,
                subject=message.subject,
                from_address=message.from_address,
                to_addresses=message.to_addresses,
                status=message.status,
            )
            if message is not None
            else None
        ),
    )


def _local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL_ZONE).date()
