"""The unmatched-mail page: staff read a mail that found no case, then attach it or set it aside."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from incasso.app.context import Application
from incasso.cases.summary import case_form, find_case
from incasso.store.db import transaction
from incasso.store.models import MailMessage, MessageKind, ReviewItem, ReviewStatus
from tests.builders import active_case
from tests.intake.test_process import mail, take_in
from tests.review.conftest import StaffClient, WebServer, screenshot

DEBTOR = "jan.peeters@home.example"
DISPUTE = "Goedemiddag,\n\nIk betwist deze factuur: de ketel werkte nooit.\n\nJan Peeters"


def unmatched_dispute(app: Application) -> tuple[int, str, str]:
    """A dispute from a debtor with two open cases, naming neither: intake leaves it unmatched."""
    first = active_case(app, email=DEBTOR, debtor_name="Jan Peeters")
    second = active_case(app, email=DEBTOR, debtor_name="Jan Peeters")
    row_id = take_in(app, mail(DEBTOR, subject="Uw herinnering", body=DISPUTE))
    return row_id, first, second


def case_of(app: Application, reference: str) -> dict[str, Any]:
    with transaction(app.factory) as session:
        case = find_case(session, reference)
        assert case is not None
        return case_form(session, case)


def message_of(app: Application, row_id: int) -> MailMessage:
    with transaction(app.factory) as session:
        return session.get_one(MailMessage, row_id)


def unmatched_item(app: Application, row_id: int) -> ReviewItem:
    with transaction(app.factory) as session:
        return session.scalars(
            select(ReviewItem).where(
                ReviewItem.mail_message_id == row_id, ReviewItem.kind == "unmatched_mail"
            )
        ).one()


@pytest.mark.browser
def test_staff_attach_a_dispute_and_the_ladder_pauses(
    web: WebServer, signed_in: Page, app: Application
) -> None:
    row_id, first, second = unmatched_dispute(app)
    page = signed_in

    page.goto(f"{web.base_url}/unmatched/{row_id}")
    expect(page.locator("pre.mail-text")).to_contain_text("Ik betwist deze factuur")
    expect(page.locator("#candidates tbody tr")).to_have_count(2)
    expect(page.locator("#candidates")).to_contain_text("Jan Peeters")
    screenshot(page, "unmatched.png")
    page.locator(f'#candidates tr[data-reference="{first}"] button').click()

    page.wait_for_url(f"{web.base_url}/")
    expect(page.locator(".notice").first).to_contain_text(first)
    case = case_of(app, first)
    assert case["status"] == "paused"
    assert case["ladder"]["hold_reason"] == "disputed"
    (reply,) = [entry for entry in case["timeline"] if entry["kind"] == "reply_received"]
    assert reply["detail"]["matched_by"] == "staff"
    assert reply["detail"]["intent"] == "dispute"
    assert reply["actor"] == "els"
    assert message_of(app, row_id).kind == MessageKind.REPLY
    assert unmatched_item(app, row_id).status == ReviewStatus.RESOLVED
    assert case_of(app, second)["status"] == "active"


@pytest.mark.browser
def test_n_key_sets_the_mail_aside(web: WebServer, signed_in: Page, app: Application) -> None:
    row_id, first, _ = unmatched_dispute(app)
    page = signed_in
    page.goto(f"{web.base_url}/unmatched/{row_id}")

    page.keyboard.press("n")
    expect(page.locator("#dismiss-note")).to_be_focused()
    page.keyboard.type("Schrijft over een andere firma")
    page.keyboard.press("Enter")

    page.wait_for_url(f"{web.base_url}/")
    item = unmatched_item(app, row_id)
    assert item.status == ReviewStatus.RESOLVED
    assert item.detail is not None and "Schrijft over een andere firma" in item.detail
    assert message_of(app, row_id).case_id is None
    assert [e for e in case_of(app, first)["timeline"] if e["kind"] == "reply_received"] == []
    # The page says who set it aside and why, with no English around it.
    page.goto(f"{web.base_url}/unmatched/{row_id}")
    outcome = page.locator("#unmatched-outcome").inner_text()
    assert "els" in outcome
    assert "Schrijft over een andere firma" in outcome
    assert "not ours" not in outcome


def test_any_case_can_be_given_by_its_reference(app: Application, client: StaffClient) -> None:
    row_id, _, _ = unmatched_dispute(app)
    other = active_case(app, email="an.smet@home.example", debtor_name="An Smet")

    response = client.post_form(f"/unmatched/{row_id}/attach", {"reference": f" {other} "})

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert message_of(app, row_id).case_id is not None
    assert case_of(app, other)["status"] == "paused"


def test_unknown_reference_is_explained_on_the_page(app: Application, client: StaffClient) -> None:
    row_id, _, _ = unmatched_dispute(app)

    response = client.post_form(f"/unmatched/{row_id}/attach", {"reference": "2026-09999"})
    page = client.get(response.headers["location"])

    assert response.headers["location"] == f"/unmatched/{row_id}"
    (notice,) = re.findall(r'<p class="notice notice-error"[^>]*>([^<]*)</p>', page.text)
    assert "2026-09999" in notice
    assert unmatched_item(app, row_id).status == ReviewStatus.OPEN


def test_handled_mail_shows_its_case_and_no_buttons(app: Application, client: StaffClient) -> None:
    row_id, first, _ = unmatched_dispute(app)
    client.post_form(f"/unmatched/{row_id}/attach", {"reference": first})

    page = client.get(f"/unmatched/{row_id}")

    assert 'id="unmatched-outcome"' in page.text
    assert f'href="/cases/{first}"' in page.text
    assert 'id="attach-form"' not in page.text
    assert 'id="dismiss-form"' not in page.text
