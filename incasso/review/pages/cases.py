"""The list of cases, newest first, with a filter by status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from incasso.cases.summary import case_list_form, list_cases, open_amounts
from incasso.review.webkit import Staff, render, signed_in, web
from incasso.store.db import read_transaction
from incasso.store.models import CaseStatus, ReviewItem, ReviewStatus

router = APIRouter()


@router.get("/cases", response_class=HTMLResponse)
def case_list(
    request: Request, staff: Annotated[Staff, Depends(signed_in)], status: str | None = None
) -> Response:
    status = status if status in set(CaseStatus) else None
    with read_transaction(web(request).factory) as session:
        found = list_cases(session, status=status)
        still_open = open_amounts(session, found)
        cases = case_list_form(found)["cases"]
        for case, form in zip(found, cases, strict=True):
            form["open"] = still_open[case.id]
        open_reviews = session.scalar(
            select(func.count())
            .select_from(ReviewItem)
            .where(ReviewItem.status == ReviewStatus.OPEN)
        )
    return render(
        request,
        staff,
        "cases.html.j2",
        cases=cases,
        open_reviews=open_reviews or 0,
        status=status,
    )
