"""The command line as a user runs it: in a folder of their own, in Dutch or in French."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from incasso.app.cli import build_cli
from incasso.app.settings import Settings
from tests.factories.invoice_pdf import example_spec, make_invoice_pdf

CREDITOR_OPTIONS = [
    "creditor", "add",
    "--code", "VANDAMME",
    "--name", "Schrijnwerkerij Vandamme BV",
    "--enterprise-number", "", "--address", "Kerkstraat 1, 9000 Gent",
    "--phone", "+32 9 123 45 67",
    "--sender", "",
]  # fmt: skip


# The top-level keys of incasso.case/1 as docs/json.md lists them; scripts rely on them.
DOCUMENTED_CASE_KEYS = {
    "schema", "reference", "status", "structured_communication", "creditor", "debtor",
    "balance", "currency", "next_step", "next_step_due_at", "created_at", "language",
    "invoices", "review", "ladder", "charges", "tasks", "timeline",
}  # fmt: skip


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")  # wide tables: no wrapped words in the checks
    for name in ("INCASSO_LANGUAGE", "INCASSO_DATA_DIR", "INCASSO_DATABASE_URL", "INCASSO_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


# A Tuesday morning in Brussels: inside the hours in which debtors may be contacted.
TUESDAY_MORNING = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
SUNDAY_NIGHT = datetime(2026, 12, 6, 22, 30, tzinfo=UTC)


def run(*arguments: str, language: str = "nl", now: datetime = TUESDAY_MORNING) -> Any:
    cli = build_cli(Settings(language=language), clock=lambda: now)
    return CliRunner().invoke(cli, list(arguments))


def creditor_arguments() -> list[str]:
    party = example_spec("nl").creditor
    arguments = list(CREDITOR_OPTIONS)
    arguments[arguments.index("--enterprise-number") + 1] = party.vat
    arguments[arguments.index("--sender") + 1] = party.email.partition("@")[2]
    return arguments


def submission_file(folder: Path) -> Path:
    spec = example_spec("nl")
    message = EmailMessage()
    message["From"] = spec.creditor.email
    message["To"] = "intake@incasso.test"
    message["Subject"] = "Onbetaalde factuur"
    message["Message-ID"] = "<cli-1@vandamme.example>"
    message.set_content("Zie bijlage.")
    message.add_attachment(
        make_invoice_pdf(spec), maintype="application", subtype="pdf", filename="f.pdf"
    )
    folder.mkdir(exist_ok=True)
    path = folder / "submission.eml"
    path.write_bytes(message.as_bytes())
    return path


def test_creditor_add_and_list(workdir: Path) -> None:
    added = run(*creditor_arguments())

    assert added.exit_code == 0, added.output
    assert "Schuldeiser VANDAMME geregistreerd." in added.output
    listed = json.loads(run("creditor", "list", "--json").output)
    assert listed["schema"] == "incasso.creditors/1"
    domain = example_spec("nl").creditor.email.partition("@")[2]
    assert listed["creditors"][0]["senders"] == ["@" + domain]
    assert (workdir / "var" / "incasso.db").is_file()


def test_creditor_errors_in_the_users_language(workdir: Path) -> None:
    run(*creditor_arguments())

    dutch = run(*creditor_arguments())
    french = run(*creditor_arguments(), language="fr")

    assert dutch.exit_code == 2
    assert "Code VANDAMME is al in gebruik" in dutch.output
    assert french.exit_code == 2
    assert "Le code VANDAMME est déjà utilisé" in french.output


def test_invalid_enterprise_number_is_named(workdir: Path) -> None:
    arguments = creditor_arguments()
    arguments[arguments.index("--enterprise-number") + 1] = "0123.456.789"

    result = run(*arguments)

    assert result.exit_code == 2
    assert "Ondernemingsnummer 0123.456.789 is ongeldig" in result.output


def test_intake_cases_and_case_json(workdir: Path) -> None:
    run(*creditor_arguments())
    drop = workdir / "drop"
    submission_file(drop)

    first = run("intake", str(drop))
    again = run("intake", str(drop))

    assert "1 nieuw, 0 al gekend" in first.output
    assert "0 nieuw, 1 al gekend" in again.output
    listing = json.loads(run("cases", "--json").output)
    (summary,) = listing["cases"]
    assert summary["status"] == "active"
    form = json.loads(run("case", summary["reference"], "--json").output)
    assert form["schema"] == "incasso.case/1"
    assert set(form) == DOCUMENTED_CASE_KEYS
    assert set(form["timeline"][0]) == {"at", "kind", "actor", "detail", "message_id", "message"}
    assert form["invoices"][0]["fields"]["due_date"]["value"] == "2026-10-14"
    assert [entry["kind"] for entry in form["timeline"]][:2] == [
        "submission_received",
        "case_opened",
    ]
    assert form["timeline"][0]["message_id"] == "<cli-1@vandamme.example>"


def test_case_not_found(workdir: Path) -> None:
    result = run("case", "2099-99999")

    assert result.exit_code == 1
    assert "Dossier 2099-99999 niet gevonden." in result.output


def test_run_jobs_sends_to_outbox_folder(workdir: Path) -> None:
    run(*creditor_arguments())
    run("intake", str(submission_file(workdir / "drop")))

    result = run("run-jobs")

    assert "Stappen van de ladder uitgevoerd: 1. Verstuurd: 1." in result.output
    assert len(list((workdir / "var" / "outbox").glob("*.eml"))) == 1


def test_run_jobs_at_night_names_next_time(workdir: Path) -> None:
    run(*creditor_arguments())
    run("intake", str(submission_file(workdir / "drop")), now=SUNDAY_NIGHT)

    night = run("run-jobs", now=SUNDAY_NIGHT)
    morning = run("run-jobs")

    assert "Stappen van de ladder uitgevoerd: 0." in night.output
    assert "wachten vervallen stappen tot 2026-12-07 08:00" in night.output
    assert "Stappen van de ladder uitgevoerd: 1." in morning.output
    assert "wachten vervallen stappen" not in morning.output


def test_review_lists_unknown_sender(workdir: Path) -> None:
    run("intake", str(submission_file(workdir / "drop")))

    result = json.loads(run("review", "--json").output)

    (item,) = result["items"]
    assert item["kind"] == "draft"
    assert item["reasons"] == ["unknown_sender"]
    assert "afzender is geen geregistreerde schuldeiser" in run("review").output


def test_demo_outside_contact_hours_acts_as_the_next_morning(workdir: Path) -> None:
    result = run("demo", now=SUNDAY_NIGHT)

    assert result.exit_code == 0, result.output
    assert "alsof het 2026-12-07 08:00 was" in result.output
    assert len(list((workdir / "var" / "outbox").glob("*.eml"))) == 3


def test_demo_runs_the_whole_path_and_is_repeatable(workdir: Path) -> None:
    first = run("demo")

    assert first.exit_code == 0, first.output
    cases = json.loads(run("cases", "--json").output)["cases"]
    assert len(cases) == 3
    outbox = sorted((workdir / "var" / "outbox").glob("*.eml"))
    assert len(outbox) == 3
    answered = json.loads(run("case", "2026-00001", "--json").output)
    assert "reply_received" in [entry["kind"] for entry in answered["timeline"]]
    # The debtor answers that the invoice is paid: the ladder waits while staff check it.
    statuses = {case["reference"]: case["status"] for case in cases}
    assert statuses.pop("2026-00001") == "paused"
    assert answered["ladder"]["hold_reason"] == "payment_claimed"
    assert set(statuses.values()) == {"active"}

    second = run("demo")

    assert second.exit_code == 0, second.output
    assert len(json.loads(run("cases", "--json").output)["cases"]) == 3
    assert sorted((workdir / "var" / "outbox").glob("*.eml")) == outbox
    again = json.loads(run("case", "2026-00001", "--json").output)
    assert [e["kind"] for e in again["timeline"]].count("reply_received") == 1


def test_intake_with_unknown_creditor_code_is_refused(workdir: Path) -> None:
    pdf = workdir / "f.pdf"
    pdf.write_bytes(make_invoice_pdf(example_spec("nl")))

    result = run("intake", str(pdf), "--creditor", "NOPE")

    assert result.exit_code == 2
    assert "Schuldeiser NOPE is niet geregistreerd" in result.output
    assert json.loads(run("cases", "--json").output)["cases"] == []


def test_intake_of_a_missing_path_fails(workdir: Path) -> None:
    pdf = workdir / "f.pdf"
    pdf.write_bytes(make_invoice_pdf(example_spec("nl")))

    result = run("intake", str(pdf), str(workdir / "nergens.eml"))

    assert result.exit_code == 2
    assert "nergens.eml bestaat niet" in result.output
    assert json.loads(run("cases", "--json").output)["cases"] == []


def test_help_frame_in_dutch_and_french(workdir: Path) -> None:
    dutch = run("cases", "-h")
    french = run("-h", language="fr")

    assert dutch.exit_code == 0
    assert "Gebruik:" in dutch.output
    assert "Opties" in dutch.output
    assert "Toon deze hulp en stop." in dutch.output
    assert "Usage" not in dutch.output
    assert "[OPTIES]" in dutch.output
    pause = run("pause", "-h").output
    assert "<tekst>" in pause
    assert "<str>" not in pause
    assert "<bool>" not in pause
    assert "Utilisation\u00a0:" in french.output  # French puts a no-break space before ":"
    assert "Commandes" in french.output


def test_unknown_status_is_rejected(workdir: Path) -> None:
    result = run("cases", "--status", "actief")

    assert result.exit_code == 2
    assert "draft" in result.output


def test_creditor_list_prints_dotted_number(workdir: Path) -> None:
    run(*creditor_arguments())

    listed = run("creditor", "list").output

    vat = example_spec("nl").creditor.vat.removeprefix("BE")
    assert f"{vat[:4]}.{vat[4:7]}.{vat[7:]}" in listed


def test_wrong_check_digits_are_named(workdir: Path) -> None:
    arguments = creditor_arguments()
    vat = example_spec("nl").creditor.vat.removeprefix("BE")
    wrong = vat[:-1] + str((int(vat[-1]) + 1) % 10)
    arguments[arguments.index("--enterprise-number") + 1] = wrong

    result = run(*arguments)

    assert result.exit_code == 2
    assert "de controlecijfers kloppen niet" in result.output
