"""``incasso user``: staff accounts made from the command line can sign in to the web queue."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from incasso.app.cli import build_cli
from incasso.app.context import build_application
from incasso.app.settings import Settings
from incasso.review.accounts import authenticate
from incasso.store.db import transaction
from incasso.store.models import StaffUser
from tests.conftest import make_settings

PASSWORD = "een-lang-wachtwoord"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Settings:
    monkeypatch.chdir(tmp_path)
    return make_settings(tmp_path, database_url)


def run(settings: Settings, *arguments: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(build_cli(settings), list(arguments), input=stdin)


def _signs_in(settings: Settings, username: str, password: str) -> bool:
    app = build_application(settings)
    try:
        with transaction(app.factory) as session:
            return authenticate(session, username, password, now=app.clock()) is not None
    finally:
        app.close()


def test_added_user_can_sign_in(settings: Settings) -> None:
    result = run(
        settings,
        "user", "add", "els", "--name", "Els Claes", "--role", "admin", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "Account els aangemaakt." in result.output
    assert _signs_in(settings, "els", PASSWORD)
    app = build_application(settings)
    with transaction(app.factory) as session:
        user = session.scalars(select(StaffUser)).one()
        assert (user.display_name, user.role, user.language) == ("Els Claes", "admin", "nl")
    app.close()


def test_password_is_asked_twice_when_typed(settings: Settings) -> None:
    result = run(
        settings, "user", "add", "marc", "--name", "Marc Dupont", "--language", "fr",
        stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert _signs_in(settings, "marc", PASSWORD)


def test_short_password_is_refused_in_dutch(settings: Settings) -> None:
    result = run(
        settings, "user", "add", "els", "--name", "Els", "--password-stdin", stdin="kort\n"
    )

    assert result.exit_code == 2
    assert "Het wachtwoord is te kort; gebruik minstens 12 tekens." in result.output


def test_closed_account_no_longer_signs_in(settings: Settings) -> None:
    run(settings, "user", "add", "els", "--name", "Els", "--password-stdin", stdin=PASSWORD)

    result = run(settings, "user", "close", "els")

    assert result.exit_code == 0, result.output
    assert not _signs_in(settings, "els", PASSWORD)
    listing = run(settings, "user", "list")
    assert "els" in listing.output
    assert "nee" in listing.output


def test_password_change_of_an_unknown_account_says_so(settings: Settings) -> None:
    result = run(settings, "user", "password", "jan", "--password-stdin", stdin=PASSWORD)

    assert result.exit_code == 2
    assert "Er is geen account jan" in result.output
