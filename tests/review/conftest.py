"""Fixtures of the web tests: the app served on loopback, Chromium, and a signed-in client.

Two staff accounts exist in every web test: ``els`` (admin, Dutch) and
``marc`` (staff, French), both with PASSWORD.

Tests in Chromium run on SQLite only: a browser adds nothing store-specific,
and the queries behind each page run on both stores in the test-client tests.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Page, sync_playwright
from starlette.testclient import TestClient

from incasso.app.context import Application
from incasso.app.serve import build_web_app
from incasso.review.accounts import NewStaff, add_staff
from incasso.store.db import transaction
from incasso.store.models import StaffRole
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
PASSWORD = "Wachtwoord-voor-test-1"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the PostgreSQL run of each browser test (see the module docstring)."""
    here = Path(__file__).parent
    dropped = [
        item
        for item in items
        if "page" in getattr(item, "fixturenames", ())
        and "[postgresql" in item.name
        and here in item.path.parents
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


@dataclass(frozen=True)
class WebServer:
    base_url: str
    app: Application


@pytest.fixture
def staff_accounts(app: Application) -> None:
    with transaction(app.factory) as session:
        add_staff(
            session,
            NewStaff("els", "Els Claes", PASSWORD, StaffRole.ADMIN, "nl"),
            now=app.clock(),
        )
        add_staff(
            session,
            NewStaff("marc", "Marc Dupont", PASSWORD, StaffRole.STAFF, "fr"),
            now=app.clock(),
        )


@pytest.fixture
def web_app(app: Application, staff_accounts: None) -> FastAPI:
    return build_web_app(app)


@pytest.fixture
def web(app: Application, web_app: FastAPI) -> Iterator[WebServer]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(web_app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise TimeoutError(f"web app did not start on 127.0.0.1:{port} within 10 s")
        time.sleep(0.05)
    yield WebServer(f"http://127.0.0.1:{port}", app)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page() -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser.new_page(viewport={"width": 1366, "height": 900})
        browser.close()


def sign_in_page(page: Page, web: WebServer, username: str = "els") -> Page:
    page.goto(web.base_url + "/sign-in")
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.locator("#sign-in").click()
    page.wait_for_selector("#signed-in-as")
    return page


@pytest.fixture
def signed_in(page: Page, web: WebServer) -> Page:
    return sign_in_page(page, web)


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


class StaffClient(TestClient):
    """A test client that can post forms with the CSRF token of its session."""

    def csrf(self) -> str:
        found = CSRF_INPUT.search(self.get("/sign-in").text)
        if found is None:
            raise AssertionError("the sign-in page has no CSRF field")
        return found.group(1)

    def post_form(self, url: str, data: dict[str, Any] | None = None) -> httpx2.Response:
        form = {"csrf_token": self.csrf(), **(data or {})}
        return self.post(url, data=form, follow_redirects=False)

    def sign_in(self, username: str, password: str = PASSWORD) -> httpx2.Response:
        return self.post_form("/sign-in", {"username": username, "password": password})


@pytest.fixture
def anonymous(web_app: FastAPI) -> Iterator[StaffClient]:
    """A client that has not signed in."""
    with StaffClient(web_app, base_url="http://127.0.0.1") as client:
        yield client


@pytest.fixture
def client(anonymous: StaffClient) -> StaffClient:
    """A client signed in as els."""
    response = anonymous.sign_in("els")
    assert response.status_code == 303, response.text
    return anonymous
