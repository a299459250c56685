"""The search page: find cases by reference, structured communication, debtor or invoice.

The lookups live in ``incasso.review.search_data``. When the text names one
case exactly by its reference or structured communication and nothing else
matches, the page opens that case directly.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from incasso.review.search_data import RESULT_LIMIT, search_cases
from incasso.review.webkit import Staff, render, see_other, signed_in, web
from incasso.store.db import read_transaction

logger = logging.getLogger(__name__)

router = APIRouter()


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request, staff: Annotated[Staff, Depends(signed_in)], q: str = ""
) -> Response:
    query = q.strip()
    if not query:
        return render(request, staff, "search.html.j2", query="", result=None, limit=RESULT_LIMIT)

    with read_transaction(web(request).factory) as session:
        result = search_cases(session, query)

    exact = result.only_exact_hit
    if exact is not None:
        return see_other(f"/cases/{exact.reference}")
    return render(request, staff, "search.html.j2", query=query, result=result, limit=RESULT_LIMIT)
