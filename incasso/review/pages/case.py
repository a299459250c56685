"""The case page: one case with its parties, amounts, ladder and timeline, and what staff do to it.

Every action is a form posted to ``/cases/{reference}/...``. It runs one
domain function of ``incasso.cases.transitions`` in a transaction, names the
signed-in staff member as the actor of the timeline event, and responds with a
redirect back to the case page. The notice on that page says what happened,
or, when the case's state does not allow the change, why and what to do.
Handing a case over for legal collection is for admins only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Annotated, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from incasso.cases.drafts import parse_amount
from incasso.cases.ladder import TIMED_HOLDS, CloseReason, HoldReason, LadderStep
from incasso.cases.summary import find_case
from incasso.cases.tasks import TaskOutcome
from incasso.cases.transitions import (
    add_note,
    change_next_step,
    claimed_total,
    close_case,
    finish_task,
    pause_case,
    record_payment,
    resume_case,
)
from incasso.i18n import LOCAL_ZONE, N_, LocalizedError, Term, format_money, translations
from incasso.review.case_view import load_case_view
from incasso.review.labels import hold_label, step_label
from incasso.review.webkit import (
    Staff,
    admin_only,
    csrf_checked,
    flash,
    flash_error,
    render,
    see_other,
    signed_in,
    web,
)
from incasso.store.db import read_transaction, transaction
from incasso.store.models import Case, Task

logger = logging.getLogger(__name__)

router = APIRouter()

# Reasons staff choose when closing a case by hand; paid comes from a payment and
# handing over has its own, admin-only action.
STAFF_CLOSE_REASONS = (CloseReason.NO_COST, CloseReason.WITHDRAWN)

# The notice of an action: a catalog template with its values, shown on the case page.
Notice = tuple[str, dict[str, str]]
Change = Callable[[Session, Case, datetime], Notice]
Code = TypeVar("Code", HoldReason, LadderStep, CloseReason, TaskOutcome)


class CaseFormError(LocalizedError):
    """A value of a case form that cannot be used; the message names it and what to enter."""


@router.get("/cases/{reference}", response_class=HTMLResponse)
def case_page(
    request: Request, reference: str, staff: Annotated[Staff, Depends(signed_in)]
) -> Response:
    with read_transaction(web(request).factory) as session:
        view = load_case_view(session, reference)
    if view is None:
        raise HTTPException(status_code=404, detail=f"no case with reference {reference}")
    return render(
        request,
        staff,
        "case.html.j2",
        case=view,
        hold_reasons=[reason.value for reason in HoldReason],
        timed_holds=sorted(reason.value for reason in TIMED_HOLDS),
        close_reasons=[reason.value for reason in STAFF_CLOSE_REASONS],
        today=web(request).clock().astimezone(LOCAL_ZONE).date(),
    )


@router.post("/cases/{reference}/pause", dependencies=[Depends(csrf_checked)])
def pause(
    request: Request,
    reference: str,
    staff: Annotated[Staff, Depends(signed_in)],
    reason: Annotated[str, Form()],
    until: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    def change(session: Session, case: Case, now: datetime) -> Notice:
        hold = _choice(HoldReason, reason)
        end = _end_of_day(until) if until.strip() else None
        if hold in TIMED_HOLDS and end is None:
            raise CaseFormError(
                N_(
                    "A pause for “{reason}” needs an end date: fill in the date until which "
                    "the case waits."
                ),
                reason=Term(_hold_word(hold)),
            )
        pause_case(session, case, hold, now=now, actor=staff.username, until=end, note=_text(note))
        return N_("Case {reference} paused."), {"reference": case.reference}

    return _act(request, staff, reference, change)


@router.post("/cases/{reference}/resume", dependencies=[Depends(csrf_checked)])
def resume(
    request: Request,
    reference: str,
    staff: Annotated[Staff, Depends(signed_in)],
    note: Annotated[str, Form()] = "",
) -> Response:
    def change(session: Session, case: Case, now: datetime) -> Notice:
        resume_case(session, case, now=now, actor=staff.username, why=note.strip())
        step = step_label(case.next_step, _gettext(staff))
        return N_("Case {reference} resumed; next step: {step}."), {
            "reference": case.reference,
            "step": step,
        }

    return _act(request, staff, reference, change)


@router.post("/cases/{reference}/next-step", dependencies=[Depends(csrf_checked)])
def next_step(
    request: Request,
    reference: str,
    staff: Annotated[Staff, Depends(signed_in)],
    step: Annotated[str, Form()],
    when: Annotated[str, Form()] = "",
) -> Response:
    def change(session: Session, case: Case, now: datetime) -> Notice:
        chosen = _choice(LadderStep, step)
        due = _moment(when) if when.strip() else None
        change_next_step(session, case, chosen, now=now, actor=staff.username, due_at=due)
        label = step_label(chosen.value, _gettext(staff))
        return N_("Case {reference}: next step {step}."), {
            "reference": case.reference,
            "step": label,
        }

    return _act(request, staff, reference, change)


@router.post("/cases/{reference}/notes", dependencies=[Depends(csrf_checked)])
def note(
    request: Request,
    reference: str,
    staff: Annotated[Staff, Depends(signed_in)],
    text: Annotated[str, Form()] = "",
) -> Response:
    def change(session: Session, case: Case, now: datetime) -> Notice:
        add_note(session, case, text, now=now, actor=staff.username)
        return N_("Note added to case {reference}."), {"reference": case.reference}

    return _act(request, staff, reference, change)


@router.post("/cases/{reference}/payments", dependencies=[Depends(csrf_checked)])
def payment(
    request: Request,
    reference: str,
    staff: Annotated[Staff, Depends(signed_in)],
    amount: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    def change(session: Session, case: Case, now: datetime) -> Notice:
        received = parse_amount(amount)
        closed = record_payment(
            session, case, received, now=now, actor=staff.username, note=_text(note)
        )
        return _payment_notice(session, case, closed, staff)

    return _act(request, staff, reference, change)


@router.post("/cases/{reference}/mark-paid", dependencies=[Depends(csrf_checked)])
def mark_paid(
    request: Request, reference: str, staff: Annotated[Staff, Depends(signed_in)]
) -> Response:
    def change(session: Session, case: Case, now: datetime) -> Notice:
        remaining = claimed_total(session, case) - case.amount_paid
        if remaining <= 0:
            raise CaseFormError(
                N_("Case {reference} has nothing left to pay, so it cannot be marked as paid."),
                reference=case.reference,
            )
        closed = record_payment(session, case, remaining, now=now, actor=staff.username)
        return _payment_notice(session, case, closed, staff)

    return _act(request, staff, reference, change)


@router.post("/cases/{reference}/close", dependencies=[Depends(csrf_checked)])
def close(
    request: Request,
    reference: str,
    staff: Annotated[Staff, Depends(signed_in)],
    reason: Annotated[str, Form()],
) -> Response:
    def change(session: Session, case: Case, now: datetime) -> Notice:
        chosen = _choice(CloseReason, reason)
        if chosen not in STAFF_CLOSE_REASONS:
            raise CaseFormError(
                N_(
                    "Closing reason {reason} is not one to choose here: a case closes as paid "
                    "when a payment covers it, and handing over has its own button."
                ),
                reason=reason,
            )
        close_case(session, case, chosen, now=now, actor=staff.username)
        return N_("Case {reference} closed."), {"reference": case.reference}

    return _act(request, staff, reference, change)


@router.post("/cases/{reference}/hand-over", dependencies=[Depends(csrf_checked)])
def hand_over(
    request: Request, reference: str, staff: Annotated[Staff, Depends(admin_only)]
) -> Response:
    def change(session: Session, case: Case, now: datetime) -> Notice:
        close_case(session, case, CloseReason.HANDED_OVER, now=now, actor=staff.username)
        return N_("Case {reference} handed over for legal collection."), {
            "reference": case.reference
        }

    return _act(request, staff, reference, change)


@router.post("/cases/{reference}/tasks/{task_id}/complete", dependencies=[Depends(csrf_checked)])
def complete_task(
    request: Request,
    reference: str,
    task_id: int,
    staff: Annotated[Staff, Depends(signed_in)],
    outcome: Annotated[str, Form()],
    until: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    def change(session: Session, case: Case, now: datetime) -> Notice:
        task = session.get(Task, task_id)
        if task is None or task.case_id != case.id:
            raise HTTPException(status_code=404, detail=f"case {reference} has no task {task_id}")
        result = _choice(TaskOutcome, outcome)
        if result == TaskOutcome.HAND_OVER and not staff.is_admin:
            raise HTTPException(status_code=403, detail="handing over is for admins")
        end = _end_of_day(until) if until.strip() else None
        if result == TaskOutcome.PROMISE_TO_PAY and end is None:
            raise CaseFormError(
                N_(
                    "A promise to pay needs the date the debtor promised: "
                    "fill in the promised date."
                )
            )
        finish_task(
            session, task, result, now=now, actor=staff.username, until=end, note=_text(note)
        )
        return N_("Task {task} of case {reference} completed."), {
            "task": str(task.id),
            "reference": case.reference,
        }

    return _act(request, staff, reference, change)


def _act(request: Request, staff: Staff, reference: str, change: Change) -> Response:
    """Apply ``change`` to the case in one transaction, then go back to the case page."""
    context = web(request)
    case_page = "/cases/" + quote(reference.strip(), safe="")
    try:
        with transaction(context.factory) as session:
            case = find_case(session, reference)
            if case is None:
                raise HTTPException(status_code=404, detail=f"no case with reference {reference}")
            template, values = change(session, case, context.clock())
    except LocalizedError as err:
        logger.info("case %s: change rejected: %s", reference, err)
        flash_error(request, err)
        return see_other(case_page)

    flash(request, template, **values)
    return see_other(case_page)


def _payment_notice(session: Session, case: Case, closed: bool, staff: Staff) -> Notice:
    overpaid = case.amount_paid - claimed_total(session, case)
    if closed and overpaid > 0:
        return N_(
            "Case {reference} is paid in full and closed, with {amount} more than due: "
            "refund it or check the amount."
        ), {
            "reference": case.reference,
            "amount": format_money(overpaid, case.currency, staff.language),
        }
    if closed:
        return N_("Case {reference} is paid in full and closed."), {"reference": case.reference}
    return N_("Payment recorded on case {reference}; the ladder goes on."), {
        "reference": case.reference
    }


def _choice(codes: type[Code], value: str) -> Code:
    """Return the code ``value`` of ``codes``; the forms offer only these, so others are invalid."""
    try:
        return codes(value.strip())
    except ValueError as err:
        known = ", ".join(code.value for code in codes)
        raise CaseFormError(
            N_("Choice {value} is invalid here; choose one of {known}."),
            value=value,
            known=known,
        ) from err


def _end_of_day(text: str) -> datetime:
    """Return midnight after the day ``text`` in Brussels, so a pause lasts through that day."""
    return datetime.combine(_day(text) + timedelta(days=1), time(0, 0), tzinfo=LOCAL_ZONE)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as err:
        raise CaseFormError(N_("Date {date} is not of the form YYYY-MM-DD."), date=text) from err


def _moment(text: str) -> datetime:
    """Read a date and time in Brussels time, as the browser's date-time field sends it."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as err:
        raise CaseFormError(
            N_("Moment {moment} is not of the form YYYY-MM-DD HH:MM."), moment=text
        ) from err
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_ZONE)


def _text(value: str) -> str | None:
    cleaned = value.strip()
    return cleaned or None


def _hold_word(reason: HoldReason) -> str:
    """Return the catalog word of ``reason``, translated with the message that names it."""
    return hold_label(reason.value, lambda message: message)


def _gettext(staff: Staff) -> Callable[[str], str]:
    return translations(staff.language).gettext
