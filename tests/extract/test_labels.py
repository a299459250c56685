"""Tests for label matching and language detection in incasso.intake.extract.labels."""

from __future__ import annotations

import pytest

from incasso.intake.extract.labels import (
    Label,
    LabelKind,
    detect_language,
    find_credit_note_title,
    find_labels,
)


def _kinds(text: str) -> list[tuple[LabelKind, str]]:
    return [(match.kind, match.text) for match in find_labels(text)]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Factuurnummer: 1", LabelKind.INVOICE_NUMBER),
        ("Factuur nr. 1", LabelKind.INVOICE_NUMBER),
        ("Factuurnr 1", LabelKind.INVOICE_NUMBER),
        ("Facture n° 1", LabelKind.INVOICE_NUMBER),
        ("Facture n°562044387", LabelKind.INVOICE_NUMBER),
        ("N° de facture : 1", LabelKind.INVOICE_NUMBER),
        ("Numéro de facture 1", LabelKind.INVOICE_NUMBER),
        ("Invoice no. 1", LabelKind.INVOICE_NUMBER),
        ("Invoice number 1", LabelKind.INVOICE_NUMBER),
        ("Factuurdatum", LabelKind.ISSUE_DATE),
        ("Datum: 1/2/2026", LabelKind.ISSUE_DATE),
        ("Date de facture", LabelKind.ISSUE_DATE),
        ("Date : 1/2/2026", LabelKind.ISSUE_DATE),
        ("Invoice date", LabelKind.ISSUE_DATE),
        ("Vervaldatum", LabelKind.DUE_DATE),
        ("Vervaldag", LabelKind.DUE_DATE),
        ("Uiterste betaaldatum", LabelKind.DUE_DATE),
        ("Échéance", LabelKind.DUE_DATE),
        ("Date d'échéance", LabelKind.DUE_DATE),
        ("Date limite de paiement", LabelKind.DUE_DATE),
        ("Due date", LabelKind.DUE_DATE),
        ("Payment due", LabelKind.DUE_DATE),
        ("Klantgegevens", LabelKind.DEBTOR_BLOCK),
        ("Factuur aan", LabelKind.DEBTOR_BLOCK),
        ("Klant", LabelKind.DEBTOR_BLOCK),
        ("Aan:", LabelKind.DEBTOR_BLOCK),
        ("Client :", LabelKind.DEBTOR_BLOCK),
        ("Facturé à", LabelKind.DEBTOR_BLOCK),
        ("Destinataire", LabelKind.DEBTOR_BLOCK),
        ("Bill to", LabelKind.DEBTOR_BLOCK),
        ("Customer", LabelKind.DEBTOR_BLOCK),
        ("Invoice to:", LabelKind.DEBTOR_BLOCK),
        ("BTW: BE0123456749", LabelKind.VAT),
        ("BTW-nr BE0123456749", LabelKind.VAT),
        ("Ondernemingsnummer 0123.456.749", LabelKind.VAT),
        ("TVA BE0123456749", LabelKind.VAT),
        ("N° TVA BE0123456749", LabelKind.VAT),
        ("Numéro d'entreprise 0123.456.749", LabelKind.VAT),
        ("VAT number BE0123456749", LabelKind.VAT),
        ("E-mail: a@b.test", LabelKind.EMAIL),
        ("Email a@b.test", LabelKind.EMAIL),
        ("Courriel : a@b.test", LabelKind.EMAIL),
        ("Mail: a@b.test", LabelKind.EMAIL),
        ("Uw btw-nummer: BE0123456749", LabelKind.DEBTOR_VAT),
        ("Mededeling: +++", LabelKind.PAYMENT_REFERENCE),
    ],
)
def test_find_labels_kind(text: str, kind: LabelKind) -> None:
    matches = find_labels(text)
    assert matches, f"no label in {text!r}"
    assert matches[0].kind is kind
    assert matches[0].start == 0


@pytest.mark.parametrize(
    ("text", "rank"),
    [
        ("Te betalen", 3),
        ("Totaal te betalen", 3),
        ("Openstaand saldo", 3),
        ("Saldo", 3),
        ("Montant à payer", 3),
        ("Solde", 3),
        ("Net à payer", 3),
        ("Amount due", 3),
        ("Balance due", 3),
        ("Total due", 3),
        ("Due payable", 3),
        ("Totaal incl. btw", 2),
        ("Total TVAC", 2),
        ("Total TTC", 2),
        ("Totaal", 1),
        ("Total", 1),
    ],
)
def test_amount_labels_rank(text: str, rank: int) -> None:
    matches = find_labels(text)
    assert [match.kind for match in matches] == [LabelKind.AMOUNT_DUE]
    assert matches[0].label.rank == rank
    assert matches[0].text == text


@pytest.mark.parametrize(
    "text",
    [
        "Subtotaal 100,00",
        "Totaal excl. btw 100,00",
        "Totaal btw 21,00",
        "Sous-total 100,00",
        "Total HTVA 100,00",
        "Total TVA 21,00",
        "Subtotal 100.00",
        "Total excl. VAT 100.00",
        "Reeds betaald 50,00",
        "VAT total: 75.04 €",
        "Net total: 496.00 €",
        "Btw totaal 21,00",
        "Total net HT 100,00",
    ],
)
def test_subtotal_labels_never_amount_due(text: str) -> None:
    assert [match.kind for match in find_labels(text)] == [LabelKind.OTHER]


def test_longest_label_wins() -> None:
    assert _kinds("Klantnummer: 12") == [(LabelKind.OTHER, "Klantnummer")]
    assert _kinds("N° client : 12") == [(LabelKind.OTHER, "N° client")]
    assert _kinds("Date d'échéance : 2/3/2026") == [(LabelKind.DUE_DATE, "Date d'échéance")]
    assert _kinds("Totaal te betalen 5,00") == [(LabelKind.AMOUNT_DUE, "Totaal te betalen")]


def test_label_needs_start_or_colon() -> None:
    assert find_labels("Betaling binnen 30 dagen na factuurdatum") == []
    found = _kinds("Factuurnummer: 2026-0412 Factuurdatum: 14/10/2026")
    assert found == [
        (LabelKind.INVOICE_NUMBER, "Factuurnummer"),
        (LabelKind.ISSUE_DATE, "Factuurdatum"),
    ]


def test_short_words_need_colon_or_own_cell() -> None:
    assert find_labels("Aan dit bedrag wordt rente toegevoegd") == []
    assert find_labels("Klant Jan Peeters") == []
    assert find_labels("Client fidèle depuis 2010") == []
    assert _kinds("Klant: Jan Peeters") == [(LabelKind.DEBTOR_BLOCK, "Klant")]


def test_label_match_end_after_colon() -> None:
    match = find_labels("Vervaldatum : 15/10/2026")[0]
    assert match.has_colon
    assert "Vervaldatum : 15/10/2026"[match.end :].strip() == "15/10/2026"


@pytest.mark.parametrize(
    "text",
    [
        "Creditnota",
        "CREDITFACTUUR",
        "Note de crédit",
        "Avoir",
        "Avoir n° 12",
        "Avoir AV-12",
        "Credit note",
    ],
)
def test_credit_note_title_found(text: str) -> None:
    assert find_credit_note_title(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Avoir un compte chez nous",
        "Deze creditnota vervangt",
        "Factuur",
        "Avoir 12 jours de retard",
    ],
)
def test_credit_note_title_not_in_sentence(text: str) -> None:
    assert find_credit_note_title(text) is None


def _labels_of(*texts: str) -> list[Label]:
    return [match.label for text in texts for match in find_labels(text)]


def test_detect_language_each() -> None:
    assert detect_language(_labels_of("Factuurnummer", "Vervaldatum", "Totaal")) == "nl"
    assert detect_language(_labels_of("Facture n°", "Date d'échéance", "Total TVAC")) == "fr"
    assert detect_language(_labels_of("Invoice number", "Due date", "Amount due")) == "en"


def test_detect_language_tie_is_none() -> None:
    assert detect_language(_labels_of("Total", "Date")) is None
    assert detect_language([]) is None
