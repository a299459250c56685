"""The stable JSON form of cases, shared by ``incasso cases --json``, ``incasso case --json``
and the web view.

The forms carry a ``schema`` name with a version (``incasso.case/1``). Within
one version, keys are only ever added, never renamed or removed; see
``docs/json.md`` for every key.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from incasso.cases.law import format_ogm
from incasso.cases.transitions import claimed_total
from incasso.store.models import Case, CaseCharge, Event, Invoice, MailMessage, ReviewItem, Task

ZERO = Decimal("0.00")
CASE_SCHEMA = "incasso.case/1"
CASE_LIST_SCHEMA = "incasso.cases/1"


def find_case(session: Session, reference: str) -> Case | None:
    return session.scalar(select(Case).where(Case.reference == reference.strip()))


def list_cases(session: Session, *, status: str | None = None, limit: int = 500) -> list[Case]:
    """Return the newest cases first, optionally only those with ``status``."""
    query = (
        select(Case)
        .options(
            selectinload(Case.creditor), selectinload(Case.debtor), selectinload(Case.invoices)
        )
        .order_by(Case.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(Case.status == status)
    return list(session.scalars(query))


def balance(case: Case) -> Decimal:
    return sum((invoice.amount_due or Decimal(0) for invoice in case.invoices), Decimal(0))


def case_list_form(cases: list[Case]) -> dict[str, Any]:
    return {"schema": CASE_LIST_SCHEMA, "cases": [case_summary(case) for case in cases]}


def case_summary(case: Case) -> dict[str, Any]:
    """Return the short form of ``case``: one entry of the case list."""
    return {
        "reference": case.reference,
        "status": case.status,
        "structured_communication": format_ogm(case.ogm),
        "creditor": case.creditor.name if case.creditor else None,
        "debtor": case.debtor.name if case.debtor else None,
        "balance": _money(balance(case)),
        "currency": case.currency,
        "next_step": case.next_step,
        "next_step_due_at": _when(case.next_step_due_at),
        "created_at": _when(case.created_at),
    }


def case_form(session: Session, case: Case) -> dict[str, Any]:
    """Return the full form of ``case``: parties, invoices with fields, review, timeline."""
    form = case_summary(case)
    form["schema"] = CASE_SCHEMA
    form["language"] = case.language
    form["creditor"] = _creditor(case)
    form["debtor"] = _debtor(case)
    form["invoices"] = [_invoice(invoice) for invoice in case.invoices]
    form["review"] = [_review(item) for item in _review_items(session, case)]
    form["ladder"] = _ladder(session, case)
    form["charges"] = [_charge(charge) for charge in _charges(session, case)]
    form["tasks"] = [task_form(task) for task in _tasks(session, case)]
    form["timeline"] = [_timeline_entry(event) for event in _events(session, case)]
    return form


def _creditor(case: Case) -> dict[str, Any] | None:
    creditor = case.creditor
    if creditor is None:
        return None
    return {
        "code": creditor.code,
        "name": creditor.name,
        "enterprise_number": creditor.enterprise_number,
    }


def _debtor(case: Case) -> dict[str, Any] | None:
    debtor = case.debtor
    if debtor is None:
        return None
    return {
        "name": debtor.name,
        "email": debtor.email,
        "phone": debtor.phone,
        "enterprise_number": debtor.enterprise_number,
        "kind": debtor.kind,
        "language": debtor.language,
        "address": debtor.address,
        "email_failed_at": _when(debtor.email_failed_at),
    }


def _invoice(invoice: Invoice) -> dict[str, Any]:
    document = invoice.document
    return {
        "number": invoice.number,
        "kind": invoice.kind,
        "issue_date": _day(invoice.issue_date),
        "due_date": _day(invoice.due_date),
        "amount_due": _money(invoice.amount_due),
        "currency": invoice.currency,
        "description": invoice.description,
        "document": (
            {
                "sha256": document.sha256,
                "filename": document.filename,
                "content_type": document.content_type,
            }
            if document
            else None
        ),
        "fields": {
            field.name: {
                "value": field.value,
                "raw": field.raw,
                "source": field.source,
                "confidence": round(field.confidence, 3),
            }
            for field in invoice.fields
        },
    }


def _ladder(session: Session, case: Case) -> dict[str, Any]:
    claimed = claimed_total(session, case)
    return {
        "last_step": case.last_step,
        "last_step_at": _when(case.last_step_at),
        "hold_reason": case.hold_reason,
        "hold_until": _when(case.hold_until),
        "close_reason": case.close_reason,
        "closed_at": _when(case.closed_at),
        "amount_paid": _money(case.amount_paid),
        "claimed": _money(claimed),
        "open": _money(max(claimed - case.amount_paid, Decimal("0.00"))),
        "policy": case.ladder_policy or {},
    }


def _charges(session: Session, case: Case) -> list[CaseCharge]:
    return list(
        session.scalars(
            select(CaseCharge).where(CaseCharge.case_id == case.id).order_by(CaseCharge.id)
        )
    )


def _charge(charge: CaseCharge) -> dict[str, Any]:
    return {
        "step": charge.step,
        "kind": charge.kind,
        "amount": _money(charge.amount),
        "basis": _money(charge.basis),
        "percent": None if charge.percent is None else f"{charge.percent:.2f}",
        "period_start": _day(charge.period_start),
        "period_end": _day(charge.period_end),
    }


def _tasks(session: Session, case: Case) -> list[Task]:
    return list(session.scalars(select(Task).where(Task.case_id == case.id).order_by(Task.id)))


def task_form(task: Task) -> dict[str, Any]:
    """Return the JSON form of one staff task (``incasso tasks --json`` lists these)."""
    return {
        "id": task.id,
        "case": task.case.reference,
        "step": task.step,
        "kind": task.kind,
        "status": task.status,
        "due_at": _when(task.due_at),
        "outcome": task.outcome,
        "note": task.note,
        "completed_by": task.completed_by,
        "completed_at": _when(task.completed_at),
    }


def _review_items(session: Session, case: Case) -> list[ReviewItem]:
    return list(
        session.scalars(
            select(ReviewItem).where(ReviewItem.case_id == case.id).order_by(ReviewItem.id)
        )
    )


def _review(item: ReviewItem) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "status": item.status,
        "reasons": list(item.reasons),
        "detail": item.detail,
        "created_at": _when(item.created_at),
    }


def _events(session: Session, case: Case) -> list[Event]:
    return list(
        session.scalars(
            select(Event)
            .options(selectinload(Event.mail_message))
            .where(Event.case_id == case.id)
            .order_by(Event.occurred_at, Event.id)
        )
    )


def _timeline_entry(event: Event) -> dict[str, Any]:
    message: MailMessage | None = event.mail_message
    return {
        "at": _when(event.occurred_at),
        "kind": event.kind,
        "actor": event.actor,
        "detail": event.detail,
        "message_id": message.message_id if message else None,
        "message": (
            {
                "direction": message.direction,
                "kind": message.kind,
                "subject": message.subject,
                "from": message.from_address,
                "to": message.to_addresses,
                "status": message.status,
            }
            if message
            else None
        ),
    }


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def open_amounts(session: Session, cases: list[Case]) -> dict[int, Decimal]:
    """What is left to pay on each case (principal, last charges, less payments), in two queries."""
    ids = [case.id for case in cases]
    if not ids:
        return {}
    principal: dict[int, Decimal] = defaultdict(lambda: ZERO)
    invoices = select(Invoice.case_id, Invoice.amount_due).where(Invoice.case_id.in_(ids))
    for case_id, amount in session.execute(invoices):
        principal[case_id] += amount or ZERO

    charges = _last_step_charges(session, ids)
    return {
        case.id: max(principal[case.id] + charges[case.id] - (case.amount_paid or ZERO), ZERO)
        for case in cases
    }


def _last_step_charges(session: Session, ids: list[int]) -> dict[int, Decimal]:
    """The sum of the charges of the last step that computed any, per case."""
    query = (
        select(CaseCharge.case_id, CaseCharge.step, CaseCharge.amount)
        .where(CaseCharge.case_id.in_(ids))
        .order_by(CaseCharge.case_id, CaseCharge.id.desc())
    )
    last_step: dict[int, str] = {}
    totals: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for case_id, step, amount in session.execute(query):
        last_step.setdefault(case_id, step)
        if step == last_step[case_id]:
            totals[case_id] += amount
    return totals
