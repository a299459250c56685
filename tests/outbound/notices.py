"""Invented agency, creditor, debtor and invoices that the notice tests build on."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from markupsafe import escape
from stdnum.be import vat as enterprise_numbers

from incasso.cases.charges import ChargeKind, ChargeLine
from incasso.cases.ladder import LadderStep
from incasso.cases.law import Channel, DebtorKind, make_ogm
from incasso.outbound.notice import AgencyIdentity, Identity, Notice, NoticeInvoice
from incasso.outbound.render import RenderedMessage

NBSP = "\u00a0"
NARROW_NBSP = "\u202f"


def enterprise_number(body: int) -> str:
    """Return an invented, checksum-valid enterprise number starting with 0."""
    first_eight = f"0{body:07d}"
    number = first_eight + f"{97 - int(first_eight) % 97:02d}"
    return enterprise_numbers.validate(number)


CREDITOR_NUMBER = enterprise_number(4_321_876)
AGENCY_NUMBER = enterprise_number(7_654_321)
CREDITOR_NUMBER_PRINTED = f"{CREDITOR_NUMBER[:4]}.{CREDITOR_NUMBER[4:7]}.{CREDITOR_NUMBER[7:]}"
AGENCY_NUMBER_PRINTED = f"{AGENCY_NUMBER[:4]}.{AGENCY_NUMBER[4:7]}.{AGENCY_NUMBER[7:]}"
OGM = make_ogm(2026000017)
OGM_PRINTED = "+++202/6000/01711+++"

AGENCY = AgencyIdentity(
    name="Invorderkantoor Zilvermeeuw BV",
    enterprise_number=AGENCY_NUMBER,
    address="Voorbeeldlaan 10, 9000 Gent",
    phone="+32 9 000 00 00",
    email="dossiers@zilvermeeuw.test",
    website="https://zilvermeeuw.test",
    iban="BE71096123456769",
    bic="GKCCBEBB",
)
CREDITOR = Identity(
    name="Bakkerij De Kruimel",
    enterprise_number=CREDITOR_NUMBER,
    address="Kerkstraat 1, 2000 Antwerpen",
    phone="+32 3 111 11 11",
    email="boekhouding@kruimel.example",
)
INVOICES = [
    NoticeInvoice(
        number="F-2026-0412",
        issue_date=date(2026, 3, 2),
        due_date=date(2026, 4, 1),
        amount=Decimal("1234.56"),
        description="Taarten voor een communiefeest",
    ),
    NoticeInvoice(
        number="F-2026-0415",
        issue_date=None,
        due_date=date(2026, 4, 5),
        amount=Decimal("65.44"),
        description=None,
    ),
]
DEBTOR_ADDRESS = "Jan Peeters\nMolenstraat 12 bus 3\n9000 Gent"

# Charges as the law functions make them for a business debtor on 2026-05-18.
BUSINESS_CHARGES = (
    ChargeLine(
        kind=ChargeKind.FIXED_COMPENSATION,
        amount=Decimal("40.00"),
        invoice_number="F-2026-0412",
        basis=Decimal("1234.56"),
    ),
    ChargeLine(
        kind=ChargeKind.INTEREST,
        amount=Decimal("16.70"),
        invoice_number="F-2026-0412",
        basis=Decimal("1234.56"),
        percent=Decimal("10.50"),
        rate_id=1,
        period_start=date(2026, 4, 2),
        period_end=date(2026, 5, 18),
    ),
)
CONSUMER_DAMAGES = (ChargeLine(kind=ChargeKind.DAMAGES, amount=Decimal("105.00")),)


def make_notice(**changes: object) -> Notice:
    notice = Notice(
        step=LadderStep.FIRST_REMINDER,
        case_reference="2026-00017",
        payment_reference=OGM,
        agency=AGENCY,
        creditor=CREDITOR,
        debtor_name="Jan Peeters",
        debtor_kind=DebtorKind.CONSUMER,
        invoices=INVOICES,
        currency="EUR",
        sent_on=date(2026, 5, 4),
        channel=Channel.EMAIL,
        language="nl",
        debtor_address=DEBTOR_ADDRESS,
    )
    return dataclasses.replace(notice, **changes)  # type: ignore[arg-type]


def assert_in_both(message: RenderedMessage, phrase: str) -> None:
    """Assert ``phrase`` is in the text part, and in the HTML part escaped or as written.

    Jinja escapes the values a template prints but not the translated text
    around them, so an apostrophe of a translation stays as it is in HTML.
    """
    assert phrase in message.text, f"{phrase!r} missing from the text part"
    in_html = str(escape(phrase)) in message.html or phrase in message.html
    assert in_html, f"{phrase!r} missing from the HTML part"
