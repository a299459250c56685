"""The case page in real headless Chromium: a case that went through two reminders, paused
with a reason, resumed, given a note and a payment, all through its forms."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import Page
from sqlalchemy import select

from incasso.app.context import Application
from incasso.store.db import transaction
from incasso.store.models import Case, Debtor, Event
from tests.builders import active_case
from tests.conftest import Clock
from tests.review.conftest import WebServer, screenshot

PHONE = "+32470123456"
ADDRESS = "Kerkstraat 12, 9000 Gent"


def case_after_two_reminders(app: Application, clock: Clock) -> str:
    """An active consumer case whose first and second reminders went out by the real ladder."""
    reference = active_case(
        app, debtor_name="Sofie Wouters", phone=PHONE, address=ADDRESS, amount=Decimal("300.00")
    )
    app.jobs.run_dispatch()  # the first reminder
    app.jobs.run_outbox()
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        assert case.next_step == "second_reminder"
        assert case.next_step_due_at is not None
        clock.now = case.next_step_due_at
    app.jobs.run_dispatch()  # the second reminder, with the consumer's flat damages
    app.jobs.run_outbox()
    return reference


def stored(app: Application, reference: str) -> tuple[str, str | None, Decimal, list[str]]:
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        kinds = session.scalars(
            select(Event.kind).where(Event.case_id == case.id).order_by(Event.id)
        ).all()
        return case.status, case.hold_reason, case.amount_paid, list(kinds)


def test_case_page_pause_resume_note_payment(
    app: Application, clock: Clock, web: WebServer, signed_in: Page
) -> None:
    reference = case_after_two_reminders(app, clock)
    page = signed_in

    page.goto(f"{web.base_url}/cases/{reference}")

    assert reference in page.locator("h1").inner_text()
    assert page.locator("#case-status").inner_text() == "actief"
    assert page.locator("#debtor-name").inner_text() == "Sofie Wouters"
    past = page.locator("ol.ladder li.past")
    assert past.count() == 2
    assert "eerste herinnering" in past.nth(0).inner_text()
    assert page.locator("#next-step").get_attribute("data-step") == "third_reminder"
    # The second reminder added the consumer's flat damages to the claim.
    assert page.locator("#amount-claimed").inner_text().endswith("€\u00a0345,00")
    # Each reminder sent is in the timeline with a link to its message.
    assert page.locator("#timeline a[href^='/messages/']").count() >= 2

    page.locator("#pause-reason").select_option("disputed")
    page.locator("#pause-note").fill("Betwist de kwaliteit van de levering")
    page.locator("#pause-button").click()

    page.wait_for_selector("#case-status[data-status='paused']")
    assert page.locator("#case-status").inner_text() == "gepauzeerd"
    assert "betwist" in page.locator("#hold").inner_text()
    assert stored(app, reference)[:2] == ("paused", "disputed")
    newest = page.locator("#timeline tbody tr").first
    assert newest.get_attribute("data-kind") == "case_paused"
    assert "Betwist de kwaliteit van de levering" in newest.inner_text()
    assert "els" in newest.inner_text()

    page.locator("#resume-button").click()

    page.wait_for_selector("#case-status[data-status='active']")
    assert stored(app, reference)[:2] == ("active", None)

    page.keyboard.press("n")
    assert page.evaluate("document.activeElement.id") == "note-text"
    page.keyboard.type("Schuldenaar belt vrijdag terug.")
    page.locator("#note-button").click()

    page.wait_for_selector("#timeline tbody tr[data-kind='note_added']")
    newest = page.locator("#timeline tbody tr").first
    assert newest.get_attribute("data-kind") == "note_added"
    assert "Schuldenaar belt vrijdag terug." in newest.inner_text()

    page.locator("#payment-amount").fill("45,00")
    page.locator("#payment-button").click()

    page.wait_for_selector("#timeline tbody tr[data-kind='payment_recorded']")
    assert page.locator("#amount-paid").inner_text().endswith("€\u00a045,00")
    assert page.locator("#amount-open").inner_text().endswith("€\u00a0300,00")
    status, _hold, paid, kinds = stored(app, reference)
    assert (status, paid) == ("active", Decimal("45.00"))
    assert kinds[-4:] == ["case_paused", "case_resumed", "note_added", "payment_recorded"]
    screenshot(page, "case.png")


def test_close_asks_for_confirmation(
    app: Application, clock: Clock, web: WebServer, signed_in: Page
) -> None:
    reference = active_case(app)
    page = signed_in
    page.goto(f"{web.base_url}/cases/{reference}")
    questions: list[str] = []

    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.locator("#close-button").click()

    assert questions and reference in questions[0]
    assert stored(app, reference)[0] == "active"

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#close-reason").select_option("withdrawn")
    page.locator("#close-button").click()

    page.wait_for_selector("#case-status[data-status='closed']")
    assert "ingetrokken" in page.locator("#closed").inner_text()
    assert stored(app, reference)[0] == "closed"
    assert page.locator("#pause-form").count() == 0


def test_case_page_marks_bounced_address(
    app: Application, clock: Clock, web: WebServer, signed_in: Page
) -> None:
    reference = active_case(app, email="sofie@oud-adres.example")
    with transaction(app.factory) as session:
        debtor = session.scalars(
            select(Debtor).where(Debtor.email == "sofie@oud-adres.example")
        ).one()
        debtor.email_failed_at = clock.now
        debtor.email_failure = "5.1.1 user unknown"

    signed_in.goto(f"{web.base_url}/cases/{reference}")

    mark = signed_in.locator("#email-bounced")
    assert mark.is_visible()
    assert mark.get_attribute("title") == "5.1.1 user unknown"
