"""The ``incasso rate`` commands as staff run them, on each database in turn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from incasso.app.cli import build_cli
from incasso.app.cli_rates import add_rate_commands
from incasso.app.context import Application, build_application
from incasso.app.help import localize_help
from incasso.app.settings import Settings
from tests.conftest import make_settings

# The rates the schema migration stores: seven half-years and four years.
SEEDED_B2B = 7
SEEDED_LEGAL = 4


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Settings:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")  # wide tables: no wrapped words in the checks
    return make_settings(tmp_path, database_url, language="nl")


def run(settings: Settings, *arguments: str) -> Any:
    return CliRunner().invoke(build_cli(settings), list(arguments))


def listed(settings: Settings, *options: str) -> list[dict[str, Any]]:
    result = run(settings, "rate", "list", "--json", *options)
    assert result.exit_code == 0, result.output
    form = json.loads(result.output)
    assert form["schema"] == "incasso.rates/1"
    return list(form["rates"])


def test_rate_list_json_shows_seeded_rates(settings: Settings) -> None:
    rates = listed(settings)

    assert len(rates) == SEEDED_B2B + SEEDED_LEGAL
    first = rates[0]
    assert first["kind"] == "b2b"
    assert first["valid_from"] == "2023-01-01"
    assert first["percent"] == "10.50"
    assert first["created_by"] == "migration 0003"
    assert set(first) == {
        "id", "kind", "valid_from", "percent", "source", "created_by", "created_at",
    }  # fmt: skip


def test_rate_list_filters_by_kind(settings: Settings) -> None:
    legal = listed(settings, "--kind", "legal")

    assert [rate["kind"] for rate in legal] == ["legal"] * SEEDED_LEGAL
    assert [rate["percent"] for rate in legal] == ["5.25", "5.75", "4.50", "4.50"]


def test_rate_list_table_writes_dutch_decimals(settings: Settings) -> None:
    result = run(settings, "rate", "list", "--kind", "b2b")

    assert result.exit_code == 0, result.output
    assert "12,50" in result.output
    assert "2024-07-01" in result.output
    assert "12.50" not in result.output


def test_rate_add_then_list(settings: Settings) -> None:
    added = run(
        settings,
        "rate", "add",
        "--kind", "b2b",
        "--from", "2026-07-01",
        "--percent", "10,50",
        "--source", "FPS Finance notice, second half of 2026",
    )  # fmt: skip

    assert added.exit_code == 0, added.output
    assert "2026-07-01" in added.output
    assert "10,50" in added.output
    newest = listed(settings, "--kind", "b2b")[-1]
    assert newest["valid_from"] == "2026-07-01"
    assert newest["percent"] == "10.50"
    assert newest["source"] == "FPS Finance notice, second half of 2026"
    assert newest["created_by"].startswith("cli:")


def test_rate_add_stores_who_added_it(settings: Settings) -> None:
    added = run(
        settings,
        "rate", "add",
        "--kind", "legal",
        "--from", "2027-01-01",
        "--percent", "4,25",
        "--source", "Belgisch Staatsblad",
        "--by", "Els",
    )  # fmt: skip

    assert added.exit_code == 0, added.output
    assert listed(settings, "--kind", "legal")[-1]["created_by"] == "Els"


@pytest.mark.parametrize(
    ("kind", "valid_from", "percent", "named"),
    [
        ("b2b", "2026-08-01", "10.50", "2026-08-01"),  # not a half-year start
        ("legal", "2027-07-01", "4.50", "2027-07-01"),  # not 1 January
        ("legal", "2027-13-01", "4.50", "2027-13-01"),  # no such date
        ("legal", "2027-01-01", "0", "0"),
        ("legal", "2027-01-01", "30.5", "30.5"),
        ("legal", "2027-01-01", "four", "four"),
        ("b2b", "2026-01-01", "10.50", "2026-01-01"),  # stored already
    ],
)
def test_rate_add_rejects_with_exit_code_2(
    settings: Settings, kind: str, valid_from: str, percent: str, named: str
) -> None:
    result = run(
        settings,
        "rate", "add", "--kind", kind, "--from", valid_from, "--percent", percent,
        "--source", "notice",
    )  # fmt: skip

    assert result.exit_code == 2
    assert named in result.output
    assert len(listed(settings)) == SEEDED_B2B + SEEDED_LEGAL


def test_rate_add_unknown_kind(settings: Settings) -> None:
    result = run(
        settings,
        "rate", "add", "--kind", "ecb", "--from", "2027-01-01", "--percent", "4",
        "--source", "notice",
    )  # fmt: skip

    assert result.exit_code == 2
    assert len(listed(settings)) == SEEDED_B2B + SEEDED_LEGAL


def marked(text: str) -> str:
    """A stand-in translation that shows which texts went through the catalog."""
    return "«" + text + "»"


def marked_cli(settings: Settings, applications: list[Application]) -> typer.Typer:
    group_class, command_class = localize_help(lambda text: text)
    cli = typer.Typer(cls=group_class, no_args_is_help=True, add_completion=False)

    def application() -> Application:
        built = build_application(settings)
        applications.append(built)
        return built

    add_rate_commands(
        cli,
        settings=settings,
        _=marked,
        console=Console(),
        application=application,
        group_class=group_class,
        command_class=command_class,
    )
    return cli


def test_texts_go_through_the_catalog(settings: Settings) -> None:
    applications: list[Application] = []
    cli = marked_cli(settings, applications)
    runner = CliRunner()

    help_text = runner.invoke(cli, ["rate", "add", "--help"]).output
    rejected = runner.invoke(
        cli,
        ["rate", "add", "--kind", "b2b", "--from", "2026-08-01", "--percent", "10.5",
         "--source", "notice"],
    )  # fmt: skip
    added = runner.invoke(
        cli,
        ["rate", "add", "--kind", "b2b", "--from", "2026-07-01", "--percent", "10.5",
         "--source", "notice"],
    )  # fmt: skip
    for application in applications:
        application.close()

    assert "«Rate in percent per year, e.g. 10.50.»" in help_text
    assert rejected.exit_code == 2
    assert rejected.output.startswith("«Start date 2026-08-01 is invalid for a b2b rate")
    assert added.exit_code == 0, added.output
    assert added.output.startswith("«Added the b2b rate of 10,50% from 2026-07-01.»")
