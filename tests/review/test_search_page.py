"""The search page: by reference, structured communication, debtor, e-mail and invoice number.

The browser tests run in real headless Chromium; the tests of the lookups
themselves call ``incasso.review.search_data`` on both databases.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from incasso.app.context import Application
from incasso.cases.law import format_ogm
from incasso.review.search_data import search_cases, typed_ogm, typed_reference
from incasso.store.db import read_transaction, transaction
from incasso.store.models import CaseCharge
from tests.review.conftest import WebServer, screenshot
from tests.review.test_queue_data import add_case, add_creditor


def fill_cases(app: Application) -> dict[str, tuple[str, str]]:
    """Three cases; returns each debtor's (reference, structured communication)."""
    with transaction(app.factory) as session:
        acme = add_creditor(session, "Acme Verhuur")
        cases = [
            add_case(session, "Jan Peeters", creditor=acme, email="jan.peeters@debiteur.test"),
            add_case(
                session,
                "Marie Peeters-Dubois",
                creditor=acme,
                email="marie@voorbeeld.test",
                invoice_number="F-2026-0042",
                amount="310.25",
            ),
            add_case(session, "Lotte Janssens", email="lotte@janssens.test", invoice_number="A77"),
        ]
        return {case.debtor.name: (case.reference, case.ogm) for case in cases if case.debtor}


def search(page: Page, web: WebServer, text: str) -> None:
    page.goto(web.base_url + "/search")
    page.locator("#search-text").fill(text)
    page.locator("#search-text").press("Enter")
    page.wait_for_load_state()


def result_references(page: Page) -> list[str]:
    rows = page.locator("#search-results tbody tr")
    return [rows.nth(index).get_attribute("data-reference") or "" for index in range(rows.count())]


@pytest.mark.browser
def test_search_by_reference_opens_the_case(web: WebServer, signed_in: Page) -> None:
    reference, _ogm = fill_cases(web.app)["Marie Peeters-Dubois"]

    search(signed_in, web, reference)
    assert signed_in.url == f"{web.base_url}/cases/{reference}"

    search(signed_in, web, reference.replace("-0000", "-"))  # 2026-00002 typed as 2026-2
    assert signed_in.url == f"{web.base_url}/cases/{reference}"


@pytest.mark.browser
def test_search_by_structured_communication(web: WebServer, signed_in: Page) -> None:
    reference, ogm = fill_cases(web.app)["Lotte Janssens"]
    printed = format_ogm(ogm)  # +++202/6000/00...+++

    for typed in (printed, ogm, printed.strip("+").replace("/", " ")):
        search(signed_in, web, typed)
        assert signed_in.url == f"{web.base_url}/cases/{reference}", typed


@pytest.mark.browser
def test_search_by_part_of_the_debtor_name(web: WebServer, signed_in: Page) -> None:
    references = fill_cases(web.app)
    jan, marie = references["Jan Peeters"][0], references["Marie Peeters-Dubois"][0]

    search(signed_in, web, "peeters")

    assert result_references(signed_in) == [marie, jan]  # newest first
    assert signed_in.locator("h1").inner_text() == "Zoeken"
    row = signed_in.locator(f"tr[data-reference='{marie}']")
    assert "Acme Verhuur" in row.inner_text()
    assert "€\u00a0310,25" in row.inner_text()
    assert row.get_by_role("link", name=marie).get_attribute("href") == f"/cases/{marie}"
    assert "Openstaand bedrag" in signed_in.locator("#search-results thead").inner_text()
    screenshot(signed_in, "search.png")


@pytest.mark.browser
def test_search_by_e_mail_and_invoice_number(web: WebServer, signed_in: Page) -> None:
    references = fill_cases(web.app)

    search(signed_in, web, "LOTTE@janssens")
    assert result_references(signed_in) == [references["Lotte Janssens"][0]]

    search(signed_in, web, "f-2026-0042")
    assert result_references(signed_in) == [references["Marie Peeters-Dubois"][0]]


@pytest.mark.browser
def test_search_without_results(web: WebServer, signed_in: Page) -> None:
    fill_cases(web.app)

    search(signed_in, web, "Vermeulen")

    expect(signed_in.locator("#no-results")).to_have_text("Geen dossier past bij “Vermeulen”.")
    assert signed_in.locator("#search-text").input_value() == "Vermeulen"


def test_typed_references_and_structured_communications() -> None:
    assert typed_reference("2026-17") == "2026-00017"
    assert typed_reference(" 2026-00017 ") == "2026-00017"
    assert typed_reference("2026/123456") == "2026-123456"
    assert typed_reference("F-2026-17") is None
    assert typed_ogm("+++202/6000/01711+++") == "202600001711"
    assert typed_ogm("202 6000 01711") == "202600001711"
    assert typed_ogm("202600001712") is None  # wrong check digits


def test_search_exact_hit_first(app: Application) -> None:
    with transaction(app.factory) as session:
        named = add_case(session, "Jan Peeters")
        # Another case whose invoice number contains the first case's reference.
        add_case(session, "Lotte Janssens", invoice_number=f"INV-{named.reference}")

    with read_transaction(app.factory) as session:
        result = search_cases(session, named.reference)

    assert len(result.hits) == 2
    assert result.hits[0].reference == named.reference  # before the newer case
    assert result.hits[0].exact
    assert not result.hits[1].exact
    assert result.only_exact_hit is None  # two cases: the page shows both


def test_results_are_limited_and_say_there_are_more(app: Application) -> None:
    with transaction(app.factory) as session:
        for number in range(3):
            add_case(session, f"Peeters {number}")

    with read_transaction(app.factory) as session:
        result = search_cases(session, "peeters", limit=2)

    assert [hit.debtor for hit in result.hits] == ["Peeters 2", "Peeters 1"]
    assert result.more


def test_wildcards_are_searched_as_text(app: Application) -> None:
    with transaction(app.factory) as session:
        add_case(session, "Jan Peeters")
        add_case(session, "100%_Zeker BV")

    with read_transaction(app.factory) as session:
        assert [hit.debtor for hit in search_cases(session, "0%_").hits] == ["100%_Zeker BV"]
        assert search_cases(session, "%").too_short


def test_open_amount_counts_last_step_charges_and_payments(app: Application) -> None:
    with transaction(app.factory) as session:
        case = add_case(session, "Jan Peeters", amount="200.00")
        case.amount_paid = Decimal("50.00")
        for step, amount in (("first_reminder", "5.00"), ("second_reminder", "7.50")):
            session.add(
                CaseCharge(case_id=case.id, step=step, kind="interest", amount=Decimal(amount))
            )
        reference = case.reference

    with read_transaction(app.factory) as session:
        (hit,) = search_cases(session, reference).hits

    assert hit.open_amount == Decimal("157.50")  # 200 + 7.50 (last step only) - 50
