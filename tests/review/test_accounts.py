"""Staff accounts: argon2id hashes, refused sign-ins, and the rules for names and passwords."""

from __future__ import annotations

import pytest

from incasso.app.context import Application
from incasso.review.accounts import (
    AccountError,
    NewStaff,
    add_staff,
    authenticate,
    change_password,
    set_active,
)
from incasso.store.db import transaction
from incasso.store.models import StaffRole

PASSWORD = "lang-genoeg-wachtwoord"


def _add(app: Application, username: str = "els", password: str = PASSWORD) -> None:
    with transaction(app.factory) as session:
        add_staff(session, NewStaff(username, "Els Claes", password), now=app.clock())


def _sign_in(app: Application, username: str, password: str) -> str | None:
    with transaction(app.factory) as session:
        user = authenticate(session, username, password, now=app.clock())
        return user.username if user is not None else None


def test_password_is_kept_as_an_argon2id_hash(app: Application) -> None:
    with transaction(app.factory) as session:
        user = add_staff(session, NewStaff("els", "Els Claes", PASSWORD), now=app.clock())

        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        assert user.role == StaffRole.STAFF


def test_right_password_signs_in_and_wrong_ones_do_not(app: Application) -> None:
    _add(app)

    assert _sign_in(app, "Els ", PASSWORD) == "els"
    assert _sign_in(app, "els", PASSWORD + "x") is None
    assert _sign_in(app, "jan", PASSWORD) is None


def test_closed_account_cannot_sign_in(app: Application) -> None:
    _add(app)
    with transaction(app.factory) as session:
        set_active(session, "els", False)

    assert _sign_in(app, "els", PASSWORD) is None


def test_changed_password_replaces_the_old_one(app: Application) -> None:
    _add(app)
    with transaction(app.factory) as session:
        change_password(session, "els", "een-heel-nieuw-wachtwoord")

    assert _sign_in(app, "els", PASSWORD) is None
    assert _sign_in(app, "els", "een-heel-nieuw-wachtwoord") == "els"


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("els", "kort", "too short"),
        ("Els Claes", PASSWORD, "not usable"),
        ("9els", PASSWORD, "not usable"),
    ],
)
def test_unusable_accounts_are_refused(
    app: Application, username: str, password: str, message: str
) -> None:
    with pytest.raises(AccountError, match=message), transaction(app.factory) as session:
        add_staff(session, NewStaff(username, "Els", password), now=app.clock())


def test_a_name_is_taken_once(app: Application) -> None:
    _add(app)

    with pytest.raises(AccountError, match="taken"):
        _add(app, "ELS")
