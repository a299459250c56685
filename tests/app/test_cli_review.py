"""Listing review items and marking them as handled from the command line, on each database.

Expected Dutch texts are read from the catalog, so the checks hold before and
after the translations of the new texts are merged.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from incasso.app.cli import build_cli
from incasso.app.context import build_application
from incasso.app.settings import Settings
from incasso.cases.summary import find_case
from incasso.i18n import translations
from incasso.store.db import read_transaction, transaction
from incasso.store.models import ReviewItem, ReviewKind, ReviewStatus
from tests.builders import active_case
from tests.conftest import make_settings

dutch = translations("nl").gettext


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Settings:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")  # wide tables: no wrapped words in the checks
    return make_settings(tmp_path, database_url, language="nl")


@pytest.fixture
def reference(settings: Settings) -> str:
    app = build_application(settings)
    created = active_case(app)
    app.close()
    return created


def add_item(settings: Settings, kind: ReviewKind, reference: str, *reasons: str) -> int:
    app = build_application(settings)
    with transaction(app.factory) as session:
        item = ReviewItem(kind=kind, reasons=list(reasons), case=find_case(session, reference))
        session.add(item)
        session.flush()
        item_id = item.id
    app.close()
    return item_id


def stored_item(settings: Settings, item_id: int) -> tuple[str, str | None]:
    app = build_application(settings)
    with read_transaction(app.factory) as session:
        item = session.get_one(ReviewItem, item_id)
        found = (item.status, item.detail)
    app.close()
    return found


def run(settings: Settings, *arguments: str) -> Any:
    return CliRunner().invoke(build_cli(settings), list(arguments))


def open_ids(settings: Settings) -> list[int]:
    result = run(settings, "review", "--json")
    assert result.exit_code == 0, result.output
    form = json.loads(result.output)
    assert form["schema"] == "incasso.review/1"
    return [item["id"] for item in form["items"]]


def test_resolve_a_reply_with_a_note(settings: Settings, reference: str) -> None:
    item_id = add_item(settings, ReviewKind.REPLY, reference, "intent:paid", "reply_to_read")
    assert open_ids(settings) == [item_id]

    result = run(settings, "resolve", str(item_id), "--note", "Betaling gezien", "--by", "Els")

    assert result.exit_code == 0, result.output
    assert dutch("Review item {id} marked as handled.").format(id=item_id) in result.output
    assert stored_item(settings, item_id) == (
        ReviewStatus.RESOLVED,
        "resolved by Els: Betaling gezien",
    )
    assert open_ids(settings) == []
    case = json.loads(run(settings, "case", reference, "--json").output)
    last = case["timeline"][-1]
    assert (last["kind"], last["actor"]) == ("review_resolved", "Els")
    assert last["detail"]["note"] == "Betaling gezien"


def test_resolve_names_the_login_by_default(settings: Settings, reference: str) -> None:
    item_id = add_item(settings, ReviewKind.SEND_FAILED, reference)

    result = run(settings, "resolve", str(item_id))

    assert result.exit_code == 0, result.output
    assert stored_item(settings, item_id) == (
        ReviewStatus.RESOLVED,
        f"resolved by {getpass.getuser()}",
    )


def test_resolve_twice_says_so(settings: Settings, reference: str) -> None:
    item_id = add_item(settings, ReviewKind.SEND_FAILED, reference)
    run(settings, "resolve", str(item_id), "--by", "Els")

    again = run(settings, "resolve", str(item_id), "--by", "Marc")

    assert again.exit_code == 0, again.output
    expected = dutch("Review item {id} was handled already; nothing changed.")
    assert expected.format(id=item_id) in again.output
    assert stored_item(settings, item_id) == (ReviewStatus.RESOLVED, "resolved by Els")


def test_resolve_rejects_draft(settings: Settings, reference: str) -> None:
    item_id = add_item(settings, ReviewKind.DRAFT, reference, "missing:due_date")

    result = run(settings, "resolve", str(item_id))

    assert result.exit_code == 2
    assert f"{item_id}" in result.output
    assert stored_item(settings, item_id) == (ReviewStatus.OPEN, None)
    assert open_ids(settings) == [item_id]


def test_resolve_unknown_item_exits_1(settings: Settings, reference: str) -> None:
    result = run(settings, "resolve", "424242")

    assert result.exit_code == 1
    assert "424242" in result.output


def test_review_lists_open_items(settings: Settings, reference: str) -> None:
    add_item(settings, ReviewKind.REPLY, reference, "intent:dispute")

    listed = run(settings, "review")

    assert listed.exit_code == 0, listed.output
    assert dutch("Waiting for review") in listed.output
    assert reference in listed.output
