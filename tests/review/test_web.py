"""The case list page, in real headless Chromium, in Dutch and in French."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Page, sync_playwright

from incasso.app.context import Application
from incasso.cases.lifecycle import open_case
from incasso.review.web import create_app
from incasso.store.db import transaction
from incasso.store.models import Debtor, Invoice
from tests.conftest import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.browser


@pytest.fixture
def base_url(app: Application) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(app.factory), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise TimeoutError(f"web view did not start on 127.0.0.1:{port} within 10 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page() -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser.new_page()
        browser.close()


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


def test_case_list_in_dutch(app: Application, base_url: str, page: Page) -> None:
    reference = add_case(app, "Jan <b>Peeters</b>")

    page.goto(base_url + "/")

    assert page.locator("h1").inner_text() == "Dossiers"
    row = page.locator(f"tr[data-reference='{reference}']")
    assert "concept" in row.inner_text()
    assert "€\u00a0184,50" in row.inner_text()  # babel puts a no-break space after €
    # A name with markup is shown as text, not rendered.
    assert row.locator("b").count() == 0
    assert "Jan <b>Peeters</b>" in row.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "cases-nl.png"), full_page=True)


def test_case_list_switches_to_french(app: Application, base_url: str, page: Page) -> None:
    add_case(app, "Marie Dubois")

    page.goto(base_url + "/?lang=fr")
    assert page.locator("h1").inner_text() == "Dossiers"
    assert page.locator("th").first.inner_text() == "Dossier"
    assert "Créancier" in page.locator("thead").inner_text()

    # The choice sticks for the next visit.
    page.goto(base_url + "/")
    assert "Créancier" in page.locator("thead").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "cases-fr.png"), full_page=True)


def test_empty_list_says_so(base_url: str, page: Page) -> None:
    page.goto(base_url + "/")

    assert page.locator("#no-cases").inner_text() == "Nog geen dossiers."


def test_due_time_shown_in_brussels_time(app: Application, base_url: str, page: Page) -> None:
    reference = add_case(app, "Jan Peeters", due_at=datetime(2026, 11, 16, 8, 0, tzinfo=UTC))

    page.goto(base_url + "/")

    assert "2026-11-16 09:00" in page.locator(f"tr[data-reference='{reference}']").inner_text()
