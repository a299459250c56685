"""Imports between the rooms of the package only point down the layer table."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "incasso"

# Rooms each room may import, besides itself and the leaf module incasso.i18n.
ALLOWED = {
    "store": set(),
    "cases": {"store"},
    "intake": {"store", "cases"},
    "outbound": {"store", "cases"},
    "scheduler": {"store", "cases", "outbound"},
    "payments": {"store", "cases"},
    "review": {"store", "cases", "intake", "outbound", "scheduler", "payments"},
    "app": {"store", "cases", "intake", "outbound", "scheduler", "payments", "review"},
}
LEAVES = {"i18n"}


def imported_rooms(path: Path) -> set[str]:
    rooms = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "incasso" and len(parts) > 1:
                rooms.add(parts[1])
    return rooms


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_room_imports_only_lower_rooms(room: str) -> None:
    offences = []
    for path in sorted((PACKAGE / room).rglob("*.py")):
        for imported in imported_rooms(path) - ALLOWED[room] - LEAVES - {room}:
            offences.append(f"{path.relative_to(PACKAGE)} imports incasso.{imported}")

    assert offences == []


def test_every_room_is_in_the_table() -> None:
    rooms = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").is_file()}

    assert rooms - {"templates", "locale", "demo_data"} == set(ALLOWED)
