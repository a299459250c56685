"""Staff steering cases from the command line, in Dutch, on each database in turn."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from incasso.app.cli import build_cli
from incasso.app.cli_ladder import InputError, parse_amount, parse_policy_changes
from incasso.app.context import build_application
from incasso.app.settings import Settings
from incasso.cases.ladder import LadderStep
from incasso.cases.tasks import open_task
from incasso.store.db import transaction
from incasso.store.models import Case, Creditor, ReviewItem
from tests.builders import active_case
from tests.conftest import make_settings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Settings:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")  # wide tables: no wrapped words in the checks
    return make_settings(tmp_path, database_url, language="nl")


@pytest.fixture
def reference(settings: Settings) -> str:
    app = build_application(settings)
    created = active_case(app, phone="+32470123456")
    app.close()
    return created


def run(settings: Settings, *arguments: str) -> Any:
    return CliRunner().invoke(build_cli(settings), list(arguments))


def case_form(settings: Settings, reference: str) -> dict[str, Any]:
    result = run(settings, "case", reference, "--json")
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.output))


def test_pause_with_a_promise_and_resume(settings: Settings, reference: str) -> None:
    promised = (date.today() + timedelta(days=10)).isoformat()

    paused = run(
        settings, "pause", reference, "--reason", "promise_to_pay", "--until", promised,
        "--by", "Els", "--note", "belt vrijdag terug",
    )  # fmt: skip

    assert paused.exit_code == 0, paused.output
    assert f"Dossier {reference} gepauzeerd." in paused.output
    form = case_form(settings, reference)
    assert form["status"] == "paused"
    assert form["ladder"]["hold_reason"] == "promise_to_pay"
    assert form["ladder"]["hold_until"].startswith((date.today() + timedelta(days=10)).isoformat())
    assert form["timeline"][-1]["actor"] == "Els"

    resumed = run(settings, "resume", reference, "--by", "Els")
    assert resumed.exit_code == 0, resumed.output
    assert case_form(settings, reference)["status"] == "active"


def test_case_view_shows_hold_amounts_and_who(settings: Settings, reference: str) -> None:
    promised = (date.today() + timedelta(days=10)).isoformat()
    run(settings, "payment", reference, "100,00", "--by", "Els")
    run(
        settings, "pause", reference, "--reason", "promise_to_pay", "--until", promised,
        "--by", "Els", "--note", "belt vrijdag terug",
    )  # fmt: skip

    shown = run(settings, "case", reference).output

    assert "betaald €\u00a0100,00, openstaand €\u00a0150,00." in shown
    assert "Gepauzeerd: belooft te betalen, tot " in shown
    assert "Volgende stap, na hervatting: eerste herinnering" in shown
    assert "Els · " in shown
    assert "“belt vrijdag terug”" in shown


def test_errors_are_translated_and_exit_2(settings: Settings, reference: str) -> None:
    no_date = run(settings, "pause", reference, "--reason", "promise_to_pay")
    unknown = run(settings, "resume", "2026-99999")
    not_paused = run(settings, "resume", reference)

    assert no_date.exit_code == 2
    assert "heeft de beloofde datum nodig" in no_date.output
    assert unknown.exit_code == 2
    assert "Dossier 2026-99999 niet gevonden." in unknown.output
    assert not_paused.exit_code == 2
    assert "niet gepauzeerd" in not_paused.output
    assert "is actief" in not_paused.output  # the status is translated with the sentence


def test_payment_in_belgian_notation_closes_the_case(settings: Settings, reference: str) -> None:
    partial = run(settings, "payment", reference, "100,00", "--by", "Els")
    rest = run(settings, "payment", reference, "150.00", "--by", "Els")
    wrong = run(settings, "payment", reference, "honderd")

    assert partial.exit_code == 0, partial.output
    assert "de ladder loopt verder" in partial.output
    assert rest.exit_code == 0, rest.output
    form = case_form(settings, reference)
    assert (form["status"], form["ladder"]["close_reason"]) == ("closed", "paid")
    assert form["ladder"]["amount_paid"] == "250.00"
    assert wrong.exit_code == 2


def test_close_at_no_cost_but_not_as_paid(settings: Settings, reference: str) -> None:
    as_paid = run(settings, "close", reference, "--reason", "paid")
    no_cost = run(settings, "close", reference, "--reason", "no_cost")

    assert as_paid.exit_code == 2
    assert "incasso payment" in as_paid.output
    assert no_cost.exit_code == 0, no_cost.output
    assert case_form(settings, reference)["ladder"]["close_reason"] == "no_cost"


def test_step_moves_the_case(settings: Settings, reference: str) -> None:
    moved = run(settings, "step", reference, "third_reminder", "--at", "2027-03-01")

    assert moved.exit_code == 0, moved.output
    form = case_form(settings, reference)
    assert form["next_step"] == "third_reminder"
    assert form["next_step_due_at"].startswith("2027-03-01T08:00")  # 09:00 in Brussels


def test_case_and_creditor_policy(settings: Settings, reference: str) -> None:
    case_change = run(settings, "policy", reference, "--set", "second_reminder.delay_days=20")
    creditor_change = run(settings, "creditor", "policy", "ACME", "--set", "sms.enabled=false")
    wrong = run(settings, "policy", reference, "--set", "sms.delay_days=900")

    assert case_change.exit_code == 0, case_change.output
    assert "tweede herinnering na 20 dagen" in case_change.output
    assert creditor_change.exit_code == 0, creditor_change.output
    assert "sms: uit" in creditor_change.output.lower()
    assert wrong.exit_code == 2
    assert "900" in wrong.output
    form = case_form(settings, reference)
    assert form["ladder"]["policy"] == {"steps": {"second_reminder": {"delay_days": 20}}}
    app = build_application(settings)
    with transaction(app.factory) as session:
        creditor = session.scalars(select(Creditor)).one()
        assert creditor.ladder_policy == {"steps": {"sms": {"enabled": False}}}
    app.close()


def test_tasks_listed_and_completed(settings: Settings, reference: str) -> None:
    app = build_application(settings)
    with transaction(app.factory) as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        task = open_task(session, case, LadderStep.PHONE_CALL, due_at=app.clock(), now=app.clock())
        assert task is not None
        task_id = task.id
    app.close()

    listed = run(settings, "tasks", "--json")
    table = run(settings, "tasks")
    wrong = run(settings, "task", str(task_id), "--outcome", "hand_over")
    done = run(settings, "task", str(task_id), "--outcome", "reached", "--note", "betaalt morgen")

    assert listed.exit_code == 0, listed.output
    (form,) = json.loads(listed.output)["tasks"]
    assert (form["case"], form["kind"], form["status"]) == (reference, "phone_call", "open")
    assert "+32470123456" in table.output
    assert wrong.exit_code == 2
    assert done.exit_code == 0, done.output
    assert json.loads(run(settings, "tasks", "--json").output)["tasks"] == []
    (finished,) = json.loads(run(settings, "tasks", "--all", "--json").output)["tasks"]
    assert (finished["outcome"], finished["note"]) == ("reached", "betaalt morgen")


def test_outbox_resume_releases_the_brake(settings: Settings, reference: str) -> None:
    app = build_application(settings)
    with transaction(app.factory) as session:
        session.add(ReviewItem(kind="mass_bounce", reasons=["mass_bounce:12:40"]))
    app.close()

    listed = run(settings, "review").output
    released = run(settings, "outbox", "resume")
    again = run(settings, "outbox", "resume")

    assert "12 van 40 e-mails" in listed
    assert released.exit_code == 0, released.output
    assert "E-mail wordt weer verstuurd." in released.output
    assert "De rem was niet aangezet" in again.output


def test_debtor_corrected_after_a_bounce(settings: Settings, reference: str) -> None:
    run(settings, "pause", reference, "--reason", "bounced")

    result = run(
        settings, "debtor", reference, "--email", "an.janssens@werk.example",
        "--address", "Rue Haute 1, 4000 Liège", "--by", "Els",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert f"Dossier {reference}: postadres, e-mailadres gewijzigd." in result.output
    assert f"incasso resume {reference}" in result.output
    form = case_form(settings, reference)
    assert form["debtor"]["email"] == "an.janssens@werk.example"
    assert form["debtor"]["address"] == "Rue Haute 1, 4000 Liège"
    assert form["timeline"][-1]["kind"] == "debtor_changed"
    assert form["timeline"][-1]["actor"] == "Els"
    assert form["status"] == "paused"


def test_debtor_language_and_wrong_phone(settings: Settings, reference: str) -> None:
    french = run(settings, "debtor", reference, "--language", "fr")
    wrong = run(settings, "debtor", reference, "--phone", "12345")

    assert french.exit_code == 0, french.output
    assert case_form(settings, reference)["language"] == "fr"
    assert wrong.exit_code == 2
    assert "Telefoonnummer 12345 is ongeldig" in wrong.output


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("612,40", "612.40"),
        ("612,4", "612.40"),
        ("612.40", "612.40"),
        ("1.245,80", "1245.80"),
        ("1 245,80", "1245.80"),
        ("€ 1.245,80", "1245.80"),
        ("1245", "1245.00"),
        ("1.000.000,00", "1000000.00"),
    ],
)
def test_parse_amount(text: str, amount: str) -> None:
    assert parse_amount(text) == Decimal(amount)


@pytest.mark.parametrize(
    "text", ["1.245", "1,000.50", "12.345,678", "12,345", "-10", "honderd", "1.2.3", ""]
)
def test_parse_amount_refuses_unclear_amounts(text: str) -> None:
    with pytest.raises(InputError):
        parse_amount(text)


def test_overpayment_closes_with_a_warning(settings: Settings, reference: str) -> None:
    result = run(settings, "payment", reference, "300,00")

    assert result.exit_code == 0, result.output
    assert "met €\u00a050,00 meer dan verschuldigd" in result.output
    payment = case_form(settings, reference)["timeline"][-2]
    assert payment["kind"] == "payment_recorded"
    assert payment["detail"]["overpaid"] == "50.00"


def test_negative_and_unclear_amounts_are_refused(settings: Settings, reference: str) -> None:
    negative = run(settings, "payment", reference, "-10")
    thousands = run(settings, "payment", reference, "1.245")

    assert negative.exit_code == 2
    assert "Bedrag -10 is onduidelijk" in negative.output
    assert thousands.exit_code == 2
    assert case_form(settings, reference)["ladder"]["amount_paid"] == "0.00"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (["sms.enabled=false"], {"steps": {"sms": {"enabled": False}}}),
        (["second_reminder.delay_days=20"], {"steps": {"second_reminder": {"delay_days": 20}}}),
        (["charges.consumer_interest=TRUE"], {"charges": {"consumer_interest": True}}),
    ],
)
def test_parse_policy_changes(changes: list[str], expected: dict[str, Any]) -> None:
    assert parse_policy_changes(changes) == expected


@pytest.mark.parametrize("changes", [[], ["sms"], ["sms=3"], ["delay_days=3"]])
def test_parse_policy_changes_rejects(changes: list[str]) -> None:
    with pytest.raises(InputError):
        parse_policy_changes(changes)
