"""Our address scheme: per-case reply addresses and per-message return paths (VERP)."""

from __future__ import annotations

import pytest

from incasso.cases.addresses import Addresses

ADDRESSES = Addresses(mail_domain="incasso.test")


def test_bounce_address_names_case_and_message() -> None:
    address = ADDRESSES.bounce_address("2026-00017", "3f9a0c1b2d4e")

    assert address == "bounce+2026-00017.3f9a0c1b2d4e@incasso.test"


def test_bounce_address_round_trip() -> None:
    address = ADDRESSES.bounce_address("2026-00017", "3f9a0c1b2d4e")

    assert ADDRESSES.parse_bounce_address(address) == ("2026-00017", "3f9a0c1b2d4e")


PARSE_CASES = [
    ("<bounce+2026-00017.3f9a0c1b2d4e@incasso.test>", ("2026-00017", "3f9a0c1b2d4e")),
    ("BOUNCE+2026-00017.3F9A0C1B2D4E@INCASSO.TEST", ("2026-00017", "3f9a0c1b2d4e")),
    ("bounce+abc-1.ff@incasso.test", ("ABC-1", "ff")),
    ("bounce+2026-00017.3f9a0c1b2d4e@other.test", None),
    ("dossier+2026-00017@incasso.test", None),
    ("bounce@incasso.test", None),
    ("bounce+2026-00017@incasso.test", None),
    ("bounce+.3f9a@incasso.test", None),
    ("bounce+2026-00017.@incasso.test", None),
    ("bounce+2026 00017.3f9a@incasso.test", None),
    ("not an address", None),
]


@pytest.mark.parametrize(("address", "expected"), PARSE_CASES)
def test_parse_bounce_address(address: str, expected: tuple[str, str] | None) -> None:
    assert ADDRESSES.parse_bounce_address(address) == expected


@pytest.mark.parametrize(
    ("reference", "token"),
    [("2026.00017", "ab"), ("2026-00017", "a+b"), ("", "ab"), ("2026-00017", "a@b")],
)
def test_bounce_address_rejects_separators(reference: str, token: str) -> None:
    with pytest.raises(ValueError, match="cannot be part of a return path"):
        ADDRESSES.bounce_address(reference, token)


def test_bounce_local_part_is_configurable() -> None:
    addresses = Addresses(mail_domain="incasso.test", bounce_local_part="retour")

    address = addresses.bounce_address("2026-00017", "ab12")

    assert address == "retour+2026-00017.ab12@incasso.test"
    assert addresses.parse_bounce_address(address) == ("2026-00017", "ab12")
    assert ADDRESSES.parse_bounce_address(address) is None


def test_reply_address_unchanged() -> None:
    assert ADDRESSES.reply_address("2026-00017") == "dossier+2026-00017@incasso.test"
