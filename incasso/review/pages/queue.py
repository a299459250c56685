"""The queue, the home page: what waits for a person, by section, and who handles it.

The data comes from ``incasso.review.queue_data``. Staff filter the queue by
creditor and by assignee (me, nobody, anyone, or one colleague), take an item
on, give it to a colleague or release it, and mark it as handled with an
optional note (``incasso.cases.review_items``). The case page posts its
"handled" buttons to the same route.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from incasso.cases.review_items import (
    MAX_NOTE_LENGTH,
    OWN_ACTION_KINDS,
    ReviewItemError,
    ReviewItemMissing,
    resolve_review_item,
)
from incasso.i18n import N_, Term
from incasso.review.labels import review_kind_label
from incasso.review.queue_data import (
    ANYONE,
    NOBODY,
    AssignmentError,
    QueueFilter,
    assign_review_item,
    creditor_choices,
    load_queue,
    staff_choices,
    waiting_time,
)
from incasso.review.webkit import (
    Staff,
    csrf_checked,
    flash,
    flash_error,
    render,
    see_other,
    signed_in,
    web,
)
from incasso.store.db import read_transaction, transaction
from incasso.store.models import ReviewItem

logger = logging.getLogger(__name__)

router = APIRouter()

ME = "me"
ID_PATTERN = re.compile(r"[0-9]{1,12}")


@router.get("/", response_class=HTMLResponse)
def queue_page(
    request: Request,
    staff: Annotated[Staff, Depends(signed_in)],
    creditor: str | None = None,
    assignee: str = ANYONE,
) -> Response:
    creditor_id = _number(creditor)
    chosen = assignee if assignee in (ANYONE, NOBODY, ME) or _number(assignee) else ANYONE
    filters = QueueFilter(creditor_id=creditor_id, assignee=_assignee_filter(chosen, staff))
    now = web(request).clock()

    with read_transaction(web(request).factory) as session:
        sections = load_queue(session, now=now, filters=filters)
        creditors = creditor_choices(session)
        colleagues = staff_choices(session)

    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render(
        request,
        staff,
        "queue.html.j2",
        sections=sections,
        creditors=creditors,
        colleagues=colleagues,
        chosen_creditor=creditor_id,
        chosen_assignee=chosen,
        waited=lambda since: waiting_time(now, since),
        back=back,
        own_action_kinds=OWN_ACTION_KINDS,
        note_length=MAX_NOTE_LENGTH,
    )


@router.post("/review-items/{item_id}/assign", dependencies=[Depends(csrf_checked)])
def assign(
    request: Request,
    item_id: int,
    staff: Annotated[Staff, Depends(signed_in)],
    assignee: Annotated[str, Form()] = "",
    current: Annotated[str | None, Form()] = None,
    back: Annotated[str, Form()] = "/",
) -> Response:
    assignee_id = _staff_id(assignee)
    expected = _shown_assignee(current)

    with transaction(web(request).factory) as session:
        try:
            item = assign_review_item(
                session, item_id, assignee_id, actor=staff.username, expected=expected
            )
        except AssignmentError as error:
            logger.info("review item %s not assigned to %s: %s", item_id, assignee_id, error)
            flash_error(request, error)
            return see_other(_local(back))
        if item is None:
            raise HTTPException(status_code=404, detail=f"review item {item_id} does not exist")
        name = item.assignee.display_name if item.assignee else None

    if name is None:
        flash(request, N_("Released: nobody handles this item now."))
    else:
        flash(request, N_("Assigned to {name}."), name=name)
    return see_other(_local(back))


@router.post("/review-items/{item_id}/resolve", dependencies=[Depends(csrf_checked)])
def resolve(
    request: Request,
    item_id: int,
    staff: Annotated[Staff, Depends(signed_in)],
    note: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "/",
) -> Response:
    context = web(request)
    try:
        with transaction(context.factory) as session:
            resolved = resolve_review_item(
                session, item_id, actor=staff.username, now=context.clock(), note=note
            )
            kind = session.get_one(ReviewItem, item_id).kind
    except ReviewItemMissing as error:
        raise HTTPException(status_code=404, detail=str(error)) from error
    except ReviewItemError as error:
        logger.info("review item %s not resolved by %s: %s", item_id, staff.username, error)
        flash_error(request, error)
        return see_other(_local(back))

    if resolved:
        flash(request, N_("Marked as handled: {item}."), item=_kind_word(kind))
    else:
        flash(request, N_("This item was marked as handled already; nothing changed."))
    return see_other(_local(back))


def _kind_word(kind: str) -> Term:
    """Return the catalog word of review kind ``kind``, translated with the notice."""
    return Term(review_kind_label(kind, lambda message: message))


def _assignee_filter(chosen: str, staff: Staff) -> int | str:
    if chosen == ME:
        return staff.id
    return _number(chosen) or chosen


def _shown_assignee(current: str | None) -> int | str | None:
    """Read the assignee the page showed: a staff id, None for nobody, "" when not sent."""
    if current is None:
        return ""
    return None if current == NOBODY else _staff_id(current)


def _staff_id(value: str) -> int | None:
    """Read a staff id from a form field; an empty field means no one."""
    value = value.strip()
    if not value:
        return None
    number = _number(value)
    if number is None:
        raise HTTPException(status_code=422, detail=f"assignee {value!r} is not a staff id")
    return number


def _number(value: str | None) -> int | None:
    """Read an id typed in ASCII digits; None for anything else."""
    if value is None or ID_PATTERN.fullmatch(value) is None:
        return None
    return int(value)


def _local(target: str) -> str:
    """Only a path on this site is followed back, never another host."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
