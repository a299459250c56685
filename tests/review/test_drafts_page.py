"""The draft review page: a mailed PDF invoice beside its fields, corrected and approved."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import timedelta

from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import select

from incasso.app.context import Application
from incasso.cases.ladder import CloseReason, LadderStep
from incasso.i18n import format_local_time, translations
from incasso.review.labels import field_label, reason_label, step_label
from incasso.store.db import transaction
from incasso.store.models import (
    Case,
    CaseStatus,
    Invoice,
    InvoiceField,
    MailMessage,
    ReviewItem,
    ReviewStatus,
)
from tests.cases.test_drafts import creditor, not_yet_due, submit, without_email
from tests.factories.invoice_pdf import example_spec
from tests.intake.test_process import mail, take_in
from tests.review.conftest import StaffClient, WebServer, screenshot

__all__ = ["creditor"]  # the fixture, shared with the domain tests

EMAIL = "jan.peeters@home.example"
# els reads the pages in Dutch.
DUTCH = translations("nl").gettext


def case_row(app: Application, reference: str) -> Case:
    with transaction(app.factory) as session:
        case = session.scalar(select(Case).where(Case.reference == reference))
        assert case is not None
        session.expunge(case)
        return case


def document_id(app: Application, reference: str) -> int:
    with transaction(app.factory) as session:
        invoice = session.scalar(
            select(Invoice).join(Case).where(Case.reference == reference).limit(1)
        )
        assert invoice is not None and invoice.document_id is not None
        return invoice.document_id


def test_browser_correct_and_approve_draft(
    app: Application, creditor: str, web: WebServer, signed_in: Page
) -> None:
    reference = submit(app, creditor, without_email())
    page = signed_in

    page.goto(f"{web.base_url}/drafts/{reference}")

    expect(page.locator("#draft-reasons")).to_contain_text(
        reason_label("missing:debtor_email", DUTCH)
    )
    image = page.locator("img.document-page").first
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") > 500
    amount_row = page.locator("#draft-fields-form tr.field-amount_due")
    expect(amount_row.locator("mark")).to_contain_text("1.222,10")
    expect(amount_row.locator("td.confidence")).to_contain_text("%")
    email_input = page.get_by_label(field_label("debtor_email", DUTCH), exact=True)
    expect(email_input).to_have_value("")

    email_input.fill(EMAIL)
    screenshot(page, "draft-review.png")
    page.locator("#save-fields").click()
    expect(page.locator("#draft-ready")).to_be_visible()
    expect(page.locator("#row-debtor-debtor_email")).to_contain_text(DUTCH("corrected by staff"))
    expect(page.locator("#draft-reasons li.reason-done")).to_have_count(1)

    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.keyboard.press("a")  # approve, after the question
    page.wait_for_url(f"**/cases/{reference}")
    assert reference in questions[0]

    case = case_row(app, reference)
    delay = timedelta(minutes=app.settings.scheduler.first_reminder_delay_minutes)
    assert case.status == CaseStatus.ACTIVE
    assert case.next_step == LadderStep.FIRST_REMINDER
    assert case.next_step_due_at == app.clock() + delay
    notice = page.locator(".notice").first
    expect(notice).to_contain_text(reference)
    expect(notice).to_contain_text(format_local_time(case.next_step_due_at))
    expect(page.locator("main")).to_contain_text(step_label("first_reminder", DUTCH))


def test_unclear_date_keeps_typed_values(
    app: Application, creditor: str, client: StaffClient
) -> None:
    reference = submit(app, creditor, without_email())
    invoice_id = case_invoice_id(app, reference)
    field = f"invoice-{invoice_id}-due_date"

    response = client.post_form(
        f"/drafts/{reference}/fields", {field: "31/02/2026", "debtor-debtor_email": EMAIL}
    )

    assert response.status_code == 422
    assert 'role="alert"' in response.text
    assert "31/02/2026" in response.text
    assert re.search(rf'id="input-{field}"[^>]*aria-invalid="true"', response.text)
    case = case_row(app, reference)
    assert case.debtor_id is not None
    with transaction(app.factory) as session:
        row = session.get_one(Case, case.id)
        assert row.debtor is not None and row.debtor.email is None  # nothing was saved


def case_invoice_id(app: Application, reference: str) -> int:
    with transaction(app.factory) as session:
        invoice = session.scalar(select(Invoice).join(Case).where(Case.reference == reference))
        assert invoice is not None
        return invoice.id


def test_approval_refusal_is_translated(
    app: Application, creditor: str, client: StaffClient
) -> None:
    reference = submit(app, creditor, without_email())

    response = client.post_form(f"/drafts/{reference}/approve")

    assert response.status_code == 422
    assert DUTCH("debtor e-mail") != "debtor e-mail"  # the catalog has the word
    alert = re.search(r'id="draft-refusal">([^<]*)<', response.text)
    assert alert is not None and DUTCH("debtor e-mail") in alert.group(1)
    assert case_row(app, reference).status == CaseStatus.DRAFT


def test_low_confidence_is_marked(app: Application, creditor: str, client: StaffClient) -> None:
    reference = submit(app, creditor, without_email())
    invoice_id = case_invoice_id(app, reference)
    with transaction(app.factory) as session:
        field = session.scalar(
            select(InvoiceField).where(
                InvoiceField.invoice_id == invoice_id, InvoiceField.name == "due_date"
            )
        )
        assert field is not None
        field.confidence = 0.55

    response = client.get(f"/drafts/{reference}")

    assert response.status_code == 200
    row = re.search(
        rf'<tr id="row-invoice-{invoice_id}-due_date" class="([^"]*)">(.*?)</tr>',
        response.text,
        re.DOTALL,
    )
    assert row is not None
    assert "field-low" in row.group(1)
    assert "55%" in row.group(2)
    assert "<mark>14-10-2026</mark>" in row.group(2)
    number_row = re.search(
        rf'<tr id="row-invoice-{invoice_id}-invoice_number" class="([^"]*)"', response.text
    )
    assert number_row is not None and "field-low" not in number_row.group(1)


def test_reject_closes_draft(app: Application, creditor: str, client: StaffClient) -> None:
    reference = submit(app, creditor, without_email())

    refused = client.post_form(f"/drafts/{reference}/reject", {"reason": "  "})
    response = client.post_form(
        f"/drafts/{reference}/reject", {"reason": "Al betaald bij de schuldeiser"}
    )

    assert refused.status_code == 422
    assert response.status_code == 303
    case = case_row(app, reference)
    assert (case.status, case.close_reason) == (CaseStatus.CLOSED, CloseReason.REJECTED)
    with transaction(app.factory) as session:
        items = session.scalars(select(ReviewItem).where(ReviewItem.case_id == case.id))
        assert [item.status for item in items] == [ReviewStatus.RESOLVED]
    assert client.get(f"/drafts/{reference}", follow_redirects=False).status_code == 303


def test_merge_refuses_another_debtor_page(
    app: Application, creditor: str, client: StaffClient
) -> None:
    spec = example_spec("nl")
    target = submit(app, creditor, spec)
    other = replace(spec.customer, name="Sofie Wouters", email="sofie.wouters@home.example")
    draft = submit(app, creditor, not_yet_due(replace(spec, customer=other), "2026-0414"))

    response = client.post_form(f"/drafts/{draft}/merge", {"target": target})

    assert response.status_code == 422
    assert "Sofie Wouters" in response.text
    assert f'value="{target}"' in response.text
    assert case_row(app, draft).status == CaseStatus.DRAFT
    with transaction(app.factory) as session:
        numbers = session.scalars(
            select(Invoice.number).join(Case).where(Case.reference == target)
        ).all()
        assert numbers == [spec.number]


def test_pdf_page_is_a_png_image(app: Application, creditor: str, client: StaffClient) -> None:
    reference = submit(app, creditor, without_email())
    document = document_id(app, reference)

    response = client.get(f"/documents/{document}/page/1.png")
    missing = client.get(f"/documents/{document}/page/2.png")

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"
    assert image.height > image.width > 500  # an A4 page, upright
    assert missing.status_code == 404


def test_document_image_needs_sign_in(
    app: Application, creditor: str, anonymous: StaffClient
) -> None:
    reference = submit(app, creditor, without_email())
    document = document_id(app, reference)

    response = anonymous.get(f"/documents/{document}/page/1.png", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in")
    assert response.headers.get("content-type") != "image/png"


def test_document_of_no_case_is_not_served(app: Application, client: StaffClient) -> None:
    # Mail from an unknown sender without an invoice: its raw document belongs to no case.
    row_id = take_in(app, mail("someone@unknown.example", body="Hallo"))
    with transaction(app.factory) as session:
        raw_document = session.get_one(MailMessage, row_id).raw_document_id

    response = client.get(f"/documents/{raw_document}/page/1.png")

    assert response.status_code == 404


def test_creditor_is_chosen_on_the_page(
    app: Application, creditor: str, client: StaffClient
) -> None:
    reference = submit(
        app, "boekhouding@onbekend.example", replace(example_spec("nl"), number="F-77")
    )
    page = client.get(f"/drafts/{reference}").text
    assert '<option value="VANDAMME"' in page

    unknown = client.post_form(f"/drafts/{reference}/creditor", {"creditor": "NIEMAND"})
    chosen = client.post_form(f"/drafts/{reference}/creditor", {"creditor": "VANDAMME"})

    assert unknown.status_code == 422
    assert chosen.status_code == 303
    case = case_row(app, reference)
    assert case.creditor_id is not None


def test_amount_is_shown_the_belgian_way(
    app: Application, creditor: str, client: StaffClient
) -> None:
    reference = submit(app, creditor, without_email())
    with transaction(app.factory) as session:
        amount = session.scalars(
            select(Invoice.amount_due).join(Case).where(Case.reference == reference)
        ).one()
    assert amount is not None

    page = client.get(f"/drafts/{reference}").text

    assert f'value="{amount:.2f}"'.replace(".", ",") in page


def test_approve_is_disabled_while_something_is_missing(
    app: Application, creditor: str, client: StaffClient
) -> None:
    reference = submit(app, creditor, without_email())

    page = client.get(f"/drafts/{reference}").text

    assert '<button type="submit" id="approve" disabled' in page
    assert 'data-shortcut="a"' not in page
