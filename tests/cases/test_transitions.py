"""Staff and events steering a running case: pause, resume, payments, tasks, closing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from incasso.app.context import Application
from incasso.cases.ladder import CloseReason, HoldReason, LadderStep, PolicyError, TaskStatus
from incasso.cases.lifecycle import EventKind
from incasso.cases.tasks import TaskError, TaskOutcome, open_task
from incasso.cases.transitions import (
    TransitionError,
    change_next_step,
    close_case,
    finish_task,
    pause_case,
    record_payment,
    resume_case,
    set_case_policy,
)
from incasso.store.db import transaction
from incasso.store.models import Case, CaseCharge, CaseStatus, Event, Task
from tests.builders import active_case
from tests.conftest import Clock

STAFF = "Els (staff)"


def _case(session: Session, reference: str) -> Case:
    case = session.scalar(select(Case).where(Case.reference == reference))
    assert case is not None, reference
    return case


def _events(app: Application, reference: str) -> list[str]:
    with transaction(app.factory) as session:
        case = _case(session, reference)
        return [event.kind for event in case.events]


def test_promise_to_pay_pauses_until_the_date(app: Application, clock: Clock) -> None:
    reference = active_case(app)
    until = clock.now + timedelta(days=10)

    with transaction(app.factory) as session:
        case = _case(session, reference)
        pause_case(
            session, case, HoldReason.PROMISE_TO_PAY, now=clock.now, actor=STAFF, until=until
        )

    with transaction(app.factory) as session:
        case = _case(session, reference)
        assert case.status == CaseStatus.PAUSED
        assert case.hold_reason == HoldReason.PROMISE_TO_PAY
        assert case.hold_until == until
        assert case.next_step == LadderStep.FIRST_REMINDER  # kept for the resume
        event = case.events[-1]
        assert (event.kind, event.actor) == (EventKind.CASE_PAUSED, STAFF)


def test_promise_to_pay_needs_a_future_date(app: Application, clock: Clock) -> None:
    reference = active_case(app)

    with transaction(app.factory) as session:
        case = _case(session, reference)
        with pytest.raises(TransitionError, match="needs the promised date"):
            pause_case(session, case, HoldReason.PROMISE_TO_PAY, now=clock.now, actor=STAFF)
        with pytest.raises(TransitionError, match="has passed"):
            pause_case(
                session, case, HoldReason.DISPUTED, now=clock.now, actor=STAFF, until=clock.now
            )


def test_resume_makes_an_overdue_step_due_now(app: Application, clock: Clock) -> None:
    reference = active_case(app)
    with transaction(app.factory) as session:
        pause_case(
            session, _case(session, reference), HoldReason.DISPUTED, now=clock.now, actor=STAFF
        )
    clock.advance(timedelta(days=3))

    with transaction(app.factory) as session:
        resume_case(session, _case(session, reference), now=clock.now, actor=STAFF, why="rejected")

    with transaction(app.factory) as session:
        case = _case(session, reference)
        assert case.status == CaseStatus.ACTIVE
        assert case.hold_reason is None
        assert case.next_step_due_at == clock.now
    assert _events(app, reference)[-1] == EventKind.CASE_RESUMED


def test_resume_needs_a_paused_case(app: Application, clock: Clock) -> None:
    reference = active_case(app)

    with transaction(app.factory) as session, pytest.raises(TransitionError, match="not paused"):
        resume_case(session, _case(session, reference), now=clock.now, actor=STAFF, why="-")


def test_partial_payment_keeps_the_ladder(app: Application, clock: Clock) -> None:
    reference = active_case(app, amount=Decimal("250.00"))

    with transaction(app.factory) as session:
        closed = record_payment(
            session, _case(session, reference), Decimal("100.00"), now=clock.now, actor=STAFF
        )

    assert not closed
    with transaction(app.factory) as session:
        case = _case(session, reference)
        assert case.status == CaseStatus.ACTIVE
        assert case.amount_paid == Decimal("100.00")
        assert case.events[-1].detail["outstanding"] == "150.00"


def test_full_payment_closes_and_cancels_tasks(app: Application, clock: Clock) -> None:
    reference = active_case(app, amount=Decimal("250.00"))
    with transaction(app.factory) as session:
        case = _case(session, reference)
        open_task(session, case, LadderStep.PHONE_CALL, due_at=clock.now, now=clock.now)

    with transaction(app.factory) as session:
        closed = record_payment(
            session, _case(session, reference), Decimal("250.00"), now=clock.now, actor=STAFF
        )

    assert closed
    with transaction(app.factory) as session:
        case = _case(session, reference)
        assert (case.status, case.close_reason) == (CaseStatus.CLOSED, CloseReason.PAID)
        assert case.next_step is None
        task = session.scalar(select(Task).where(Task.case_id == case.id))
        assert task is not None and task.status == TaskStatus.CANCELLED
    assert _events(app, reference)[-2:] == [EventKind.TASK_CANCELLED, EventKind.CASE_CLOSED]


def test_payment_must_cover_the_charges_too(app: Application, clock: Clock) -> None:
    reference = active_case(app, amount=Decimal("250.00"))
    with transaction(app.factory) as session:
        case = _case(session, reference)
        session.add(
            CaseCharge(
                case_id=case.id, step="second_reminder", kind="damages", amount=Decimal("40.00")
            )
        )

    with transaction(app.factory) as session:
        case = _case(session, reference)
        assert not record_payment(session, case, Decimal("250.00"), now=clock.now, actor=STAFF)
        assert record_payment(session, case, Decimal("40.00"), now=clock.now, actor=STAFF)


def test_payment_must_be_positive(app: Application, clock: Clock) -> None:
    reference = active_case(app)

    with transaction(app.factory) as session, pytest.raises(TransitionError, match="not positive"):
        record_payment(session, _case(session, reference), Decimal("0"), now=clock.now, actor=STAFF)


def test_closed_case_cannot_be_closed_again(app: Application, clock: Clock) -> None:
    reference = active_case(app)
    with transaction(app.factory) as session:
        close_case(
            session, _case(session, reference), CloseReason.WITHDRAWN, now=clock.now, actor=STAFF
        )

    with transaction(app.factory) as session:
        case = _case(session, reference)
        with pytest.raises(TransitionError, match="already"):
            close_case(session, case, CloseReason.NO_COST, now=clock.now, actor=STAFF)
        with pytest.raises(TransitionError, match="only an active or paused case"):
            pause_case(session, case, HoldReason.STAFF, now=clock.now, actor=STAFF)


def test_staff_move_a_case_to_another_step(app: Application, clock: Clock) -> None:
    reference = active_case(app)
    later = clock.now + timedelta(days=2)

    with transaction(app.factory) as session:
        case = _case(session, reference)
        change_next_step(
            session, case, LadderStep.THIRD_REMINDER, now=clock.now, actor=STAFF, due_at=later
        )

    with transaction(app.factory) as session:
        case = _case(session, reference)
        assert (case.next_step, case.next_step_due_at) == (LadderStep.THIRD_REMINDER, later)
        assert case.events[-1].detail["from"] == LadderStep.FIRST_REMINDER


def test_step_disabled_in_policy_cannot_be_chosen(app: Application, clock: Clock) -> None:
    reference = active_case(app)
    with transaction(app.factory) as session:
        case = _case(session, reference)
        set_case_policy(
            session, case, {"steps": {"sms": {"enabled": False}}}, now=clock.now, actor=STAFF
        )

    with transaction(app.factory) as session, pytest.raises(TransitionError, match="disabled"):
        change_next_step(
            session, _case(session, reference), LadderStep.SMS, now=clock.now, actor=STAFF
        )


def test_step_time_in_the_past_is_refused(app: Application, clock: Clock) -> None:
    reference = active_case(app)
    earlier = clock.now - timedelta(days=30)

    with transaction(app.factory) as session, pytest.raises(TransitionError, match="has passed"):
        change_next_step(
            session, _case(session, reference), LadderStep.SMS, now=clock.now, actor=STAFF,
            due_at=earlier,
        )  # fmt: skip


def test_case_policy_merges_changes(app: Application, clock: Clock) -> None:
    reference = active_case(app)

    with transaction(app.factory) as session:
        case = _case(session, reference)
        set_case_policy(
            session, case, {"steps": {"sms": {"enabled": False}}}, now=clock.now, actor=STAFF
        )
        set_case_policy(
            session, case, {"steps": {"sms": {"delay_days": 5}}}, now=clock.now, actor=STAFF
        )
        with pytest.raises(PolicyError, match="unknown"):
            set_case_policy(
                session, case, {"steps": {"fax": {"enabled": True}}}, now=clock.now, actor=STAFF
            )

    with transaction(app.factory) as session:
        case = _case(session, reference)
        assert case.ladder_policy == {"steps": {"sms": {"enabled": False, "delay_days": 5}}}
        kinds = [event.kind for event in case.events]
        assert kinds.count(EventKind.POLICY_CHANGED) == 2


def test_phone_task_outcomes(app: Application, clock: Clock) -> None:
    reference = active_case(app)
    until = clock.now + timedelta(days=7)
    with transaction(app.factory) as session:
        task = open_task(
            session,
            _case(session, reference),
            LadderStep.PHONE_CALL,
            due_at=clock.now,
            now=clock.now,
        )
        assert task is not None
        task_id = task.id

    with transaction(app.factory) as session:
        task = session.get(Task, task_id)
        assert task is not None
        with pytest.raises(TaskError, match="does not fit a phone_call task"):
            finish_task(session, task, TaskOutcome.HAND_OVER, now=clock.now, actor=STAFF)
        finish_task(
            session, task, TaskOutcome.PROMISE_TO_PAY, now=clock.now, actor=STAFF, until=until
        )

    with transaction(app.factory) as session:
        case = _case(session, reference)
        assert (case.status, case.hold_reason) == (CaseStatus.PAUSED, HoldReason.PROMISE_TO_PAY)
        task = session.get(Task, task_id)
        assert task is not None
        assert (task.status, task.outcome, task.completed_by) == ("done", "promise_to_pay", STAFF)
        with pytest.raises(TaskError, match="only an open task"):
            finish_task(session, task, TaskOutcome.REACHED, now=clock.now, actor=STAFF)


def test_task_is_opened_once_per_step(app: Application, clock: Clock) -> None:
    reference = active_case(app)

    with transaction(app.factory) as session:
        case = _case(session, reference)
        first = open_task(session, case, LadderStep.SOLVENCY_CHECK, due_at=clock.now, now=clock.now)
        second = open_task(
            session, case, LadderStep.SOLVENCY_CHECK, due_at=clock.now, now=clock.now
        )

    assert first is not None and second is None
    with transaction(app.factory) as session:
        count = len(
            session.scalars(select(Event).where(Event.kind == EventKind.TASK_CREATED)).all()
        )
    assert count == 1


def test_solvency_check_done_makes_the_decision_due(app: Application, clock: Clock) -> None:
    reference = active_case(app)
    with transaction(app.factory) as session:
        case = _case(session, reference)
        case.next_step = LadderStep.DECISION
        case.next_step_due_at = None  # the ladder waits for the solvency check
        task = open_task(session, case, LadderStep.SOLVENCY_CHECK, due_at=clock.now, now=clock.now)
        assert task is not None
        task_id = task.id
    clock.advance(timedelta(hours=3))

    with transaction(app.factory) as session:
        task = session.get(Task, task_id)
        assert task is not None
        finish_task(session, task, TaskOutcome.INSOLVENT, now=clock.now, actor=STAFF)

    with transaction(app.factory) as session:
        case = _case(session, reference)
        assert (case.next_step, case.next_step_due_at) == (LadderStep.DECISION, clock.now)


def test_decision_hands_the_case_over(app: Application, clock: Clock) -> None:
    reference = active_case(app)
    with transaction(app.factory) as session:
        task = open_task(
            session, _case(session, reference), LadderStep.DECISION, due_at=clock.now, now=clock.now
        )
        assert task is not None
        finish_task(session, task, TaskOutcome.HAND_OVER, now=clock.now, actor=STAFF)

    with transaction(app.factory) as session:
        case = _case(session, reference)
        assert case.status == CaseStatus.HANDED_OVER
        assert case.close_reason == CloseReason.HANDED_OVER
    assert _events(app, reference)[-1] == EventKind.CASE_HANDED_OVER
