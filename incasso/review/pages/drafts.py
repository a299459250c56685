"""The draft review page: the document beside the fields read from it, and the decision.

``GET /drafts/{reference}`` shows the invoice's PDF pages (or the text of the
e-mail that carried the claim) on the left and, on the right, every field
with its value in an editable input, the text it was read from, how sure
intake was, and why the case waits. Staff then:

- save corrections (``POST .../fields``): each changed input becomes one
  ``correct_field`` call, all in one transaction;
- approve (``POST .../approve``, key ``a``): the case becomes active and its
  first reminder is scheduled; the browser goes on to the case page;
- reject with a reason (``POST .../reject``, key ``r`` focuses the reason);
- merge into another case of the same debtor (``POST .../merge``, key ``m``).

A refused action shows the page again with the typed values and the reason,
translated; a done one redirects with a notice (see incasso.cases.drafts for
what each action checks).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Annotated
from urllib.parse import quote

from babel.numbers import format_percent
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from incasso.cases.creditors import list_creditors
from incasso.cases.drafts import (
    DEBTOR_ATTRIBUTES,
    INVOICE_COLUMNS,
    STAFF_SOURCE,
    DraftError,
    DraftIncomplete,
    approve_draft,
    assign_creditor,
    correct_field,
    draft_problems,
    merge_draft,
    parse_day,
    reject_draft,
)
from incasso.cases.lifecycle import EventKind
from incasso.cases.summary import find_case
from incasso.i18n import LOCAL_ZONE, LOCALES, N_, format_local_time, translations
from incasso.review.pages.documents import ShownDocument, shown_document
from incasso.review.pages.messages import MessageView, message_view, with_page_policy
from incasso.review.webkit import (
    Staff,
    csrf_checked,
    flash,
    render,
    see_other,
    signed_in,
    web,
)
from incasso.scheduler.calendar import next_contact_time
from incasso.store.db import read_transaction, transaction
from incasso.store.models import (
    Case,
    CaseStatus,
    Debtor,
    Direction,
    Document,
    Invoice,
    InvoiceField,
    MailMessage,
    ReviewItem,
    ReviewKind,
    ReviewStatus,
)

logger = logging.getLogger(__name__)

router = APIRouter()

# Intake's default confidence threshold (Settings.confidence_threshold). A value below
# it, or one intake called doubtful with the configured threshold, is marked "low".
LOW_CONFIDENCE = 0.8
# Mails of the case shown under the document, the submission first.
MAX_MESSAGES = 3
# Width in pixels of a PDF page on the draft page. The image has more pixels, for zooming.
PAGE_WIDTH = 640
# One changed input: its name, the invoice (None for the debtor), the field, the typed value.
Change = tuple[str, int | None, str, str]

# HTTP status of the page shown again after a refused action.
REFUSED = 422


@dataclass(frozen=True)
class FieldRow:
    """One field on the draft page: its input, and what intake read."""

    name: str
    input_name: str
    value: str
    raw: str | None = None
    source: str | None = None
    confidence: str | None = None  # as a percentage in the reader's language
    low: bool = False
    by_staff: bool = False
    error: str | None = None


@dataclass(frozen=True)
class InvoicePanel:
    id: int
    number: str | None
    fields: list[FieldRow]


@dataclass(frozen=True)
class DraftView:
    """Everything the draft page shows, read before the session closes."""

    reference: str
    creditor: str | None
    debtor: str | None
    invoices: list[InvoicePanel]
    debtor_fields: list[FieldRow]
    # Reasons intake kept the case a draft for, each with whether it still applies.
    reasons: list[tuple[str, bool]]
    detail: str | None
    problems: list[str]
    documents: list[ShownDocument]
    messages: list[MessageView] = field(default_factory=list)
    # Registered creditors to choose from, as (code, name), and the draft's own code.
    creditors: list[tuple[str, str]] = field(default_factory=list)
    creditor_code: str | None = None


@dataclass(frozen=True)
class Refusal:
    """A refused action: the error and the typed values, for showing the page again."""

    error: DraftError
    text: str  # the error in the reader's language
    posted: dict[str, str]
    field: str | None = None  # the input the refusal is about


@router.get("/drafts/{reference}", response_class=HTMLResponse)
def draft_page(
    request: Request, reference: str, staff: Annotated[Staff, Depends(signed_in)]
) -> Response:
    context = web(request)
    with read_transaction(context.factory) as session:
        case = _find(session, reference)
        if case.status != CaseStatus.DRAFT:
            return RedirectResponse(_case_url(case.reference), status_code=303)
        view = _draft_view(session, request, case, staff)
    return _show(request, staff, view, None)


@router.post("/drafts/{reference}/fields", dependencies=[Depends(csrf_checked)])
async def save_fields(
    request: Request, reference: str, staff: Annotated[Staff, Depends(signed_in)]
) -> Response:
    form = await request.form()
    posted = {name: value for name, value in form.items() if isinstance(value, str)}
    return await run_in_threadpool(_save_fields, request, reference, staff, posted)


@router.post("/drafts/{reference}/approve", dependencies=[Depends(csrf_checked)])
def approve(
    request: Request, reference: str, staff: Annotated[Staff, Depends(signed_in)]
) -> Response:
    context = web(request)
    try:
        with transaction(context.factory) as session:
            case = _find(session, reference)
            approve_draft(
                session,
                case,
                actor=staff.username,
                now=context.clock(),
                first_reminder_delay=context.first_reminder_delay,
            )
            # When the scheduler sends it: the due time, or the next contact time after it.
            due = format_local_time(next_contact_time(case.next_step_due_at or context.clock()))
            reference = case.reference
    except DraftError as err:
        return _refused(request, staff, reference, Refusal(err, _translated(err, staff), {}))

    flash(
        request,
        N_("Draft {reference} approved: the first reminder is due {due}."),
        reference=reference,
        due=due,
    )
    logger.info("draft %s approved on the web by %s", reference, staff.username)
    return see_other(_case_url(reference))


@router.post("/drafts/{reference}/reject", dependencies=[Depends(csrf_checked)])
def reject(
    request: Request,
    reference: str,
    staff: Annotated[Staff, Depends(signed_in)],
    reason: Annotated[str, Form()] = "",
) -> Response:
    context = web(request)
    try:
        with transaction(context.factory) as session:
            case = _find(session, reference)
            reject_draft(session, case, reason, actor=staff.username, now=context.clock())
            reference = case.reference
    except DraftError as err:
        refusal = Refusal(err, _translated(err, staff), {"reason": reason}, "reason")
        return _refused(request, staff, reference, refusal)

    flash(request, N_("Draft {reference} rejected and closed."), reference=reference)
    return see_other("/")


@router.post("/drafts/{reference}/creditor", dependencies=[Depends(csrf_checked)])
def choose_creditor(
    request: Request,
    reference: str,
    staff: Annotated[Staff, Depends(signed_in)],
    creditor: Annotated[str, Form()] = "",
) -> Response:
    context = web(request)
    try:
        with transaction(context.factory) as session:
            case = _find(session, reference)
            assign_creditor(session, case, creditor, actor=staff.username, now=context.clock())
            reference = case.reference
    except DraftError as err:
        refusal = Refusal(err, _translated(err, staff), {}, "creditor")
        return _refused(request, staff, reference, refusal)

    flash(request, N_("Creditor of draft {reference} set."), reference=reference)
    return see_other(_draft_url(reference))


@router.post("/drafts/{reference}/merge", dependencies=[Depends(csrf_checked)])
def merge(
    request: Request,
    reference: str,
    staff: Annotated[Staff, Depends(signed_in)],
    target: Annotated[str, Form()] = "",
) -> Response:
    context = web(request)
    try:
        with transaction(context.factory) as session:
            case = _find(session, reference)
            merged_into = merge_draft(
                session, case, target, actor=staff.username, now=context.clock()
            )
            reference, target = case.reference, merged_into.reference
    except DraftError as err:
        refusal = Refusal(err, _translated(err, staff), {"target": target}, "target")
        return _refused(request, staff, reference, refusal)

    flash(
        request,
        N_("Draft {reference} merged into case {target}."),
        reference=reference,
        target=target,
    )
    return see_other(_case_url(target))


def _save_fields(
    request: Request, reference: str, staff: Staff, posted: dict[str, str]
) -> Response:
    context = web(request)
    changed = 0
    failed_input: str | None = None
    try:
        with transaction(context.factory) as session:
            case = _find(session, reference)
            for input_name, invoice_id, name, value in _changes(
                session, request, case, staff, posted
            ):
                failed_input = input_name
                changed += correct_field(
                    session,
                    case,
                    invoice_id,
                    name,
                    value,
                    actor=staff.username,
                    now=context.clock(),
                )
            failed_input = None
            reference = case.reference
    except DraftError as err:
        refusal = Refusal(err, _translated(err, staff), posted, failed_input)
        return _refused(request, staff, reference, refusal)

    if changed:
        flash(
            request,
            N_("Corrections saved on draft {reference}: {count}."),
            count=changed,
            reference=reference,
        )
    else:
        flash(request, N_("Nothing changed on draft {reference}."), reference=reference)
    return see_other(_draft_url(reference))


def _changes(
    session: Session, request: Request, case: Case, staff: Staff, posted: dict[str, str]
) -> list[Change]:
    """Return the inputs whose posted value differs from the one shown.

    When both dates of an invoice change, the one that keeps them in order goes first.
    """
    view = _draft_view(session, request, case, staff, with_documents=False)
    changes: list[Change] = []
    for panel in view.invoices:
        found: list[Change] = [
            (row.input_name, panel.id, row.name, posted[row.input_name])
            for row in panel.fields
            if row.input_name in posted and posted[row.input_name].strip() != row.value
        ]
        changes.extend(_dates_in_order(found, panel))
    for row in view.debtor_fields:
        if row.input_name in posted and posted[row.input_name].strip() != row.value:
            changes.append((row.input_name, None, row.name, posted[row.input_name]))
    return changes


def _dates_in_order(found: list[Change], panel: InvoicePanel) -> list[Change]:
    """Put a later due date before the invoice date, an earlier one after it."""
    names = [change[2] for change in found]
    if "issue_date" not in names or "due_date" not in names:
        return found
    current_due = next(row.value for row in panel.fields if row.name == "due_date")
    new_due = next(change[3] for change in found if change[2] == "due_date")
    if _later(new_due, current_due):
        return sorted(found, key=lambda change: change[2] != "due_date")
    return sorted(found, key=lambda change: change[2] != "issue_date")


def _later(new: str, current: str) -> bool:
    try:
        return not current or parse_day(new) > parse_day(current)
    except DraftError:
        return False  # an unclear date is refused whichever goes first


def _refused(request: Request, staff: Staff, reference: str, refusal: Refusal) -> Response:
    """Show the draft again with the refusal, or go to the case page when it is no draft."""
    context = web(request)
    with read_transaction(context.factory) as session:
        case = _find(session, reference)
        if case.status != CaseStatus.DRAFT:
            _flash_refusal(request, refusal.error, staff)
            return see_other(_case_url(case.reference))
        view = _draft_view(session, request, case, staff)
    logger.info("draft %s: action refused: %s", reference, refusal.text)
    return _show(request, staff, _with_posted(view, refusal), refusal, status_code=REFUSED)


def _show(
    request: Request,
    staff: Staff,
    view: DraftView,
    refusal: Refusal | None,
    *,
    status_code: int = 200,
) -> Response:
    posted = refusal.posted if refusal is not None else {}
    response = render(
        request,
        staff,
        "draft.html.j2",
        status_code=status_code,
        draft=view,
        refusal=refusal,
        reject_reason=posted.get("reason", ""),
        merge_target=posted.get("target", ""),
        page_width=PAGE_WIDTH,
    )
    return with_page_policy(response)


def _with_posted(view: DraftView, refusal: Refusal) -> DraftView:
    """Return ``view`` with the values staff typed and the refusal beside its input."""

    def typed(row: FieldRow) -> FieldRow:
        value = refusal.posted.get(row.input_name, row.value)
        error = refusal.text if row.input_name == refusal.field else None
        return replace(row, value=value, error=error)

    invoices = [
        replace(panel, fields=[typed(row) for row in panel.fields]) for panel in view.invoices
    ]
    debtor_fields = [typed(row) for row in view.debtor_fields]
    return replace(view, invoices=invoices, debtor_fields=debtor_fields)


def _draft_view(
    session: Session, request: Request, case: Case, staff: Staff, *, with_documents: bool = True
) -> DraftView:
    context = web(request)
    language = staff.language
    items = _open_draft_items(session, case)
    reasons = [reason for item in items for reason in item.reasons]
    gettext = translations(language).gettext
    today = context.clock().astimezone(LOCAL_ZONE).date()

    documents: list[ShownDocument] = []
    messages: list[MessageView] = []
    if with_documents:
        documents = [shown_document(session, context.rawstore, d) for d in _documents(case)]
        messages = [
            message_view(session, context.rawstore, message, language)
            for message in _inbound_messages(session, case)
        ]

    return DraftView(
        reference=case.reference,
        creditor=case.creditor.name if case.creditor is not None else None,
        debtor=case.debtor.name if case.debtor is not None else None,
        invoices=[_invoice_panel(invoice, reasons, language) for invoice in case.invoices],
        debtor_fields=_debtor_rows(case, reasons, language),
        reasons=_reasons(case, reasons),
        detail="; ".join(item.detail for item in items if item.detail) or None,
        problems=[problem.translated(gettext) for problem in draft_problems(case, today)],
        documents=documents,
        messages=messages,
        creditors=[(creditor.code, creditor.name) for creditor in list_creditors(session)],
        creditor_code=case.creditor.code if case.creditor is not None else None,
    )


def _reasons(case: Case, current: list[str]) -> list[tuple[str, bool]]:
    """Return the reasons intake gave at opening, then newer ones, each True while it applies."""
    opened = next((event for event in case.events if event.kind == EventKind.CASE_OPENED), None)
    at_intake = list(opened.detail.get("reasons") or []) if opened is not None else []
    codes = dict.fromkeys([*at_intake, *current])
    return [(code, code in current) for code in codes]


def _invoice_panel(invoice: Invoice, reasons: list[str], language: str) -> InvoicePanel:
    by_name = {row.name: row for row in invoice.fields}
    rows = [
        _row(
            name,
            f"invoice-{invoice.id}-{name}",
            _shown(getattr(invoice, column)),
            by_name.get(name),
            reasons,
            language,
        )
        for name, column in INVOICE_COLUMNS.items()
    ]
    return InvoicePanel(id=invoice.id, number=invoice.number, fields=rows)


def _debtor_rows(case: Case, reasons: list[str], language: str) -> list[FieldRow]:
    debtor: Debtor | None = case.debtor
    rows = []
    for name, attribute in DEBTOR_ATTRIBUTES.items():
        extracted = next(
            (row for invoice in case.invoices for row in invoice.fields if row.name == name), None
        )
        value = _shown(getattr(debtor, attribute)) if debtor is not None else ""
        if name == "debtor_name" and value == "?":
            value = ""  # what intake stores when the document names nobody
        rows.append(_row(name, f"debtor-{name}", value, extracted, reasons, language))
    return rows


def _row(
    name: str,
    input_name: str,
    value: str,
    extracted: InvoiceField | None,
    reasons: list[str],
    language: str,
) -> FieldRow:
    if extracted is None:
        return FieldRow(name=name, input_name=input_name, value=value)
    by_staff = extracted.source == STAFF_SOURCE
    low = not by_staff and (extracted.confidence < LOW_CONFIDENCE or f"doubtful:{name}" in reasons)
    return FieldRow(
        name=name,
        input_name=input_name,
        value=value,
        raw=extracted.raw,
        source=extracted.source,
        confidence=format_percent(extracted.confidence, "0%", locale=LOCALES[language]),
        low=low,
        by_staff=by_staff,
    )


def _shown(value: object) -> str:
    """Return a stored value as the input shows it: ISO dates, amounts like 1222,10."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}".replace(".", ",")
    return str(value)


def _documents(case: Case) -> list[Document]:
    seen: dict[int, Document] = {}
    for invoice in case.invoices:
        if invoice.document is not None:
            seen.setdefault(invoice.document.id, invoice.document)
    return list(seen.values())


def _inbound_messages(session: Session, case: Case) -> list[MailMessage]:
    return list(
        session.scalars(
            select(MailMessage)
            .where(MailMessage.case_id == case.id, MailMessage.direction == Direction.INBOUND)
            .order_by(MailMessage.id)
            .limit(MAX_MESSAGES)
        )
    )


def _open_draft_items(session: Session, case: Case) -> list[ReviewItem]:
    return list(
        session.scalars(
            select(ReviewItem)
            .where(
                ReviewItem.case_id == case.id,
                ReviewItem.kind == ReviewKind.DRAFT,
                ReviewItem.status == ReviewStatus.OPEN,
            )
            .order_by(ReviewItem.id)
        )
    )


def _find(session: Session, reference: str) -> Case:
    case = find_case(session, reference)
    if case is None:
        raise HTTPException(status_code=404, detail=f"no case with reference {reference}")
    return case


def _translated(error: DraftError, staff: Staff) -> str:
    return error.translated(_gettext(staff))


def _flash_refusal(request: Request, error: DraftError, staff: Staff) -> None:
    """Keep ``error`` for the next page, with the problems of an incomplete draft translated.

    ``flash`` translates the sentence and its catalog words when the notice is
    shown, but not the nested problems, so those are translated here.
    """
    values: dict[str, object] = dict(error.values)
    if isinstance(error, DraftIncomplete):
        gettext = _gettext(staff)
        values["problems"] = "; ".join(problem.translated(gettext) for problem in error.problems)
    flash(request, error.template, level="error", **values)


def _gettext(staff: Staff) -> Callable[[str], str]:
    return translations(staff.language).gettext


def _draft_url(reference: str) -> str:
    return "/drafts/" + quote(reference, safe="")


def _case_url(reference: str) -> str:
    return "/cases/" + quote(reference, safe="")
