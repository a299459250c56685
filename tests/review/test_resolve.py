"""Marking review items as handled from the queue and the case page.

The Dutch words are read from the catalog, so the checks hold before and
after the translations of the new texts are merged.
"""

from __future__ import annotations

import html

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from incasso.app.context import Application
from incasso.cases.lifecycle import EventKind
from incasso.cases.review_items import OWN_ACTION_KINDS
from incasso.i18n import translations
from incasso.store.db import read_transaction, transaction
from incasso.store.models import Event, ReviewItem, ReviewKind, ReviewStatus
from tests.review.conftest import StaffClient, WebServer, screenshot
from tests.review.test_queue_data import ERROR_NOTICE, NOTICE, add_case, add_item, add_message

dutch = translations("nl").gettext


def item_status(app: Application, item_id: int) -> str:
    with read_transaction(app.factory) as session:
        return session.get_one(ReviewItem, item_id).status


def reply_on_case(app: Application, *reasons: str) -> tuple[str, int]:
    """A case with an open reply; returns the case reference and the item id."""
    with transaction(app.factory) as session:
        case = add_case(session, "Jan Peeters", email="jan@debiteur.test")
        item = add_item(session, ReviewKind.REPLY, case=case, reasons=reasons or ["reply_to_read"])
        return case.reference, item.id


def resolve_form(item_id: int) -> str:
    return f'action="/review-items/{item_id}/resolve"'


def test_resolve_from_the_queue(app: Application, client: StaffClient) -> None:
    _reference, item_id = reply_on_case(app, "intent:dispute", "reply_to_read")
    assert resolve_form(item_id) in client.get("/").text

    response = client.post_form(
        f"/review-items/{item_id}/resolve", {"note": "Factuur klopt", "back": "/?assignee=me"}
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/?assignee=me"
    assert item_status(app, item_id) == ReviewStatus.RESOLVED
    page = client.get("/").text
    assert f'data-item="{item_id}"' not in page
    expected = dutch("Marked as handled: {item}.").format(item=dutch("reply from the debtor"))
    assert NOTICE.findall(page) == [html.escape(expected)]
    with read_transaction(app.factory) as session:
        event = session.scalars(select(Event).where(Event.kind == EventKind.REVIEW_RESOLVED)).one()
        assert (event.actor, event.detail["note"]) == ("els", "Factuur klopt")


def test_queue_offers_handled_where_it_applies(app: Application, client: StaffClient) -> None:
    with transaction(app.factory) as session:
        case = add_case(session, "Lotte Janssens")
        resolvable = [
            add_item(session, ReviewKind.REPLY, case=case, reasons=["intent:paid"]).id,
            add_item(session, ReviewKind.REPLY, case=case, reasons=["bounce_to_read"]).id,
            add_item(session, ReviewKind.SEND_FAILED, case=case).id,
        ]
        mail = add_message(session, "Vraag", "iemand@voorbeeld.test")
        refused = [
            add_item(session, ReviewKind.DRAFT, case=case).id,
            add_item(session, ReviewKind.UNMATCHED_MAIL, message=mail).id,
            add_item(session, ReviewKind.MASS_BOUNCE, reasons=["mass_bounce:40:100"]).id,
        ]

    page = client.get("/").text

    for item_id in resolvable:
        assert resolve_form(item_id) in page
    for item_id in refused:
        assert f'data-item="{item_id}"' in page
        assert resolve_form(item_id) not in page


def test_resolve_from_the_case_page(app: Application, client: StaffClient) -> None:
    reference, item_id = reply_on_case(app)
    case_page = client.get(f"/cases/{reference}").text
    assert f'data-review="{item_id}"' in case_page
    assert resolve_form(item_id) in case_page
    assert f'name="back" value="/cases/{reference}"' in case_page

    response = client.post_form(
        f"/review-items/{item_id}/resolve", {"note": "", "back": f"/cases/{reference}"}
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/cases/{reference}"
    page = client.get(f"/cases/{reference}").text
    assert 'id="case-reviews"' not in page
    assert 'data-kind="review_resolved"' in page
    assert dutch("review item handled") in page


@pytest.mark.parametrize("kind", sorted(OWN_ACTION_KINDS))
def test_case_page_hides_handled_for_own_action_kinds(
    app: Application, client: StaffClient, kind: str
) -> None:
    with transaction(app.factory) as session:
        case = add_case(session, "Jan Peeters")
        item_id = add_item(session, ReviewKind(kind), case=case).id
        reference = case.reference

    page = client.get(f"/cases/{reference}").text

    assert f'data-review="{item_id}"' in page
    assert resolve_form(item_id) not in page


@pytest.mark.parametrize("kind", sorted(OWN_ACTION_KINDS))
def test_resolve_rejects_kinds_with_own_action(
    app: Application, client: StaffClient, kind: str
) -> None:
    with transaction(app.factory) as session:
        item_id = add_item(session, ReviewKind(kind), case=add_case(session, "Jan Peeters")).id

    response = client.post_form(f"/review-items/{item_id}/resolve", {"back": "/"})

    assert response.status_code == 303
    assert item_status(app, item_id) == ReviewStatus.OPEN
    (notice,) = ERROR_NOTICE.findall(client.get("/").text)
    assert str(item_id) in notice


def test_resolve_twice_shows_notice(app: Application, client: StaffClient) -> None:
    _reference, item_id = reply_on_case(app)
    client.post_form(f"/review-items/{item_id}/resolve")
    client.get("/")  # shows and drops the first notice

    response = client.post_form(f"/review-items/{item_id}/resolve")

    assert response.status_code == 303
    expected = dutch("This item was marked as handled already; nothing changed.")
    assert NOTICE.findall(client.get("/").text) == [html.escape(expected)]
    with read_transaction(app.factory) as session:
        assert len(session.scalars(select(Event)).all()) == 1


def test_resolve_back_stays_on_this_site(app: Application, client: StaffClient) -> None:
    _reference, item_id = reply_on_case(app)

    response = client.post_form(
        f"/review-items/{item_id}/resolve", {"back": "https://elders.example/"}
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_resolve_unknown_item_not_found(client: StaffClient) -> None:
    response = client.post_form("/review-items/424242/resolve")

    assert response.status_code == 404


def test_resolve_without_csrf_token_is_refused(app: Application, client: StaffClient) -> None:
    _reference, item_id = reply_on_case(app)

    response = client.post(f"/review-items/{item_id}/resolve", follow_redirects=False)

    assert response.status_code == 403
    assert item_status(app, item_id) == ReviewStatus.OPEN


def test_resolve_needs_sign_in(app: Application, anonymous: StaffClient) -> None:
    reference, item_id = reply_on_case(app)

    # The app responds to a signed-out form post with 401, and to a page request with sign-in.
    response = anonymous.post_form(f"/review-items/{item_id}/resolve")
    case_page = anonymous.get(f"/cases/{reference}", follow_redirects=False)

    assert response.status_code == 401
    assert item_status(app, item_id) == ReviewStatus.OPEN
    assert case_page.status_code == 303
    assert case_page.headers["location"].startswith("/sign-in")


@pytest.mark.browser
def test_case_page_handled_empties_box(web: WebServer, signed_in: Page) -> None:
    reference, item_id = reply_on_case(web.app, "intent:promise_to_pay", "reply_to_read")
    signed_in.goto(f"{web.base_url}/")
    expect(signed_in.locator(f"tr[data-item='{item_id}'] button.handled")).to_be_visible()
    screenshot(signed_in, "queue-handled-button.png")
    signed_in.goto(f"{web.base_url}/cases/{reference}")
    item = signed_in.locator(f"#case-reviews li[data-review='{item_id}']")
    expect(item).to_be_visible()
    screenshot(signed_in, "case-review-box.png")

    item.get_by_label(dutch("Note (optional)")).fill("Belofte genoteerd")
    item.get_by_role("button", name=dutch("Handled")).click()

    expect(signed_in.locator(".notice-info")).to_be_visible()
    expect(signed_in.locator("#case-reviews")).to_have_count(0)
    resolved = signed_in.locator("#timeline tr[data-kind='review_resolved']")
    expect(resolved).to_contain_text("Belofte genoteerd")
    screenshot(signed_in, "case-review-handled.png")
    assert item_status(web.app, item_id) == ReviewStatus.RESOLVED
