"""Staff correcting a debtor, and the language a debtor is written to in."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from incasso.app.context import Application
from incasso.cases.debtors import (
    DebtorChange,
    DebtorError,
    change_debtor,
    choose_language,
    language_of_address,
)
from incasso.cases.law import DebtorKind
from incasso.cases.lifecycle import EventKind
from incasso.store.db import transaction
from incasso.store.models import Case, Event
from tests.builders import active_case

STAFF = "Els (staff)"


@pytest.mark.parametrize(
    ("address", "language"),
    [
        ("Kerkstraat 12, 9000 Gent", "nl"),
        ("Rue de la Station 4, 5000 Namur", "fr"),
        ("Avenue Reine Astrid 8, B-1300 Wavre", "fr"),
        ("Bergstraße 3, 4700 Eupen", "de"),
        ("Rue Haute 1, 4000 Liège", "fr"),
        ("Leuvensesteenweg 2, 1500 Halle", "nl"),
        ("Markt 1, 3999 Dorp", "nl"),
        ("Grote Markt 7, 8000 Brugge", "nl"),
        ("Rue Neuve 1, 1000 Bruxelles", None),  # Brussels is bilingual
        ("Boulevard Anspach 1, 1299 Bruxelles", None),
        ("Hoofdstraat 1, 1234 AB Amsterdam, Nederland", None),
        ("12 rue de Paris, 75001 Paris, France", None),
        ("Postbus 1234, 9000 Gent", "nl"),  # the last postcode before a town counts
        ("", None),
        (None, None),
    ],
)
def test_language_of_belgian_postcode(address: str | None, language: str | None) -> None:
    assert language_of_address(address) == language


def test_choice_of_language_follows_its_order() -> None:
    gent = "Kerkstraat 12, 9000 Gent"

    assert choose_language(chosen="de", invoice="fr", address=gent, fallback="en") == "de"
    assert choose_language(chosen=None, invoice="fr", address=gent, fallback="en") == "fr"
    assert choose_language(chosen=None, invoice=None, address=gent, fallback="en") == "nl"
    assert choose_language(chosen=None, invoice=None, address=None, fallback="en") == "en"


def _case(app: Application, reference: str) -> Case:
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        session.expunge(case)
        return case


def test_change_debtor_stores_and_records(app: Application) -> None:
    reference = active_case(app, language="nl")
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        changed = change_debtor(
            session,
            case,
            DebtorChange(phone="0470 12 34 56", language="fr", kind=DebtorKind.ENTERPRISE),
            now=app.clock(),
            actor=STAFF,
        )
        debtor = case.debtor
        assert debtor is not None
        event = session.scalars(
            select(Event).where(Event.case_id == case.id, Event.kind == EventKind.DEBTOR_CHANGED)
        ).one()

        assert changed == ["kind", "language", "phone"]
        assert debtor.phone == "+32470123456"
        assert debtor.kind == "enterprise"
        assert debtor.language == "fr"
        assert debtor.language_chosen is True
        assert case.language == "fr"
        assert event.actor == STAFF
        assert event.detail["phone"] == "+32470123456"


def test_chosen_language_reaches_every_open_case(app: Application) -> None:
    first = active_case(app, email="jan.peeters@home.example", debtor_name="Jan Peeters")
    second = active_case(app, email="jan.peeters@home.example", debtor_name="Jan Peeters")
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == first)).one()
        other = session.scalars(select(Case).where(Case.reference == second)).one()
        other.debtor = case.debtor
        session.flush()
        change_debtor(session, case, DebtorChange(language="de"), now=app.clock(), actor=STAFF)

    assert _case(app, second).language == "de"


def test_new_email_clears_a_bounce(app: Application) -> None:
    reference = active_case(app)
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        assert case.debtor is not None
        case.debtor.email_failed_at = app.clock()
        case.debtor.email_failure = "5.1.1"

        change_debtor(
            session, case, DebtorChange(email="an@werk.example"), now=app.clock(), actor=STAFF
        )

        assert case.debtor.email_failed_at is None
        assert case.debtor.email_failure is None


def test_same_details_change_nothing(app: Application) -> None:
    reference = active_case(app, email="an.janssens@home.example")
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        changed = change_debtor(
            session,
            case,
            DebtorChange(email="an.janssens@home.example"),
            now=app.clock(),
            actor=STAFF,
        )
        events = session.scalars(
            select(Event).where(Event.case_id == case.id, Event.kind == EventKind.DEBTOR_CHANGED)
        ).all()

    assert changed == []
    assert events == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            DebtorChange(email="an.janssens at home"),
            "E-mail address an.janssens at home is invalid",
        ),
        (DebtorChange(phone="12345"), "Phone number 12345 is invalid"),
        (DebtorChange(address="   "), "The address is empty"),
        (DebtorChange(language="es"), "Language es is invalid"),
    ],
)
def test_invalid_details_change_nothing(
    app: Application, change: DebtorChange, message: str
) -> None:
    reference = active_case(app, phone="+32470000001")
    with pytest.raises(DebtorError, match=message), transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        change_debtor(session, case, change, now=app.clock(), actor=STAFF)

    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        assert case.debtor is not None
        assert case.debtor.phone == "+32470000001"
        assert case.debtor.language_chosen is False
