"""The mass-bounce brake: many final bounces in a day stop e-mail until staff release it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from incasso.app.context import Application
from incasso.cases.brake import MIN_BOUNCES, brake_applied, check_mass_bounce, release_brake
from incasso.store.db import transaction
from incasso.store.models import Case, Debtor, MailMessage
from tests.builders import active_case


def _bounce_debtors(app: Application, count: int) -> None:
    with transaction(app.factory) as session:
        for debtor in session.scalars(select(Debtor).limit(count)):
            debtor.email_failed_at = app.clock()
            debtor.email_failure = "5.1.1"


def _sent_reminders(app: Application, count: int) -> None:
    for number in range(count):
        active_case(app, email=f"klant{number}@home.example", debtor_name=f"Klant {number}")
    app.jobs.run_dispatch()
    app.jobs.run_outbox()


def test_brake_needs_enough_bounces(app: Application) -> None:
    _sent_reminders(app, MIN_BOUNCES)
    _bounce_debtors(app, MIN_BOUNCES - 1)

    with transaction(app.factory) as session:
        assert check_mass_bounce(session, app.clock()) is False
        assert brake_applied(session) is False


def test_brake_applies_once_and_releases(app: Application) -> None:
    _sent_reminders(app, MIN_BOUNCES)
    _bounce_debtors(app, MIN_BOUNCES)

    with transaction(app.factory) as session:
        assert check_mass_bounce(session, app.clock()) is True
    with transaction(app.factory) as session:
        assert brake_applied(session) is True
        assert check_mass_bounce(session, app.clock()) is False  # one item, not two
        assert release_brake(session, app.clock()) == 1
    with transaction(app.factory) as session:
        assert brake_applied(session) is False


def test_bounces_of_an_older_day_do_not_count(app: Application) -> None:
    _sent_reminders(app, MIN_BOUNCES)
    _bounce_debtors(app, MIN_BOUNCES)

    with transaction(app.factory) as session:
        assert check_mass_bounce(session, app.clock() + timedelta(days=2)) is False


def test_braked_outbox_holds_email_until_released(app: Application) -> None:
    _sent_reminders(app, MIN_BOUNCES)
    _bounce_debtors(app, MIN_BOUNCES)
    with transaction(app.factory) as session:
        check_mass_bounce(session, app.clock())
    reference = active_case(app, email="nieuw@home.example", debtor_name="Nieuwe Klant")
    app.jobs.run_dispatch()

    while_braked = app.jobs.run_outbox()
    with transaction(app.factory) as session:
        release_brake(session, app.clock())
    released = app.jobs.run_outbox()

    assert while_braked == 0
    assert released == 1
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        message = session.scalars(select(MailMessage).where(MailMessage.case_id == case.id)).one()
        assert message.sent_at is not None
