"""Building store rows directly, for tests whose subject is not intake."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from incasso.app.context import Application
from incasso.cases.creditors import NewCreditor, register_creditor
from incasso.cases.lifecycle import activate_case, open_case
from incasso.store.db import transaction
from incasso.store.models import Creditor, Debtor, Invoice

CREDITOR = NewCreditor(
    code="ACME",
    name="Acme Verwarming BV",
    enterprise_number="0812345603",
    language="nl",
    address="Stationsstraat 4, 9000 Gent",
    phone="+32 9 222 33 44",
    email="boekhouding@acme.example",
    senders=("@acme.example",),
)


def active_case(
    app: Application,
    *,
    debtor_name: str = "An Janssens",
    email: str = "an.janssens@home.example",
    language: str = "nl",
    amount: Decimal = Decimal("250.00"),
    delay: timedelta = timedelta(0),
    kind: str = "consumer",
    phone: str | None = None,
    address: str | None = None,
    enterprise_number: str | None = None,
) -> str:
    """Create an active case with one overdue invoice and return its reference."""
    now = app.clock()
    with transaction(app.factory) as session:
        creditor = session.scalar(select(Creditor).where(Creditor.code == CREDITOR.code))
        if creditor is None:
            creditor = register_creditor(session, CREDITOR)
        debtor = Debtor(
            name=debtor_name,
            email=email,
            kind=kind,
            language=language,
            phone=phone,
            address=address,
            enterprise_number=enterprise_number,
        )
        case = open_case(
            session, creditor=creditor, debtor=debtor, language=language, currency="EUR", now=now
        )
        session.add(
            Invoice(
                case=case,
                creditor_id=creditor.id,
                kind="invoice",
                number=f"F-{case.reference}",
                issue_date=date(2026, 9, 1),
                due_date=date(2026, 10, 1),
                amount_due=amount,
                currency="EUR",
            )
        )
        activate_case(session, case, now=now, first_reminder_delay=delay)
        return case.reference
