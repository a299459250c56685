"""The page of one unmatched message: read it, then attach it to a case or set it aside.

The page shows the message (see incasso.review.pages.messages) and the open
cases it may be about (see incasso.intake.unmatched.candidates), each with the
reasons it is proposed and a button that attaches the message to it. Any
other case can be given by its reference. "Not ours" sets the message aside
with a note. Both actions go back to the queue with a notice.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from incasso.cases.transitions import claimed_total
from incasso.i18n import N_
from incasso.intake.unmatched import (
    CANDIDATES_PREFIX,
    UnmatchedError,
    attach_message,
    candidates,
    dismiss_message,
    open_unmatched_item,
    stored_mail,
)
from incasso.review.pages.messages import load_message, message_view, with_page_policy
from incasso.review.webkit import (
    Staff,
    csrf_checked,
    flash,
    flash_error,
    render,
    screen_language,
    see_other,
    signed_in,
    web,
)
from incasso.store.db import read_transaction, transaction
from incasso.store.models import Case, MailMessage, ReviewItem, ReviewKind, ReviewStatus

logger = logging.getLogger(__name__)

router = APIRouter()

# Maximum length of the note kept when a message is set aside.
NOTE_CHARS = 1000


@dataclass(frozen=True)
class CandidateRow:
    """One proposed case, as the page lists it."""

    reference: str
    status: str
    debtor: str
    debtor_email: str | None
    creditor: str
    open_amount: Decimal
    currency: str
    signals: list[str]


# How incasso.intake.unmatched.dismiss_message records the decision in the item's detail.
SET_ASIDE = re.compile(r"not ours \((?P<actor>[^)]*)\)(?:: (?P<note>.*))?$", re.DOTALL)


@dataclass(frozen=True)
class Outcome:
    """The result of handling an unmatched message: attached to a case or set aside."""

    attached_to: str | None
    set_aside: bool
    # Who set the message aside, and the note they gave (read from the review item).
    set_aside_by: str | None = None
    note: str | None = None


@router.get("/unmatched/{message_id}", response_class=HTMLResponse)
def unmatched_page(
    request: Request, message_id: int, staff: Annotated[Staff, Depends(signed_in)]
) -> Response:
    context = web(request)
    language = screen_language(request, staff)
    with read_transaction(context.factory) as session:
        message = load_message(session, message_id)
        view = message_view(session, context.rawstore, message, language)
        parsed = stored_mail(session, context.rawstore, message)
        rows = [
            _row(session, candidate.case, candidate.signals)
            for candidate in candidates(session, message, parsed)
        ]
        outcome = _outcome(session, message)
        item = open_unmatched_item(session, message)
        reasons = [r for r in item.reasons if not r.startswith(CANDIDATES_PREFIX)] if item else []
    response = render(
        request,
        staff,
        "unmatched.html.j2",
        message=view,
        candidates=rows,
        outcome=outcome,
        reasons=reasons,
        open=view.unmatched_open,
    )
    return with_page_policy(response)


@router.post("/unmatched/{message_id}/attach", dependencies=[Depends(csrf_checked)])
def attach(
    request: Request,
    message_id: int,
    staff: Annotated[Staff, Depends(signed_in)],
    reference: Annotated[str, Form()] = "",
) -> Response:
    context = web(request)
    try:
        with transaction(context.factory) as session:
            case = attach_message(
                session,
                context.rawstore,
                message_id,
                reference,
                actor=staff.username,
                now=context.clock(),
            )
            attached = case.reference
    except UnmatchedError as err:
        logger.info("staff %s could not attach message %d: %s", staff.username, message_id, err)
        flash_error(request, err)
        return see_other(f"/unmatched/{message_id}")
    flash(request, N_("Message attached to case {reference}."), reference=attached)
    return see_other("/")


@router.post("/unmatched/{message_id}/dismiss", dependencies=[Depends(csrf_checked)])
def dismiss(
    request: Request,
    message_id: int,
    staff: Annotated[Staff, Depends(signed_in)],
    note: Annotated[str, Form()] = "",
) -> Response:
    context = web(request)
    try:
        with transaction(context.factory) as session:
            dismiss_message(
                session,
                message_id,
                actor=staff.username,
                now=context.clock(),
                note=note[:NOTE_CHARS],
            )
    except UnmatchedError as err:
        logger.info("staff %s could not set aside message %d: %s", staff.username, message_id, err)
        flash_error(request, err)
        return see_other(f"/unmatched/{message_id}")
    flash(request, N_("Message {number} set aside as not ours."), number=message_id)
    return see_other("/")


def _row(session: Session, case: Case, signals: list[str]) -> CandidateRow:
    open_amount = max(claimed_total(session, case) - case.amount_paid, Decimal("0.00"))
    return CandidateRow(
        reference=case.reference,
        status=case.status,
        debtor=case.debtor.name if case.debtor is not None else "—",
        debtor_email=case.debtor.email if case.debtor is not None else None,
        creditor=case.creditor.name if case.creditor is not None else "—",
        open_amount=open_amount,
        currency=case.currency,
        signals=list(signals),
    )


def _outcome(session: Session, message: MailMessage) -> Outcome | None:
    """Say what became of ``message`` when its unmatched review item is resolved."""
    if message.case is not None:
        return Outcome(attached_to=message.case.reference, set_aside=False)
    resolved = session.scalar(
        select(ReviewItem)
        .where(
            ReviewItem.mail_message_id == message.id,
            ReviewItem.kind == ReviewKind.UNMATCHED_MAIL,
            ReviewItem.status == ReviewStatus.RESOLVED,
        )
        .order_by(ReviewItem.id.desc())
        .limit(1)
    )
    if resolved is None:
        return None
    found = SET_ASIDE.search(resolved.detail or "")
    if found is None:
        return Outcome(attached_to=None, set_aside=True)
    return Outcome(None, True, set_aside_by=found["actor"], note=found["note"])
