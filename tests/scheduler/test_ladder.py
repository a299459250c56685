"""The whole ladder on a controllable clock: a year of a case in seconds, on both databases.

The clock jumps from one due moment to the next; staff complete the tasks the
ladder creates. Every step must come once, in its order, inside the contact
hours, and never inside a legal term it has to wait for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from incasso.app.context import Application
from incasso.cases.ladder import HoldReason, LadderStep, TaskStatus
from incasso.cases.law import Channel, payment_term
from incasso.cases.lifecycle import EventKind
from incasso.cases.tasks import TaskOutcome
from incasso.cases.transitions import finish_task, pause_case
from incasso.scheduler.calendar import is_contact_time
from incasso.store.db import transaction
from incasso.store.models import (
    Case,
    CaseCharge,
    CaseStatus,
    Creditor,
    Event,
    MailMessage,
    ReviewItem,
    Task,
)
from tests.builders import active_case
from tests.conftest import Clock

BRUSSELS = ZoneInfo("Europe/Brussels")
STAFF = "Els (staff)"
PHONE = "+32470123456"
ADDRESS = "Kerkstraat 12, 9000 Gent"
LADDER = [
    LadderStep.FIRST_REMINDER,
    LadderStep.SECOND_REMINDER,
    LadderStep.THIRD_REMINDER,
    LadderStep.SMS,
    LadderStep.PHONE_CALL,
    LadderStep.REGISTERED_LETTER,
    LadderStep.SOLVENCY_CHECK,
    LadderStep.DECISION,
]


@dataclass(frozen=True)
class Performed:
    step: str
    at: datetime


def _case(app: Application, reference: str) -> Case:
    with transaction(app.factory) as session:
        return session.scalars(select(Case).where(Case.reference == reference)).one()


def _performed(app: Application, reference: str) -> list[Performed]:
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        events = session.scalars(
            select(Event)
            .where(Event.case_id == case.id, Event.kind == EventKind.STEP_PERFORMED)
            .order_by(Event.occurred_at, Event.id)
        )
        return [Performed(event.detail["step"], event.occurred_at) for event in events]


def _complete_open_tasks(app: Application, clock: Clock, outcomes: dict[str, TaskOutcome]) -> int:
    with transaction(app.factory) as session:
        tasks = session.scalars(select(Task).where(Task.status == TaskStatus.OPEN)).all()
        for task in tasks:
            finish_task(session, task, outcomes[task.kind], now=clock.now, actor=STAFF)
    return len(tasks)


def run_ladder(app: Application, clock: Clock, reference: str, *, until: timedelta) -> None:
    """Jump the clock from due moment to due moment, as staff complete every task."""
    outcomes = {
        "phone_call": TaskOutcome.NOT_REACHED,
        "solvency_check": TaskOutcome.INSOLVENT,
        "decision": TaskOutcome.HAND_OVER,
    }
    end = clock.now + until
    while clock.now < end:
        app.jobs.run_dispatch()
        app.jobs.run_outbox()
        case = _case(app, reference)
        if case.status not in (CaseStatus.ACTIVE, CaseStatus.PAUSED):
            return
        if case.next_step_due_at is None:
            clock.advance(timedelta(hours=5))  # staff get to it later that day
            _complete_open_tasks(app, clock, outcomes)
            continue
        clock.now = max(case.next_step_due_at, clock.now + timedelta(minutes=1))


def test_a_year_of_a_consumer_case(app: Application, clock: Clock) -> None:
    reference = active_case(app, phone=PHONE, address=ADDRESS, amount=Decimal("480.00"))
    opened = clock.now

    run_ladder(app, clock, reference, until=timedelta(days=365))

    performed = _performed(app, reference)
    assert [entry.step for entry in performed] == LADDER
    assert all(is_contact_time(entry.at) for entry in performed)
    moments = {entry.step: entry.at for entry in performed}

    assert moments[LadderStep.FIRST_REMINDER] - opened <= timedelta(hours=24)
    first_day = moments[LadderStep.FIRST_REMINDER].astimezone(BRUSSELS).date()
    earliest = payment_term(first_day, Channel.EMAIL).earliest_next_step
    second_day = moments[LadderStep.SECOND_REMINDER].astimezone(BRUSSELS).date()
    assert second_day >= earliest
    assert second_day >= first_day + timedelta(days=15)
    third_day = moments[LadderStep.THIRD_REMINDER].astimezone(BRUSSELS).date()
    assert third_day - second_day >= timedelta(days=7)

    letter_day = moments[LadderStep.REGISTERED_LETTER].astimezone(BRUSSELS).date()
    solvency_day = moments[LadderStep.SOLVENCY_CHECK].astimezone(BRUSSELS).date()
    assert solvency_day >= payment_term(letter_day, Channel.POST).earliest_next_step

    case = _case(app, reference)
    assert case.status == CaseStatus.HANDED_OVER
    assert case.next_step is None


def test_each_step_goes_out_once_by_its_medium(app: Application, clock: Clock) -> None:
    reference = active_case(app, phone=PHONE, address=ADDRESS)

    run_ladder(app, clock, reference, until=timedelta(days=365))
    app.jobs.run_dispatch()  # nothing is left to do, however often it runs

    with transaction(app.factory) as session:
        rows = session.execute(
            select(MailMessage.step, MailMessage.medium, func.count())
            .where(MailMessage.direction == "out")
            .group_by(MailMessage.step, MailMessage.medium)
        ).all()
        tasks = session.scalars(select(Task.step).order_by(Task.id)).all()
    assert sorted((step, medium, count) for step, medium, count in rows) == sorted(
        [
            ("first_reminder", "email", 1),
            ("second_reminder", "email", 1),
            ("third_reminder", "email", 1),
            ("sms", "sms", 1),
            ("registered_letter", "letter", 1),
        ]
    )
    assert tasks == ["phone_call", "solvency_check", "decision"]


def test_consumer_damages_only_after_the_first_term(app: Application, clock: Clock) -> None:
    reference = active_case(app, phone=PHONE, address=ADDRESS, amount=Decimal("300.00"))

    run_ladder(app, clock, reference, until=timedelta(days=30))

    with transaction(app.factory) as session:
        charges = session.execute(
            select(CaseCharge.step, CaseCharge.kind, CaseCharge.amount).order_by(CaseCharge.id)
        ).all()
    steps = {step for step, _kind, _amount in charges}
    assert LadderStep.FIRST_REMINDER not in steps
    assert (LadderStep.SECOND_REMINDER, "damages", Decimal("45.00")) in charges


def test_business_debt_carries_interest_and_compensation(app: Application, clock: Clock) -> None:
    reference = active_case(
        app, kind="enterprise", enterprise_number="0417497106", amount=Decimal("1000.00")
    )

    run_ladder(app, clock, reference, until=timedelta(days=20))

    with transaction(app.factory) as session:
        charges = session.scalars(
            select(CaseCharge).where(CaseCharge.step == LadderStep.SECOND_REMINDER)
        ).all()
    kinds = sorted(charge.kind for charge in charges)
    assert "fixed_compensation" in kinds
    interest = [charge for charge in charges if charge.kind == "interest"]
    assert interest
    assert all(charge.percent is not None and charge.period_start for charge in interest)
    assert interest[0].period_start == date(2026, 10, 2)  # the day after the due date


def test_nothing_goes_out_at_night_or_on_sunday(app: Application, clock: Clock) -> None:
    # Saturday 28 November 2026, 23:30 in Brussels.
    clock.now = datetime(2026, 11, 28, 22, 30, tzinfo=ZoneInfo("UTC"))
    reference = active_case(app)

    assert app.jobs.run_dispatch() == 0
    clock.now = datetime(2026, 11, 29, 11, 0, tzinfo=ZoneInfo("UTC"))  # Sunday noon
    assert app.jobs.run_dispatch() == 0
    assert _performed(app, reference) == []

    clock.now = datetime(2026, 11, 30, 7, 0, tzinfo=ZoneInfo("UTC"))  # Monday 08:00
    assert app.jobs.run_dispatch() == 1
    assert [entry.step for entry in _performed(app, reference)] == ["first_reminder"]


def test_downtime_performs_one_step_at_a_time(app: Application, clock: Clock) -> None:
    reference = active_case(app)
    app.jobs.run_dispatch()
    clock.advance(timedelta(days=92))  # down for three months, back on a Tuesday

    app.jobs.run_dispatch()
    app.jobs.run_dispatch()

    performed = _performed(app, reference)
    assert [entry.step for entry in performed] == ["first_reminder", "second_reminder"]
    case = _case(app, reference)
    assert case.next_step == LadderStep.THIRD_REMINDER
    assert case.next_step_due_at is not None
    assert case.next_step_due_at - clock.now >= timedelta(days=6)


def test_paused_case_waits_and_a_broken_promise_resumes(app: Application, clock: Clock) -> None:
    reference = active_case(app)
    app.jobs.run_dispatch()
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        until = clock.now + timedelta(days=20)
        pause_case(
            session, case, HoldReason.PROMISE_TO_PAY, now=clock.now, actor=STAFF, until=until
        )

    clock.advance(timedelta(days=17))  # the second reminder would be due by now
    app.jobs.run_dispatch()
    assert [entry.step for entry in _performed(app, reference)] == ["first_reminder"]

    clock.advance(timedelta(days=4))
    app.jobs.run_dispatch()
    case = _case(app, reference)
    assert case.status == CaseStatus.ACTIVE
    assert [entry.step for entry in _performed(app, reference)][-1] == "second_reminder"


def test_payment_claim_resumes_after_its_week(app: Application, clock: Clock) -> None:
    reference = active_case(app)
    app.jobs.run_dispatch()
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        until = clock.now + timedelta(days=7)
        pause_case(
            session, case, HoldReason.PAYMENT_CLAIMED, now=clock.now, actor=STAFF, until=until
        )

    clock.advance(timedelta(days=6))
    app.jobs.run_dispatch()
    assert _case(app, reference).status == CaseStatus.PAUSED

    clock.advance(timedelta(days=2))
    app.jobs.run_dispatch()
    assert _case(app, reference).status == CaseStatus.ACTIVE


def test_sms_is_skipped_without_a_phone_number(app: Application, clock: Clock) -> None:
    reference = active_case(app, address=ADDRESS)

    run_ladder(app, clock, reference, until=timedelta(days=40))

    with transaction(app.factory) as session:
        skipped = session.scalars(select(Event).where(Event.kind == EventKind.STEP_SKIPPED)).all()
    assert [(event.detail["step"], event.detail["reason"]) for event in skipped] == [
        ("sms", "no_phone")
    ]
    assert LadderStep.PHONE_CALL in [entry.step for entry in _performed(app, reference)]


def test_letter_without_an_address_goes_to_review(app: Application, clock: Clock) -> None:
    reference = active_case(app, phone=PHONE)

    run_ladder(app, clock, reference, until=timedelta(days=60))

    case = _case(app, reference)
    assert case.next_step == LadderStep.REGISTERED_LETTER
    assert case.next_step_due_at is None
    with transaction(app.factory) as session:
        item = session.scalars(select(ReviewItem).where(ReviewItem.case_id == case.id)).one()
    assert item.kind == "reminder_blocked"


def test_creditor_policy_disables_a_step(app: Application, clock: Clock) -> None:
    reference = active_case(app, phone=PHONE, address=ADDRESS)
    with transaction(app.factory) as session:
        creditor = session.scalars(select(Creditor)).one()
        creditor.ladder_policy = {
            "steps": {"sms": {"enabled": False}, "third_reminder": {"delay_days": 10}}
        }

    run_ladder(app, clock, reference, until=timedelta(days=60))

    performed = _performed(app, reference)
    steps = [entry.step for entry in performed]
    assert "sms" not in steps
    moments = {entry.step: entry.at for entry in performed}
    gap = (
        moments["third_reminder"].astimezone(BRUSSELS).date()
        - moments["second_reminder"].astimezone(BRUSSELS).date()
    )
    assert gap >= timedelta(days=10)
