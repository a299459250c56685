"""Staff reviewing drafts made from mailed PDF invoices: correct, approve, reject, merge."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from email.message import EmailMessage

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from incasso.app.context import Application
from incasso.cases.creditors import NewCreditor, register_creditor
from incasso.cases.drafts import (
    DraftError,
    DraftIncomplete,
    UnclearValue,
    approve_draft,
    assign_creditor,
    correct_field,
    merge_draft,
    parse_amount,
    parse_day,
    reject_draft,
)
from incasso.cases.ladder import CloseReason, LadderStep
from incasso.cases.lifecycle import EventKind
from incasso.intake.extract.model import FieldName
from incasso.intake.receive import Envelope, receive
from incasso.store.db import transaction
from incasso.store.models import (
    Case,
    CaseStatus,
    Channel,
    Invoice,
    MailMessage,
    ReviewItem,
    ReviewStatus,
)
from tests.conftest import Clock
from tests.factories.invoice_pdf import InvoiceSpec, example_spec, make_invoice_pdf

STAFF = "els"
DELAY = timedelta(hours=2)
RELAYED = Envelope(peer="127.0.0.1:40000", helo="mx.incasso.test")


@pytest.fixture
def creditor(app: Application) -> str:
    """Register the creditor of the example invoices; return the address it mails from."""
    return register_example_creditor(app, by_sender=True)


def register_example_creditor(app: Application, *, by_sender: bool) -> str:
    """Register VANDAMME, the issuer of the example invoices, known by its domain or not."""
    party = example_spec("nl").creditor
    with transaction(app.factory) as session:
        register_creditor(
            session,
            NewCreditor(
                code="VANDAMME",
                name=party.name,
                enterprise_number=party.vat,
                language="nl",
                address=f"{party.street}, {party.postcode} {party.city}",
                phone="+32 9 123 45 67",
                email=party.email,
                senders=(party.email.partition("@")[2],) if by_sender else (),
            ),
        )
    return str(party.email)


def submit(app: Application, sender: str, spec: InvoiceSpec) -> str:
    """Mail ``spec`` as a PDF from ``sender``, run intake, and return the reference of its case."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "intake@incasso.test"
    message["Subject"] = f"Onbetaalde factuur {spec.number}"
    message.set_content("Zie bijlage.")
    pdf = make_invoice_pdf(spec)
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename="factuur.pdf")
    receive(app.factory, app.rawstore, message.as_bytes(), channel=Channel.SMTP, envelope=RELAYED)
    app.jobs.run_intake()

    with transaction(app.factory) as session:
        invoice = session.scalar(select(Invoice).where(Invoice.number == spec.number))
        assert invoice is not None, spec.number
        return invoice.case.reference


def without_email() -> InvoiceSpec:
    spec = example_spec("nl")
    return replace(spec, customer=replace(spec.customer, email=None))


def not_yet_due(spec: InvoiceSpec, number: str) -> InvoiceSpec:
    """``spec`` as another invoice, due next month: intake keeps it a draft."""
    return replace(spec, number=number, issue_date=date(2026, 11, 1), due_date=date(2026, 12, 16))


def case_of(session: Session, reference: str) -> Case:
    case = session.scalar(select(Case).where(Case.reference == reference))
    assert case is not None, reference
    return case


def reviews(session: Session, case: Case) -> list[ReviewItem]:
    return list(session.scalars(select(ReviewItem).where(ReviewItem.case_id == case.id)))


def test_corrected_draft_approval_schedules_reminder(
    app: Application, creditor: str, clock: Clock
) -> None:
    reference = submit(app, creditor, without_email())

    with transaction(app.factory) as session:
        case = case_of(session, reference)
        assert case.status == CaseStatus.DRAFT
        (item,) = reviews(session, case)
        assert "missing:debtor_email" in item.reasons
        changed = correct_field(
            session,
            case,
            None,
            "debtor_email",
            " Jan.Peeters@Home.example ",
            actor=STAFF,
            now=clock.now,
        )
        assert changed

    with transaction(app.factory) as session:
        case = case_of(session, reference)
        assert case.debtor is not None
        assert case.debtor.email == "jan.peeters@home.example"
        field = next(f for f in case.invoices[0].fields if f.name == FieldName.DEBTOR_EMAIL)
        assert (field.value, field.source, field.confidence) == (
            "jan.peeters@home.example",
            "staff",
            1.0,
        )
        event = case.events[-1]
        assert (event.kind, event.actor) == (EventKind.FIELD_CORRECTED, STAFF)
        assert event.detail["old"] is None
        assert event.detail["new"] == "jan.peeters@home.example"
        (item,) = reviews(session, case)
        assert "missing:debtor_email" not in item.reasons

        approve_draft(session, case, actor=STAFF, now=clock.now, first_reminder_delay=DELAY)

    with transaction(app.factory) as session:
        case = case_of(session, reference)
        assert case.status == CaseStatus.ACTIVE
        assert case.next_step == LadderStep.FIRST_REMINDER
        assert case.next_step_due_at == clock.now + DELAY
        kinds = [(event.kind, event.actor) for event in case.events[-2:]]
        assert kinds == [(EventKind.DRAFT_APPROVED, STAFF), (EventKind.CASE_ACTIVATED, "system")]
        (item,) = reviews(session, case)
        assert (item.status, item.resolved_at) == (ReviewStatus.RESOLVED, clock.now)


def test_approval_refused_with_missing_field(app: Application, creditor: str, clock: Clock) -> None:
    reference = submit(app, creditor, without_email())

    with transaction(app.factory) as session:
        case = case_of(session, reference)
        with pytest.raises(DraftIncomplete, match="debtor e-mail is missing") as caught:
            approve_draft(session, case, actor=STAFF, now=clock.now, first_reminder_delay=DELAY)
        assert reference in str(caught.value)

    with transaction(app.factory) as session:
        case = case_of(session, reference)
        assert case.status == CaseStatus.DRAFT
        assert case.next_step is None
        assert all(item.status == ReviewStatus.OPEN for item in reviews(session, case))


def test_not_yet_due_approved_after_date_fix(app: Application, creditor: str, clock: Clock) -> None:
    today = clock.now.date()
    spec = example_spec("nl", issue_date=today, due_date=today + timedelta(days=30))
    reference = submit(app, creditor, spec)

    with transaction(app.factory) as session:
        case = case_of(session, reference)
        with pytest.raises(DraftIncomplete, match="due on 2026-12-16 only"):
            approve_draft(session, case, actor=STAFF, now=clock.now, first_reminder_delay=DELAY)
        with pytest.raises(UnclearValue, match="comes before the invoice date"):
            correct_field(session, case, None, "due_date", "01/11/2026", actor=STAFF, now=clock.now)

        correct_field(session, case, None, "issue_date", "01/10/2026", actor=STAFF, now=clock.now)
        correct_field(session, case, None, "due_date", "01/11/2026", actor=STAFF, now=clock.now)
        assert case.invoices[0].due_date == date(2026, 11, 1)
        (item,) = reviews(session, case)
        assert "not_yet_due" not in item.reasons
        approve_draft(session, case, actor=STAFF, now=clock.now, first_reminder_delay=DELAY)

    with transaction(app.factory) as session:
        assert case_of(session, reference).status == CaseStatus.ACTIVE


def test_amount_and_currency_read_strictly(app: Application, creditor: str, clock: Clock) -> None:
    reference = submit(app, creditor, without_email())

    with transaction(app.factory) as session:
        case = case_of(session, reference)
        correct_field(session, case, None, "amount_due", "1.245,80", actor=STAFF, now=clock.now)
        with pytest.raises(UnclearValue, match=r"Amount 1,000\.50 is unclear"):
            correct_field(session, case, None, "amount_due", "1,000.50", actor=STAFF, now=clock.now)
        with pytest.raises(UnclearValue, match="leaves nothing to collect"):
            correct_field(session, case, None, "amount_due", "0,00", actor=STAFF, now=clock.now)
        with pytest.raises(UnclearValue, match="three-letter code"):
            correct_field(session, case, None, "currency", "euro", actor=STAFF, now=clock.now)
        correct_field(session, case, None, "currency", "usd", actor=STAFF, now=clock.now)

    with transaction(app.factory) as session:
        case = case_of(session, reference)
        invoice = case.invoices[0]
        assert (invoice.amount_due, invoice.currency, case.currency) == (
            Decimal("1245.80"),
            "USD",
            "USD",
        )
        corrected = [
            event.detail["field"] for event in case.events if event.kind == "field_corrected"
        ]
        assert corrected == ["amount_due", "currency"]


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-10-14", date(2026, 10, 14)),
        ("14/10/2026", date(2026, 10, 14)),
        ("4/3/2026", date(2026, 3, 4)),
    ],
)
def test_dates_in_both_forms(text: str, day: date) -> None:
    assert parse_day(text) == day


@pytest.mark.parametrize(
    "text", ["2026-13-01", "31/02/2026", "14-10-2026", "20261014", "morgen", ""]
)
def test_unclear_dates_are_refused(text: str) -> None:
    with pytest.raises(UnclearValue, match="YYYY-MM-DD or DD/MM/YYYY"):
        parse_day(text)


def test_amount_forms() -> None:
    assert parse_amount("€ 1.245,80") == Decimal("1245.80")
    assert parse_amount("612.4") == Decimal("612.40")
    with pytest.raises(UnclearValue):
        parse_amount("1.245")


def test_duplicate_invoice_number_refused(app: Application, creditor: str, clock: Clock) -> None:
    active = submit(app, creditor, example_spec("nl"))
    draft = submit(app, creditor, replace(without_email(), number="2026-0413"))

    with transaction(app.factory) as session:
        case = case_of(session, draft)
        with pytest.raises(DraftError, match=f"already on case {active}"):
            correct_field(
                session, case, None, "invoice_number", "2026-0412", actor=STAFF, now=clock.now
            )
        with pytest.raises(DraftError, match="cannot be corrected"):
            correct_field(
                session, case, None, "seller_vat", "BE0123456749", actor=STAFF, now=clock.now
            )


def test_shared_debtor_correction_copies_debtor(
    app: Application, creditor: str, clock: Clock
) -> None:
    spec = example_spec("nl")
    active = submit(app, creditor, spec)
    draft = submit(app, creditor, not_yet_due(spec, "2026-0413"))

    with transaction(app.factory) as session:
        draft_case = case_of(session, draft)
        active_case = case_of(session, active)
        assert draft_case.debtor_id == active_case.debtor_id
        correct_field(
            session,
            draft_case,
            None,
            "debtor_name",
            "Jan Peeters-De Smet",
            actor=STAFF,
            now=clock.now,
        )

    with transaction(app.factory) as session:
        draft_case = case_of(session, draft)
        active_case = case_of(session, active)
        assert draft_case.debtor_id != active_case.debtor_id
        assert draft_case.debtor is not None and active_case.debtor is not None
        assert draft_case.debtor.name == "Jan Peeters-De Smet"
        assert active_case.debtor.name == spec.customer.name


def test_reject_closes_draft_keeps_invoice(app: Application, creditor: str, clock: Clock) -> None:
    reference = submit(app, creditor, without_email())

    with transaction(app.factory) as session:
        case = case_of(session, reference)
        with pytest.raises(DraftError, match="Give a reason"):
            reject_draft(session, case, "  ", actor=STAFF, now=clock.now)
        reject_draft(
            session, case, "Factuur al betaald volgens de schuldeiser", actor=STAFF, now=clock.now
        )

    with transaction(app.factory) as session:
        case = case_of(session, reference)
        assert (case.status, case.close_reason) == (CaseStatus.CLOSED, CloseReason.REJECTED)
        assert len(case.invoices) == 1
        rejected = next(event for event in case.events if event.kind == EventKind.DRAFT_REJECTED)
        assert rejected.actor == STAFF
        assert rejected.detail == {"reason": "Factuur al betaald volgens de schuldeiser"}
        assert [item.status for item in reviews(session, case)] == [ReviewStatus.RESOLVED]
        with pytest.raises(DraftError, match="not a draft"):
            approve_draft(session, case, actor=STAFF, now=clock.now, first_reminder_delay=DELAY)


def test_merge_moves_invoices_and_mail(app: Application, creditor: str, clock: Clock) -> None:
    spec = example_spec("nl")
    target = submit(app, creditor, spec)
    draft = submit(app, creditor, not_yet_due(spec, "2026-0413"))

    with transaction(app.factory) as session:
        draft_case = case_of(session, draft)
        with pytest.raises(DraftIncomplete, match="due on 2026-12-16 only"):
            merge_draft(session, draft_case, target, actor=STAFF, now=clock.now)
    with transaction(app.factory) as session:
        draft_case = case_of(session, draft)
        correct_field(
            session, draft_case, None, "due_date", "2026-11-15", actor=STAFF, now=clock.now
        )
        merge_draft(session, draft_case, f" {target} ", actor=STAFF, now=clock.now)

    with transaction(app.factory) as session:
        draft_case = case_of(session, draft)
        target_case = case_of(session, target)
        assert (draft_case.status, draft_case.close_reason) == (
            CaseStatus.CLOSED,
            CloseReason.MERGED,
        )
        assert draft_case.invoices == []
        assert [i.number for i in target_case.invoices] == ["2026-0412", "2026-0413"]
        assert target_case.status == CaseStatus.ACTIVE
        messages = session.scalars(
            select(MailMessage.case_id).where(MailMessage.case_id.is_not(None))
        )
        assert set(messages) == {target_case.id}
        merged = next(e for e in draft_case.events if e.kind == EventKind.DRAFT_MERGED)
        assert merged.detail == {"into": target, "invoices": ["2026-0413"]}
        received = target_case.events[-1]
        assert (received.kind, received.actor) == (EventKind.INVOICES_MERGED, STAFF)
        assert received.detail == {"from": draft, "invoices": ["2026-0413"]}
        assert [item.status for item in reviews(session, draft_case)] == [ReviewStatus.RESOLVED]


def test_merge_refuses_another_debtor(app: Application, creditor: str, clock: Clock) -> None:
    spec = example_spec("nl")
    target = submit(app, creditor, spec)
    other = replace(spec.customer, name="Sofie Wouters", email="sofie.wouters@home.example")
    draft = submit(app, creditor, not_yet_due(replace(spec, customer=other), "2026-0414"))

    with transaction(app.factory) as session:
        draft_case = case_of(session, draft)
        with pytest.raises(DraftError, match="different debtors are never merged"):
            merge_draft(session, draft_case, target, actor=STAFF, now=clock.now)
        with pytest.raises(DraftError, match="not found"):
            merge_draft(session, draft_case, "2026-99999", actor=STAFF, now=clock.now)
        with pytest.raises(DraftError, match="into itself"):
            merge_draft(session, draft_case, draft, actor=STAFF, now=clock.now)

    with transaction(app.factory) as session:
        assert case_of(session, draft).status == CaseStatus.DRAFT
        assert len(case_of(session, draft).invoices) == 1
        assert len(case_of(session, target).invoices) == 1


def test_creditor_chosen_on_a_draft_from_an_unknown_sender(app: Application, clock: Clock) -> None:
    reference = submit(app, "boekhouding@onbekend.example", example_spec("nl"))
    register_example_creditor(app, by_sender=False)

    with transaction(app.factory) as session:
        case = case_of(session, reference)
        assert "unknown_sender" in reviews(session, case)[0].reasons
        with pytest.raises(DraftError, match="Creditor NIEMAND is not registered"):
            assign_creditor(session, case, "niemand", actor=STAFF, now=clock.now)
        assert assign_creditor(session, case, "vandamme", actor=STAFF, now=clock.now)
        assert not assign_creditor(session, case, "VANDAMME", actor=STAFF, now=clock.now)

    with transaction(app.factory) as session:
        case = case_of(session, reference)
        assert case.creditor is not None and case.creditor.code == "VANDAMME"
        assert all(invoice.creditor_id == case.creditor_id for invoice in case.invoices)
        assert "unknown_sender" not in reviews(session, case)[0].reasons
        approve_draft(session, case, actor=STAFF, now=clock.now, first_reminder_delay=DELAY)
        assert case.status == CaseStatus.ACTIVE


def test_creditor_refused_when_it_has_the_invoice_already(
    app: Application, creditor: str, clock: Clock
) -> None:
    submit(app, creditor, example_spec("nl"))
    submit(app, "boekhouding@onbekend.example", example_spec("nl"))

    with transaction(app.factory) as session:
        draft = session.scalars(select(Case).where(Case.status == CaseStatus.DRAFT)).one()
        with pytest.raises(DraftError, match="already on case"):
            assign_creditor(session, draft, "VANDAMME", actor=STAFF, now=clock.now)
