"""Tests for the value parsers in incasso.intake.extract.normalize."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from incasso.intake.extract.normalize import (
    Exclusions,
    find_amount,
    find_amounts,
    find_currency,
    find_date,
    find_emails,
    find_ogm,
    find_vats,
    format_amount,
    normalize_email,
    normalize_vat,
    parse_amount,
    parse_date,
    parse_ogm,
    payment_term_days,
)

NBSP = "\u00a0"
NNBSP = "\u202f"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234,56", "1234.56"),
        ("1 234,56", "1234.56"),
        (f"1{NBSP}234,56", "1234.56"),
        (f"2{NNBSP}637,80 €", "2637.80"),
        (f"2{NNBSP}637,80{NBSP}€", "2637.80"),
        ("€ 1.234,56", "1234.56"),
        ("€1.234,56", "1234.56"),
        ("EUR 612,40", "612.40"),
        ("612,40 EUR", "612.40"),
        ("3,448.50", "3448.50"),
        ("USD 3,448.50", "3448.50"),
        ("1234.5", "1234.50"),
        ("1234,5", "1234.50"),
        ("612,40-", "-612.40"),
        ("€ 612,40-", "-612.40"),
        ("-12,00", "-12.00"),
        ("€ -12,00", "-12.00"),
        ("\u221212,00", "-12.00"),
        ("0,00", "0.00"),
        ("184,50", "184.50"),
        ("1234", "1234.00"),
        ("1.234.567", "1234567.00"),
        ("1 234 567,89", "1234567.89"),
        ("1.234.567,89", "1234567.89"),
        ("1,234,567.89", "1234567.89"),
        ("1 234", "1234.00"),
        ("CHF 1'234.50", "1234.50"),
        ("£ 99.99", "99.99"),
    ],
)
def test_parse_amount_reads_format(text: str, expected: str) -> None:
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "€",
        "abc",
        "1.234",  # Belgian 1234 or English 1.234: ambiguous
        "1,234",
        "12,345",
        "1,2,3",
        "12.34.56",
        "1.234,567",
        "1.234.567,891",
        "1,234.567",
        "1.234,56.78",
        "1 23,45",  # a group after the first must have three digits
        "1.234 567,00",  # two kinds of thousands separator
        "12a,00",
        "1234567890123,00",  # more than twelve integer digits
        "--12,00",
        "12,00 34",
    ],
)
def test_parse_amount_rejects_garbage(text: str) -> None:
    assert parse_amount(text) is None


def test_format_amount_two_decimals() -> None:
    assert format_amount(Decimal("1234.5")) == "1234.50"
    assert format_amount(Decimal("-612.4")) == "-612.40"
    assert format_amount(Decimal("-0.00")) == "0.00"


def test_find_amounts_skips_dates_percentages() -> None:
    text = "Totaal incl. 21% btw op 14/10/2026 en 14.10.2026 (nr 2026-0412): € 1.234,56"
    amounts = find_amounts(text)

    assert [amount.value for amount in amounts if amount.has_decimals] == [Decimal("1234.56")]
    assert Decimal("14") not in [amount.value for amount in amounts]
    assert Decimal("10") not in [amount.value for amount in amounts]
    assert Decimal("21") not in [amount.value for amount in amounts]


def test_find_amounts_attaches_sign_currency() -> None:
    amounts = find_amounts("Betaald -€ 5,00 en 612,40- EUR")

    assert [amount.value for amount in amounts] == [Decimal("-5.00"), Decimal("-612.40")]
    assert amounts[0].raw == "-€ 5,00"
    assert amounts[0].currency == "EUR"
    assert amounts[1].currency == "EUR"


def test_find_amounts_dash_is_not_minus() -> None:
    amounts = find_amounts("Totaal - 12,00")
    assert [amount.value for amount in amounts] == [Decimal("12.00")]


def test_find_amount_prefers_last_decimal_amount() -> None:
    found = find_amount("21 % 38,82 1.234,56")
    assert found is not None
    assert found.value == Decimal("1234.56")


def test_find_amount_whole_number_alone() -> None:
    found = find_amount("EUR 612")
    assert found is not None
    assert found.value == Decimal("612.00")
    assert find_amount("Te betalen binnen 30 dagen") is None
    assert find_amount("3 stuks 12 kg") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14/10/2026", date(2026, 10, 14)),
        ("14-10-2026", date(2026, 10, 14)),
        ("14.10.2026", date(2026, 10, 14)),
        ("8-9-2022", date(2022, 9, 8)),
        ("2026-10-14", date(2026, 10, 14)),
        ("14/10/26", date(2026, 10, 14)),
        ("12 maart 2026", date(2026, 3, 12)),
        ("17 mrt 2026", date(2026, 3, 17)),
        ("17 mrt. 2026", date(2026, 3, 17)),
        ("2 octobre 2026", date(2026, 10, 2)),
        ("1er novembre 2026", date(2026, 11, 1)),
        ("le 3 février 2026", date(2026, 2, 3)),
        ("le 3 fevrier 2026", date(2026, 2, 3)),
        ("3 FÉVRIER 2026", date(2026, 2, 3)),
        ("15 août 2026", date(2026, 8, 15)),
        ("October 2, 2026", date(2026, 10, 2)),
        ("October 2 , 2026", date(2026, 10, 2)),
        ("Oct. 2nd, 2026", date(2026, 10, 2)),
        ("2 Oct 2026", date(2026, 10, 2)),
        ("2nd October 2026", date(2026, 10, 2)),
        ("maandag 5 januari 2026", date(2026, 1, 5)),
        ("7. Mai 2014", date(2014, 5, 7)),
        ("Factuur 2026-0412 van 14/10/2026", date(2026, 10, 14)),
    ],
)
def test_parse_date_reads_format(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "10/14/2026",  # US month-first: month 14 does not exist
        "31/02/2026",
        "32 maart 2026",
        "14/10-2026",  # mixed separators
        "2026-0412",
        "1.234,56",
        "maart 2026",
        "30 dagen",
    ],
)
def test_parse_date_rejects_invalid(text: str) -> None:
    assert parse_date(text) is None


def test_find_date_returns_raw_text() -> None:
    found = find_date("Vervaldatum: 15 oktober 2026.")
    assert found is not None
    assert found.raw == "15 oktober 2026"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Betaling binnen 30 dagen", 30),
        ("payable à 30 jours", 30),
        ("Payable a 30 jours date de facture", 30),
        ("Net 30 days", 30),
        ("Payment terms: Net 14", 14),
        ("30 dagen na factuurdatum", 30),
        ("Te betalen binnen 15 kalenderdagen", 15),
        ("Payment due within 45 days", 45),
    ],
)
def test_payment_term_days_reads_term(text: str, expected: int) -> None:
    assert payment_term_days(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Garantie 30 jours",
        "30 jours fin de mois",
        "Betaling 30 dagen einde maand",
        "Betaling binnen 30 dagen, intrest na 15 dagen",  # two different terms
        "Net 30,00",
        "Betaling binnen 0 dagen",
    ],
)
def test_payment_term_days_rejects_unclear(text: str) -> None:
    assert payment_term_days(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("€ 12", "EUR"),
        ("12 EUR", "EUR"),
        ("eur 12", "EUR"),
        ("USD 12", "USD"),
        ("$12", "USD"),
        ("US$ 12", "USD"),
        ("£3", "GBP"),
        ("GBP 3", "GBP"),
        ("CHF 5", "CHF"),
    ],
)
def test_find_currency_reads_sign(text: str, expected: str) -> None:
    assert find_currency(text) == expected


def test_find_currency_none_without_sign() -> None:
    assert find_currency("Europe 12,00") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("BE0123456749", "BE0123456749"),
        ("BE 0123.456.749", "BE0123456749"),
        ("be 0123 456 749", "BE0123456749"),
        ("0123.456.749", "BE0123456749"),
        ("0123456749", "BE0123456749"),
        ("123.456.749", "BE0123456749"),  # old nine-digit form
        ("NL004495445B01", "NL004495445B01"),
    ],
)
def test_normalize_vat_valid(text: str, expected: str) -> None:
    assert normalize_vat(text) == expected


@pytest.mark.parametrize(
    "text", ["", "BE0123456748", "0123.456.748", "BE 12", "21%", "XX123456789"]
)
def test_normalize_vat_invalid(text: str) -> None:
    assert normalize_vat(text) is None


def test_find_vats_needs_prefix_or_dots() -> None:
    assert find_vats("BTW: BE 0123.456.749 - Tel 0471234567") == ["BE0123456749"]
    assert find_vats("Ondernemingsnummer 0123.456.749") == ["BE0123456749"]
    assert find_vats("0123456749") == []
    assert find_vats("IBAN BE68 5390 0754 7034") == []


def test_find_emails_lower_case() -> None:
    text = "Mail Jan.Peeters@Voorbeeld.EXAMPLE of info@x.test."
    assert find_emails(text) == ["jan.peeters@voorbeeld.example", "info@x.test"]


def test_normalize_email_strips_mailto() -> None:
    assert normalize_email("mailto:A.B@Example.TEST") == "a.b@example.test"
    assert normalize_email("not an address") is None


@pytest.mark.parametrize(
    "text",
    [
        "+++010/8068/17183+++",
        "***010/8068/17183***",
        "+++ 010 / 8068 / 17183 +++",
        "010/8068/17183",
        "+++010806817183+++",
    ],
)
def test_parse_ogm_valid_forms(text: str) -> None:
    assert parse_ogm(text) == "010806817183"


def test_parse_ogm_rejects_bad_check_digits() -> None:
    assert parse_ogm("+++010/8068/17180+++") is None


def test_parse_ogm_bare_digits_only_when_allowed() -> None:
    assert parse_ogm("010806817183") is None
    assert parse_ogm("010806817183", allow_bare_digits=True) == "010806817183"
    assert parse_ogm("010806817180", allow_bare_digits=True) is None


def test_find_ogm_in_sentence() -> None:
    found = find_ogm("Vermeld bij betaling +++010/8068/17183+++ aub")
    assert found == ("010806817183", "+++010/8068/17183+++")


def test_exclusions_sort_entries() -> None:
    exclusions = Exclusions.from_entries(
        ["Info@Acme.example", "@acme.test", "bakker.example", "BE 0123.456.749", "nonsense"]
    )

    assert exclusions.emails == frozenset({"info@acme.example"})
    assert exclusions.domains == frozenset({"acme.test", "bakker.example"})
    assert exclusions.vats == frozenset({"BE0123456749"})
    assert exclusions.unrecognized == ("nonsense",)


def test_exclusions_match_domains_and_vats() -> None:
    exclusions = Exclusions.from_entries(["@acme.test", "0123.456.749"])

    assert exclusions.excludes_email("billing@acme.test")
    assert exclusions.excludes_email("x@mail.acme.test")
    assert not exclusions.excludes_email("x@notacme.test")
    assert exclusions.excludes_vat("BE0123456749")
    assert not exclusions.excludes_vat("BE0403170701")
