"""What staff and events do to a running case: pause, resume, payments, closing, steering.

Each function changes the case row inside the caller's transaction and writes
one timeline event naming who did it (``actor``: "system", or the staff
member's name) and why. None of them sends anything or decides when a step
happens in the clock: a step made due "now" is performed by the scheduler at
the next moment the contact hours allow.

- A pause keeps the case's next step. A promise to pay carries the promised
  date in ``hold_until``; the scheduler resumes the case when that date has
  passed and the case is still unpaid. Other holds wait for staff.
- A payment lowers what is open. When it covers the principal and the charges
  claimed so far, the case closes as paid and its open tasks are cancelled.
- Closing (at no cost, withdrawn) and handing over end the ladder for good.
- When the debtor's e-mail address fails for good and a postal address is
  known, the ladder goes on by letter; the notice that bounced is posted again.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from incasso.cases.ladder import (
    NOTICE_STEPS,
    POLICY_FORM,
    TIMED_HOLDS,
    CloseReason,
    HoldReason,
    LadderStep,
    PolicyError,
    policy_for,
)
from incasso.cases.lifecycle import EventKind, record_event
from incasso.cases.tasks import TaskOutcome, cancel_open_tasks, complete_task
from incasso.i18n import N_, LocalizedError, Term, format_local_time
from incasso.store.models import Case, CaseCharge, CaseStatus, Task

logger = logging.getLogger(__name__)

RUNNING = (CaseStatus.ACTIVE, CaseStatus.PAUSED)
# A note is a few sentences for colleagues, not a document.
MAX_NOTE_LENGTH = 4000


# The case statuses as words of the catalogs, for messages that name a status.
STATUS_WORDS = {
    CaseStatus.DRAFT: N_("draft"),
    CaseStatus.ACTIVE: N_("active"),
    CaseStatus.PAUSED: N_("paused"),
    CaseStatus.CLOSED: N_("closed"),
    CaseStatus.HANDED_OVER: N_("handed over"),
}


def status_term(status: str) -> Term:
    """Return ``status`` as a word that a LocalizedError translates with its message."""
    return Term(STATUS_WORDS.get(CaseStatus(status), status))


class TransitionError(LocalizedError):
    """A change the case's state does not allow; the message says why and what to do."""


def pause_case(
    session: Session,
    case: Case,
    reason: HoldReason,
    *,
    now: datetime,
    actor: str,
    until: datetime | None = None,
    note: str | None = None,
) -> None:
    """Pause the ladder of ``case`` for ``reason``; a promise to pay needs ``until``."""
    _require_running(case)
    if reason == HoldReason.PROMISE_TO_PAY and until is None:
        raise TransitionError(
            N_("A promise to pay on case {reference} needs the promised date; give --until."),
            reference=case.reference,
        )
    if reason in TIMED_HOLDS and until is None:
        raise TransitionError(
            N_(
                "A payment check on case {reference} needs the day it ends; give --until, "
                "a week from today for instance."
            ),
            reference=case.reference,
        )
    if until is not None and until <= now:
        raise TransitionError(
            N_(
                "The pause of case {reference} would end at {until}, which has passed; "
                "give a later date."
            ),
            reference=case.reference,
            until=until.isoformat(timespec="minutes"),
        )

    case.status = CaseStatus.PAUSED
    case.hold_reason = HoldReason(reason)
    case.hold_until = until
    detail: dict[str, Any] = {"reason": reason.value, "until": _iso(until), "note": note}
    record_event(session, case, EventKind.CASE_PAUSED, at=now, actor=actor, detail=detail)
    logger.info("case %s paused: %s until %s", case.reference, reason, until)


def resume_case(session: Session, case: Case, *, now: datetime, actor: str, why: str) -> None:
    """Let the ladder of a paused case run again; its next step is due now at the earliest."""
    if case.status != CaseStatus.PAUSED:
        raise TransitionError(
            N_("Case {reference} is {status}, not paused; only a paused case can be resumed."),
            reference=case.reference,
            status=status_term(case.status),
        )

    reason = case.hold_reason
    case.status = CaseStatus.ACTIVE
    case.hold_reason = None
    case.hold_until = None
    if case.next_step_due_at is not None and case.next_step_due_at < now:
        case.next_step_due_at = now
    detail = {"hold_reason": reason, "why": why, "next_step": case.next_step}
    record_event(session, case, EventKind.CASE_RESUMED, at=now, actor=actor, detail=detail)
    logger.info("case %s resumed after %s: %s", case.reference, reason, why)


def continue_by_letter(
    session: Session, case: Case, *, bounced_step: str | None, now: datetime
) -> None:
    """Go on by letter after the debtor's e-mail address failed for good.

    The scheduler sends a written step by post while the debtor's address is
    marked as failed (see incasso.scheduler.dispatch). When the step that
    bounced is the last one performed, it is made due again now, so the debtor
    receives that notice on paper before the ladder climbs further.
    """
    resend = (
        case.status == CaseStatus.ACTIVE
        and bounced_step in NOTICE_STEPS
        and case.last_step == bounced_step
    )
    if resend:
        case.next_step = bounced_step
        case.next_step_due_at = now
    detail = {"from": "email", "to": "letter", "resend": bounced_step if resend else None}
    record_event(session, case, EventKind.CHANNEL_CHANGED, at=now, detail=detail)
    logger.info("case %s goes on by letter; resend %s", case.reference, detail["resend"])


def record_payment(
    session: Session,
    case: Case,
    amount: Decimal,
    *,
    now: datetime,
    actor: str,
    note: str | None = None,
) -> bool:
    """Add a payment to ``case``; return True when it closed the case as paid."""
    if amount <= 0:
        raise TransitionError(
            N_("Payment amount {amount} is not positive; give the amount received."), amount=amount
        )
    if case.status not in (*RUNNING, CaseStatus.DRAFT):
        raise TransitionError(
            N_("Case {reference} is {status}; record the payment on an open case."),
            reference=case.reference,
            status=status_term(case.status),
        )

    case.amount_paid = (case.amount_paid or Decimal("0.00")) + amount
    outstanding = claimed_total(session, case) - case.amount_paid
    detail = {
        "amount": str(amount),
        "outstanding": str(max(outstanding, Decimal(0))),
        "overpaid": str(-outstanding) if outstanding < 0 else None,
        "note": note,
    }
    record_event(session, case, EventKind.PAYMENT_RECORDED, at=now, actor=actor, detail=detail)
    logger.info("case %s payment %s, outstanding %s", case.reference, amount, outstanding)

    if outstanding > 0:
        return False
    close_case(session, case, CloseReason.PAID, now=now, actor=actor)
    return True


def close_case(
    session: Session, case: Case, reason: CloseReason, *, now: datetime, actor: str
) -> None:
    """End the ladder of ``case``: paid, closed at no cost, withdrawn or handed over."""
    if case.status in (CaseStatus.CLOSED, CaseStatus.HANDED_OVER):
        raise TransitionError(
            N_("Case {reference} is {status} already."),
            reference=case.reference,
            status=status_term(case.status),
        )

    handed_over = reason == CloseReason.HANDED_OVER
    case.status = CaseStatus.HANDED_OVER if handed_over else CaseStatus.CLOSED
    case.close_reason = CloseReason(reason)
    case.closed_at = now
    case.next_step = None
    case.next_step_due_at = None
    case.hold_reason = None
    case.hold_until = None
    cancel_open_tasks(session, case, now=now, actor=actor, why=f"case {reason.value}")
    kind = EventKind.CASE_HANDED_OVER if handed_over else EventKind.CASE_CLOSED
    record_event(session, case, kind, at=now, actor=actor, detail={"reason": reason.value})
    logger.info("case %s %s: %s", case.reference, case.status, reason)


def change_next_step(
    session: Session,
    case: Case,
    step: LadderStep,
    *,
    now: datetime,
    actor: str,
    due_at: datetime | None = None,
) -> None:
    """Move a running case to ``step``, due at ``due_at`` (now when not given)."""
    _require_running(case)
    rule = _policy(case).rule(step)
    if not rule.enabled:
        raise TransitionError(
            N_(
                "Step {step} is disabled in the ladder of case {reference}; "
                "enable it in the case's policy first."
            ),
            step=step.value,
            reference=case.reference,
        )
    if due_at is not None and due_at < now - timedelta(minutes=1):
        raise TransitionError(
            N_(
                "The time {when} for case {reference} has passed; give a later time, or none "
                "to make the step due now."
            ),
            when=format_local_time(due_at),
            reference=case.reference,
        )

    previous = case.next_step
    case.next_step = LadderStep(step)
    case.next_step_due_at = due_at or now
    detail = {"from": previous, "to": step.value, "due_at": case.next_step_due_at.isoformat()}
    record_event(session, case, EventKind.STEP_CHANGED, at=now, actor=actor, detail=detail)


def set_case_policy(
    session: Session, case: Case, overrides: dict[str, Any], *, now: datetime, actor: str
) -> None:
    """Replace the case's ladder overrides; raise PolicyError naming a wrong value."""
    merged = _merged_overrides(case.ladder_policy, overrides)
    policy_for(case.creditor.ladder_policy if case.creditor else None, merged)  # validates

    case.ladder_policy = merged or None
    detail = {"overrides": overrides, "policy": merged}
    record_event(session, case, EventKind.POLICY_CHANGED, at=now, actor=actor, detail=detail)


def finish_task(
    session: Session,
    task: Task,
    outcome: TaskOutcome,
    *,
    now: datetime,
    actor: str,
    until: datetime | None = None,
    note: str | None = None,
) -> None:
    """Complete ``task`` with ``outcome`` and apply it to its case (see incasso.cases.tasks)."""
    case = task.case
    complete_task(session, task, outcome, now=now, actor=actor, note=note)

    if outcome == TaskOutcome.PROMISE_TO_PAY:
        pause_case(session, case, HoldReason.PROMISE_TO_PAY, now=now, actor=actor, until=until)
    elif outcome == TaskOutcome.DISPUTED:
        pause_case(session, case, HoldReason.DISPUTED, now=now, actor=actor, note=note)
    elif outcome == TaskOutcome.CLOSE_NO_COST:
        close_case(session, case, CloseReason.NO_COST, now=now, actor=actor)
    elif outcome == TaskOutcome.HAND_OVER:
        close_case(session, case, CloseReason.HANDED_OVER, now=now, actor=actor)
    elif _policy(case).rule(LadderStep(task.step)).waits and case.next_step_due_at is None:
        # The ladder waited for this task: its follow-up becomes due.
        case.next_step_due_at = now


def add_note(session: Session, case: Case, text: str, *, now: datetime, actor: str) -> None:
    """Write a staff note into the timeline of ``case``; any case, open or ended, takes notes."""
    note = text.strip()
    if not note:
        raise TransitionError(
            N_("The note for case {reference} is empty; write what happened."),
            reference=case.reference,
        )
    if len(note) > MAX_NOTE_LENGTH:
        raise TransitionError(
            N_(
                "The note for case {reference} has {length} characters; "
                "shorten it to {most} at most, or split it into several notes."
            ),
            reference=case.reference,
            length=len(note),
            most=MAX_NOTE_LENGTH,
        )

    record_event(session, case, EventKind.NOTE_ADDED, at=now, actor=actor, detail={"note": note})
    logger.info("case %s: note added by %s", case.reference, actor)


def claimed_total(session: Session, case: Case) -> Decimal:
    """Principal of the case's invoices plus the charges of the last step that computed any."""
    principal = sum((i.amount_due or Decimal(0) for i in case.invoices), Decimal("0.00"))
    last_charged = session.scalar(
        select(CaseCharge.step)
        .where(CaseCharge.case_id == case.id)
        .order_by(CaseCharge.id.desc())
        .limit(1)
    )
    if last_charged is None:
        return principal
    amounts = session.scalars(
        select(CaseCharge.amount).where(
            CaseCharge.case_id == case.id, CaseCharge.step == last_charged
        )
    )
    return principal + sum(amounts, Decimal("0.00"))


def _merged_overrides(current: dict[str, Any] | None, change: dict[str, Any]) -> dict[str, Any]:
    """Merge ``change`` into ``current`` step by step and option by option."""
    unknown = set(change) - {"steps", "charges"}
    if unknown:
        raise PolicyError(
            N_("Ladder policy {policy} is not of the form {form}."),
            policy=json.dumps(change, default=str),
            form=POLICY_FORM,
        )
    merged: dict[str, Any] = {}
    for section in ("steps", "charges"):
        values = dict((current or {}).get(section) or {})
        for name, value in (change.get(section) or {}).items():
            if section == "steps":
                if not isinstance(value, dict):
                    raise PolicyError(
                        N_(
                            "The change {change} of step {step} must be an object with "
                            '"delay_days" (whole days) and/or "enabled" (true or false).'
                        ),
                        change=json.dumps(value, default=str),
                        step=name,
                    )
                values[name] = {**values.get(name, {}), **value}
            else:
                values[name] = value
        if values:
            merged[section] = values
    return merged


def _policy(case: Case) -> Any:
    creditor_policy = case.creditor.ladder_policy if case.creditor else None
    return policy_for(creditor_policy, case.ladder_policy)


def _require_running(case: Case) -> None:
    if case.status not in RUNNING:
        raise TransitionError(
            N_("Case {reference} is {status}: only an active or paused case has a ladder."),
            reference=case.reference,
            status=status_term(case.status),
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
