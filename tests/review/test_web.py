"""The case list, sign-in and sign-out, and the language choice, in real headless Chromium."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from playwright.sync_api import Page
from sqlalchemy import select

from incasso.app.context import Application
from incasso.cases.lifecycle import open_case
from incasso.store.db import transaction
from incasso.store.models import Case, Debtor, Invoice, StaffUser
from tests.review.conftest import PASSWORD, StaffClient, WebServer, screenshot, sign_in_page


def add_case(app: Application, debtor_name: str, due_at: datetime | None = None) -> str:
    with transaction(app.factory) as session:
        debtor = Debtor(name=debtor_name, email="jan@debiteur.test", kind="consumer", language="nl")
        case = open_case(
            session,
            creditor=None,
            debtor=debtor,
            language="nl",
            currency="EUR",
            now=datetime(2026, 11, 16, 9, 0, tzinfo=UTC),
        )
        session.add(
            Invoice(
                case=case,
                kind="invoice",
                number="F-1",
                amount_due=Decimal("184.50"),
                currency="EUR",
            )
        )
        case.next_step_due_at = due_at
        return case.reference


def test_case_list_in_dutch(app: Application, web: WebServer, signed_in: Page) -> None:
    reference = add_case(app, "Jan <b>Peeters</b>")

    signed_in.goto(web.base_url + "/cases")

    assert signed_in.locator("h1").inner_text() == "Dossiers"
    row = signed_in.locator(f"tr[data-reference='{reference}']")
    assert "concept" in row.inner_text()
    assert "€\u00a0184,50" in row.inner_text()  # babel puts a no-break space after €
    # A name with markup is shown as text, not rendered.
    assert row.locator("b").count() == 0
    assert "Jan <b>Peeters</b>" in row.inner_text()
    screenshot(signed_in, "cases-nl.png")


def test_french_speaking_staff_see_french(app: Application, web: WebServer, page: Page) -> None:
    add_case(app, "Marie Dubois")

    sign_in_page(page, web, "marc")
    page.goto(web.base_url + "/cases")

    assert page.locator("th").first.inner_text() == "Dossier"
    assert "Créancier" in page.locator("thead").inner_text()
    screenshot(page, "cases-fr.png")


def test_language_choice_is_kept_for_the_account(
    app: Application, web: WebServer, signed_in: Page
) -> None:
    signed_in.goto(web.base_url + "/cases")

    signed_in.get_by_label("Taal").select_option("fr")
    signed_in.get_by_role("button", name="Wijzigen").click()

    assert signed_in.locator("#sign-out").inner_text() == "Se déconnecter"
    with transaction(app.factory) as session:
        els = session.scalars(select(StaffUser).where(StaffUser.username == "els")).one()
        assert els.language == "fr"


def test_empty_list_says_so(web: WebServer, signed_in: Page) -> None:
    signed_in.goto(web.base_url + "/cases")

    assert signed_in.locator("#no-cases").inner_text() == "Nog geen dossiers."


def test_due_time_shown_in_brussels_time(app: Application, web: WebServer, signed_in: Page) -> None:
    reference = add_case(app, "Jan Peeters", due_at=datetime(2026, 11, 16, 8, 0, tzinfo=UTC))

    signed_in.goto(web.base_url + "/cases")

    assert "2026-11-16 09:00" in signed_in.locator(f"tr[data-reference='{reference}']").inner_text()


def test_sign_in_leads_back_to_the_page_asked_for(web: WebServer, page: Page) -> None:
    page.goto(web.base_url + "/cases?status=draft")

    assert page.url.startswith(web.base_url + "/sign-in")
    page.get_by_label("Gebruikersnaam").fill("els")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.locator("#sign-in").click()

    assert page.url == web.base_url + "/cases?status=draft"
    assert page.locator("#signed-in-as").inner_text() == "Els Claes"
    screenshot(page, "signed-in.png")


def test_wrong_password_is_refused_politely(web: WebServer, page: Page) -> None:
    page.goto(web.base_url + "/sign-in")
    page.get_by_label("Gebruikersnaam").fill("els")
    page.get_by_label("Wachtwoord").fill("niet-het-wachtwoord")
    page.locator("#sign-in").click()

    assert page.get_by_role("alert").inner_text() == "Gebruikersnaam of wachtwoord is fout."
    assert page.locator("#signed-in-as").count() == 0
    assert page.get_by_label("Gebruikersnaam").input_value() == "els"  # kept for a second try
    screenshot(page, "sign-in-refused.png")


def test_sign_out_ends_the_session(web: WebServer, signed_in: Page) -> None:
    signed_in.locator("#sign-out").click()
    signed_in.goto(web.base_url + "/cases")

    assert signed_in.url.startswith(web.base_url + "/sign-in")


def test_case_list_shows_what_is_still_open(app: Application, client: StaffClient) -> None:
    reference = add_case(app, "Jan Peeters")
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        case.amount_paid = Decimal("50.00")

    row = client.get("/cases").text.split(f'data-reference="{reference}"')[1].split("</tr>")[0]

    assert "€\xa0134,50" in row
    assert "184,50" not in row
