"""Work for staff that a ladder step creates, and what completing it does to the case.

A task step creates one ``task`` row per case and step (the unique key makes a
repeated run harmless). Staff complete it with an outcome:

- phone call: ``reached``, ``not_reached``, ``promise_to_pay`` (pauses the case
  until the promised date), ``disputed`` (pauses it until staff resume);
  the ladder does not wait for a phone call.
- solvency check: ``solvent`` or ``insolvent``; the ladder waits for it, and
  its completion makes the decision step due.
- decision: ``close_no_cost`` or ``hand_over`` (to a lawyer or bailiff), which
  end the ladder.

Completing a waiting task makes its follow-up due "now"; the scheduler
performs it when the contact hours allow.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from incasso.cases.ladder import LadderStep, TaskKind, TaskStatus
from incasso.cases.lifecycle import EventKind, record_event
from incasso.i18n import N_, LocalizedError, Term
from incasso.store.models import Case, Task

logger = logging.getLogger(__name__)


class TaskOutcome(StrEnum):
    REACHED = "reached"
    NOT_REACHED = "not_reached"
    PROMISE_TO_PAY = "promise_to_pay"
    DISPUTED = "disputed"
    SOLVENT = "solvent"
    INSOLVENT = "insolvent"
    CLOSE_NO_COST = "close_no_cost"
    HAND_OVER = "hand_over"


OUTCOMES = {
    TaskKind.PHONE_CALL: (
        TaskOutcome.REACHED,
        TaskOutcome.NOT_REACHED,
        TaskOutcome.PROMISE_TO_PAY,
        TaskOutcome.DISPUTED,
    ),
    TaskKind.SOLVENCY_CHECK: (TaskOutcome.SOLVENT, TaskOutcome.INSOLVENT),
    TaskKind.DECISION: (TaskOutcome.CLOSE_NO_COST, TaskOutcome.HAND_OVER),
}

TASK_OF_STEP = {
    LadderStep.PHONE_CALL: TaskKind.PHONE_CALL,
    LadderStep.SOLVENCY_CHECK: TaskKind.SOLVENCY_CHECK,
    LadderStep.DECISION: TaskKind.DECISION,
}


# The task statuses as words of the catalogs, for messages that name a status.
TASK_STATUS_WORDS = {
    TaskStatus.OPEN: N_("open"),
    TaskStatus.DONE: N_("done"),
    TaskStatus.CANCELLED: N_("cancelled"),
}


class TaskError(LocalizedError):
    """A task that cannot be completed this way; the message names the value and the fix."""


def open_task(
    session: Session, case: Case, step: LadderStep, *, due_at: datetime, now: datetime
) -> Task | None:
    """Create the task of ``step`` for ``case``; None when it exists already."""
    existing = session.scalar(select(Task).where(Task.case_id == case.id, Task.step == step))
    if existing is not None:
        return None

    task = Task(
        case=case,
        step=step.value,
        kind=TASK_OF_STEP[step].value,
        status=TaskStatus.OPEN,
        due_at=due_at,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(task)
    except IntegrityError:
        logger.info("case %s task %s created by another worker", case.reference, step)
        return None
    detail = {"task": task.id, "kind": task.kind, "due_at": due_at.isoformat()}
    record_event(session, case, EventKind.TASK_CREATED, at=now, detail=detail)
    return task


def complete_task(
    session: Session,
    task: Task,
    outcome: TaskOutcome,
    *,
    now: datetime,
    actor: str,
    note: str | None = None,
) -> None:
    """Record ``outcome`` on an open ``task``; the caller applies what it means for the case."""
    if task.status != TaskStatus.OPEN:
        raise TaskError(
            N_("Task {task} is {status}; only an open task can be completed."),
            task=task.id,
            status=Term(TASK_STATUS_WORDS[TaskStatus(task.status)]),
        )
    allowed = OUTCOMES[TaskKind(task.kind)]
    if outcome not in allowed:
        choices = ", ".join(choice.value for choice in allowed)
        raise TaskError(
            N_("Outcome {outcome} does not fit a {kind} task; use one of {choices}."),
            outcome=outcome.value,
            kind=task.kind,
            choices=choices,
        )

    task.status = TaskStatus.DONE
    task.outcome = outcome.value
    task.note = note
    task.completed_by = actor
    task.completed_at = now
    detail = {"task": task.id, "kind": task.kind, "outcome": outcome.value, "note": note}
    record_event(session, task.case, EventKind.TASK_COMPLETED, at=now, actor=actor, detail=detail)


def cancel_open_tasks(session: Session, case: Case, *, now: datetime, actor: str, why: str) -> int:
    """Cancel the open tasks of ``case`` (it was paid or closed); return how many."""
    tasks = session.scalars(
        select(Task).where(Task.case_id == case.id, Task.status == TaskStatus.OPEN)
    ).all()
    for task in tasks:
        task.status = TaskStatus.CANCELLED
        task.completed_by = actor
        task.completed_at = now
        detail = {"task": task.id, "kind": task.kind, "why": why}
        record_event(session, case, EventKind.TASK_CANCELLED, at=now, actor=actor, detail=detail)
    return len(tasks)
