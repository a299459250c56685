"""The queue page in real headless Chromium: sections, taking an item, filters, French."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from incasso.cases.ladder import LadderStep
from incasso.cases.tasks import open_task
from incasso.store.db import read_transaction, transaction
from incasso.store.models import ReviewItem, ReviewKind
from tests.review.conftest import WebServer, screenshot, sign_in_page
from tests.review.test_queue_data import (
    NOW,
    add_case,
    add_creditor,
    add_item,
    add_message,
    staff_user,
)

pytestmark = pytest.mark.browser


def fill_queue(web: WebServer) -> dict[str, int]:
    """A queue with something in every section; returns the ids of some items."""
    with transaction(web.app.factory) as session:
        acme = add_creditor(session, "Acme Verhuur")
        bakery = add_creditor(session, "Bakkerij Peeters")
        first = add_case(session, "Jan Peeters", creditor=acme, email="jan@debiteur.test")
        second = add_case(session, "Lotte Janssens", creditor=bakery)
        old_draft = add_item(session, ReviewKind.DRAFT, case=first, waited=timedelta(days=3))
        add_item(session, ReviewKind.DRAFT, case=second, reasons=["missing:due_date"])
        mail = add_message(session, "Vraag over mijn factuur", "onbekend@voorbeeld.test")
        add_item(session, ReviewKind.UNMATCHED_MAIL, message=mail, waited=timedelta(hours=5))
        dispute = add_item(
            session,
            ReviewKind.REPLY,
            case=second,
            reasons=["intent:dispute", "reply_to_read"],
            waited=timedelta(days=2),
        )
        add_item(session, ReviewKind.REPLY, case=first, reasons=["bounce_to_read"])
        add_item(session, ReviewKind.SEND_FAILED, case=first, assignee=staff_user(session, "marc"))
        open_task(session, first, LadderStep.PHONE_CALL, due_at=NOW - timedelta(days=1), now=NOW)
        return {"old_draft": old_draft.id, "dispute": dispute.id}


def heading(page: Page, section: str) -> str:
    return page.locator(f"#{section}-heading").inner_text()


def test_queue_shows_sections_and_counts_in_dutch(web: WebServer, signed_in: Page) -> None:
    ids = fill_queue(web)

    signed_in.goto(web.base_url + "/")

    assert signed_in.locator("h1").inner_text() == "Wachtrij"
    assert heading(signed_in, "drafts") == "Concepten na te kijken (2)"
    assert heading(signed_in, "unmatched") == "Niet-gekoppelde mail (1)"
    assert heading(signed_in, "answers") == "Antwoorden die een beslissing vragen (1)"
    assert heading(signed_in, "bounces") == "Onbestelbare berichten zonder ander kanaal (1)"
    assert heading(signed_in, "tasks") == "Taken voor vandaag of te laat (1)"
    assert heading(signed_in, "failed") == "Mislukte verzendingen en andere problemen (1)"
    drafts = signed_in.locator("#drafts tbody tr")
    assert drafts.first.get_attribute("data-item") == str(ids["old_draft"])  # oldest first
    assert drafts.first.locator("td.age").inner_text() == "3 d"
    dispute = signed_in.locator(f"tr[data-item='{ids['dispute']}']")
    assert "betwisting van de vordering" in dispute.inner_text()
    assert dispute.locator("td.age").inner_text() == "2 d"
    assert "Lotte Janssens" in dispute.inner_text()
    assert "Bakkerij Peeters" in dispute.inner_text()
    screenshot(signed_in, "queue.png")


def test_take_an_item(web: WebServer, signed_in: Page) -> None:
    ids = fill_queue(web)
    signed_in.goto(web.base_url + "/")
    row = signed_in.locator(f"tr[data-item='{ids['dispute']}']")
    assert row.locator(".assignee").inner_text() == "—"

    row.get_by_role("button", name="Neem").click()

    row = signed_in.locator(f"tr[data-item='{ids['dispute']}']")
    expect(row.locator(".assignee")).to_have_text("Els Claes")
    expect(signed_in.locator(".notice-info")).to_have_text("Toegewezen aan Els Claes.")
    assert row.get_by_role("button", name="Neem").count() == 0
    with read_transaction(web.app.factory) as session:
        item = session.get_one(ReviewItem, ids["dispute"])
        assert item.assignee_id == staff_user(session, "els").id


def test_filter_by_assignee(web: WebServer, signed_in: Page) -> None:
    fill_queue(web)
    signed_in.goto(web.base_url + "/")

    signed_in.locator("#filter-assignee").select_option(label="Marc Dupont")
    signed_in.locator("#apply-filters").click()

    expect(signed_in.locator("#failed-heading")).to_have_text(
        "Mislukte verzendingen en andere problemen (1)"
    )
    assert heading(signed_in, "drafts") == "Concepten na te kijken (0)"
    assert signed_in.locator("tbody tr").count() == 1
    assert signed_in.locator("tbody tr .assignee").inner_text() == "Marc Dupont"
    assert "assignee=" in signed_in.url

    signed_in.locator("#filter-assignee").select_option(value="nobody")
    signed_in.locator("#apply-filters").click()

    expect(signed_in.locator("#drafts-heading")).to_have_text("Concepten na te kijken (2)")
    assert heading(signed_in, "failed") == "Mislukte verzendingen en andere problemen (0)"


def test_marc_sees_french_headings(web: WebServer, page: Page) -> None:
    fill_queue(web)

    sign_in_page(page, web, "marc")
    page.goto(web.base_url + "/")

    assert page.locator("h1").inner_text() == "File d'attente"
    assert heading(page, "drafts") == "Brouillons à vérifier (2)"
    assert heading(page, "answers") == "Réponses qui demandent une décision (1)"
    assert heading(page, "tasks") == "Tâches du jour ou en retard (1)"
    assert page.locator("#drafts tbody tr").first.locator("td.age").inner_text() == "3 j"
    assert page.get_by_role("button", name="Prendre").count() == 5  # all but the one marc has
