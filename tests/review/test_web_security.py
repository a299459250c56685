"""What protects the web app: sessions, CSRF tokens on every form post, safe redirects."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from incasso.review.webkit import csrf_checked
from tests.review.conftest import StaffClient


def _post_routes(app: FastAPI) -> list[APIRoute]:
    return [
        route
        for route in app.routes
        if isinstance(route, APIRoute) and "POST" in (route.methods or set())
    ]


def test_every_form_post_checks_the_csrf_token(web_app: FastAPI) -> None:
    routes = _post_routes(web_app)

    assert routes
    for route in routes:
        checks = [dependency.call for dependency in route.dependant.dependencies]
        assert csrf_checked in checks, f"POST {route.path} does not check the CSRF token"


def test_post_without_token_is_refused(client: StaffClient) -> None:
    response = client.post("/sign-out", data={}, follow_redirects=False)

    assert response.status_code == 403
    assert client.get("/cases", follow_redirects=False).status_code == 200


def test_post_with_a_wrong_token_is_refused(client: StaffClient) -> None:
    response = client.post("/sign-out", data={"csrf_token": "guessed"}, follow_redirects=False)

    assert response.status_code == 403


def test_token_in_the_header_is_accepted(client: StaffClient) -> None:
    response = client.post(
        "/sign-out", headers={"X-CSRF-Token": client.csrf()}, follow_redirects=False
    )

    assert response.status_code == 303


def test_pages_need_a_session(anonymous: StaffClient) -> None:
    response = anonymous.get("/cases", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Fcases"


def test_session_cookie_is_http_only_and_strict(anonymous: StaffClient) -> None:
    response = anonymous.sign_in("els")

    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie


def test_a_new_session_gets_a_new_csrf_token(anonymous: StaffClient) -> None:
    before = anonymous.csrf()
    anonymous.sign_in("els")

    assert anonymous.csrf() != before


@pytest.mark.parametrize("target", ["https://elders.example/", "//elders.example/", "cases"])
def test_sign_in_never_leads_to_another_site(anonymous: StaffClient, target: str) -> None:
    response = anonymous.post_form(
        "/sign-in", {"username": "els", "password": "Wachtwoord-voor-test-1", "next": target}
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_wrong_password_answers_401(anonymous: StaffClient) -> None:
    response = anonymous.sign_in("els", "fout-wachtwoord-123")

    assert response.status_code == 401
    assert anonymous.get("/cases", follow_redirects=False).status_code == 303


def test_unknown_page_is_a_translated_404(client: StaffClient) -> None:
    response = client.get("/bestaat-niet")

    assert response.status_code == 404
    assert "<h1>Niet gevonden</h1>" in response.text
