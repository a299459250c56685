"""Tests for claims typed in a mail body, in Dutch, French and English, plain and forwarded."""

from __future__ import annotations

import pytest

from incasso.intake.extract.body import CONFIDENCE_GUESS, CONFIDENCE_LABELED, extract_body
from incasso.intake.extract.model import (
    DocumentKind,
    ExtractedInvoice,
    ExtractionResult,
    FieldName,
    Problem,
)

CREDITOR = ["boekhouding@acme.test", "BE0403170701", "+3292345678"]

SIGNATURE_NL = """
Met vriendelijke groeten,

Piet Claes
Boekhouding ACME BV
Industrieweg 12, 9000 Gent
Tel. 09 234 56 78
piet.claes@acme.test
BTW BE 0403.170.701
"""


def _single(result: ExtractionResult) -> ExtractedInvoice:
    assert result.problem is None, result.detail
    assert result.method == "email-body"
    assert len(result.invoices) == 1
    return result.invoices[0]


def _by_number(result: ExtractionResult) -> dict[str, ExtractedInvoice]:
    assert result.problem is None, result.detail
    return {invoice.value(FieldName.INVOICE_NUMBER) or "": invoice for invoice in result.invoices}


@pytest.mark.parametrize(
    ("text", "number", "language"),
    [
        (
            "Factuur 2026-5521 van 03/07/2026, bedrag 612,40 euro, vervallen op 02/08/2026",
            "2026-5521",
            "nl",
        ),
        (
            "Facture n° F-88 du 3 juillet 2026, montant 612,40 €, échéance 2 août 2026",
            "F-88",
            "fr",
        ),
        (
            "Invoice INV-7 dated 3 July 2026, amount EUR 612.40, due 2 August 2026",
            "INV-7",
            "en",
        ),
    ],
)
def test_body_one_line_claim(text: str, number: str, language: str) -> None:
    invoice = _single(extract_body(f"Hello,\n\n{text}\n"))

    assert invoice.kind is DocumentKind.INVOICE
    assert invoice.language == language
    assert invoice.value(FieldName.INVOICE_NUMBER) == number
    assert invoice.value(FieldName.ISSUE_DATE) == "2026-07-03"
    assert invoice.value(FieldName.DUE_DATE) == "2026-08-02"
    assert invoice.value(FieldName.AMOUNT_DUE) == "612.40"
    assert invoice.value(FieldName.CURRENCY) == "EUR"
    for name in (FieldName.AMOUNT_DUE, FieldName.DUE_DATE, FieldName.CURRENCY):
        assert invoice.fields[name].confidence == CONFIDENCE_LABELED


def test_body_source_names_line_and_label() -> None:
    text = "Beste,\n\nFactuur 2026-5521, bedrag 612,40 euro, vervaldatum 02/08/2026\n"
    invoice = _single(extract_body(text))

    assert invoice.fields[FieldName.DUE_DATE].source == "mail body line 3, label 'vervaldatum'"
    assert invoice.fields[FieldName.AMOUNT_DUE].raw == "612,40"


def test_body_french_thousands_amount() -> None:
    text = "Facture n° F-88 du 3 juillet 2026, montant 1.245,80 €, échéance 2 août 2026"
    invoice = _single(extract_body(text))

    assert invoice.value(FieldName.AMOUNT_DUE) == "1245.80"


def test_body_claims_one_per_line() -> None:
    text = (
        "Goedemiddag,\n\n"
        "De volgende facturen zijn nog open:\n"
        "Factuur 2026-101 van 01/06/2026, bedrag 100,00 euro, vervallen op 01/07/2026\n"
        "Factuur 2026-102 van 05/06/2026, bedrag 250,50 euro, vervallen op 05/07/2026\n"
        "Factuur 2026-103 van 09/06/2026, bedrag 1.020,00 euro, vervallen op 09/07/2026\n"
        "\n"
        "Klant: Bakkerij Janssens BV, info@janssens.test\n"
    )
    invoices = _by_number(extract_body(text))

    assert sorted(invoices) == ["2026-101", "2026-102", "2026-103"]
    assert invoices["2026-102"].value(FieldName.AMOUNT_DUE) == "250.50"
    assert invoices["2026-102"].value(FieldName.ISSUE_DATE) == "2026-06-05"
    assert invoices["2026-103"].value(FieldName.AMOUNT_DUE) == "1020.00"
    assert invoices["2026-103"].value(FieldName.DUE_DATE) == "2026-07-09"
    for invoice in invoices.values():
        assert invoice.value(FieldName.DEBTOR_NAME) == "Bakkerij Janssens BV"
        assert invoice.value(FieldName.DEBTOR_EMAIL) == "info@janssens.test"


def test_body_claims_in_paragraphs() -> None:
    text = (
        "Factuurdatum: 01/06/2026\n"
        "Factuurnummer: A-1\n"
        "Bedrag: 80,00 EUR\n"
        "Vervaldatum: 01/07/2026\n"
        "\n"
        "Factuurdatum: 02/06/2026\n"
        "Factuurnummer: A-2\n"
        "Bedrag: 90,00 EUR\n"
        "Vervaldatum: 02/07/2026\n"
    )
    invoices = _by_number(extract_body(text))

    assert invoices["A-1"].value(FieldName.ISSUE_DATE) == "2026-06-01"
    assert invoices["A-1"].value(FieldName.AMOUNT_DUE) == "80.00"
    assert invoices["A-2"].value(FieldName.ISSUE_DATE) == "2026-06-02"
    assert invoices["A-2"].value(FieldName.DUE_DATE) == "2026-07-02"


def test_body_debtor_on_claim_line_block() -> None:
    text = (
        "Factuur 2026-5521 van 03/07/2026, bedrag 612,40 euro, vervallen op 02/08/2026\n\n"
        "Klant: Jan Peeters, Jan.Peeters@Mail.test, 0475 12 34 56, Kerkstraat 4, 9000 Gent\n"
    )
    invoice = _single(extract_body(text))

    assert invoice.value(FieldName.DEBTOR_NAME) == "Jan Peeters"
    assert invoice.value(FieldName.DEBTOR_EMAIL) == "jan.peeters@mail.test"
    assert invoice.value(FieldName.DEBTOR_PHONE) == "+32475123456"
    assert invoice.value(FieldName.DEBTOR_ADDRESS) == "Kerkstraat 4, 9000 Gent"
    assert invoice.fields[FieldName.DEBTOR_NAME].confidence == CONFIDENCE_LABELED


def test_body_debtor_block_below_label() -> None:
    text = (
        "Facture n° F-88 du 3 juillet 2026, montant 1.245,80 €, échéance 2 août 2026\n\n"
        "Client :\n"
        "Garage Dubois SRL\n"
        "Rue de la Station 16 bte 2\n"
        "5000 Namur\n"
        "Courriel : compta@dubois.test\n"
        "Tél. : 081 22 33 44\n"
        "TVA : BE 0417.497.106\n"
    )
    invoice = _single(extract_body(text))

    assert invoice.value(FieldName.DEBTOR_NAME) == "Garage Dubois SRL"
    assert invoice.value(FieldName.DEBTOR_ADDRESS) == "Rue de la Station 16 bte 2, 5000 Namur"
    assert invoice.value(FieldName.DEBTOR_EMAIL) == "compta@dubois.test"
    assert invoice.value(FieldName.DEBTOR_PHONE) == "+3281223344"
    assert invoice.value(FieldName.DEBTOR_VAT) == "BE0417497106"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("0475 12 34 56", "+32475123456"),
        ("0475/12.34.56", "+32475123456"),
        ("+32 (0)475 12 34 56", "+32475123456"),
        ("0032 9 234 56 78", "+3292345678"),
        ("09/234.56.78", "+3292345678"),
    ],
)
def test_body_debtor_phone_formats(written: str, expected: str) -> None:
    text = f"Invoice INV-7, amount EUR 98.50\nCustomer: Smith Ltd, phone: {written}\n"
    invoice = _single(extract_body(text))

    assert invoice.value(FieldName.DEBTOR_PHONE) == expected


def test_body_signature_never_debtor() -> None:
    text = (
        "Beste,\n\n"
        "Factuur 2026-5521 van 03/07/2026, bedrag 612,40 euro, vervallen op 02/08/2026\n"
        f"{SIGNATURE_NL}"
    )
    result = extract_body(text)
    invoice = _single(result)

    for name in (
        FieldName.DEBTOR_NAME,
        FieldName.DEBTOR_EMAIL,
        FieldName.DEBTOR_PHONE,
        FieldName.DEBTOR_ADDRESS,
        FieldName.DEBTOR_VAT,
    ):
        assert name not in invoice.fields
    assert result.vat_numbers == ["BE0403170701"]


def test_body_signature_after_debtor_block() -> None:
    text = (
        "Factuur 2026-5521, bedrag 612,40 euro, vervallen op 02/08/2026\n"
        "Klant:\n"
        "Jan Peeters\n"
        "Kerkstraat 4\n"
        "9000 Gent\n"
        "Met vriendelijke groeten\n"
        "Piet Claes\n"
        "0499 88 77 66\n"
    )
    invoice = _single(extract_body(text))

    assert invoice.value(FieldName.DEBTOR_NAME) == "Jan Peeters"
    assert invoice.value(FieldName.DEBTOR_ADDRESS) == "Kerkstraat 4, 9000 Gent"
    assert FieldName.DEBTOR_PHONE not in invoice.fields


def test_body_dash_signature_never_debtor() -> None:
    text = (
        "Invoice INV-7 dated 3 July 2026, amount EUR 98.50, due 2 August 2026\n"
        "-- \n"
        "Customer care, ACME Ltd\n"
        "support@acme-help.test | +32 9 234 56 78\n"
    )
    invoice = _single(extract_body(text))

    assert FieldName.DEBTOR_EMAIL not in invoice.fields
    assert FieldName.DEBTOR_NAME not in invoice.fields


def test_body_excluded_contacts_left_out() -> None:
    text = (
        "Factuur 2026-5521, bedrag 612,40 euro\n"
        "Klant: Jan Peeters, boekhouding@acme.test, 09 234 56 78, BTW BE0403.170.701\n"
    )
    invoice = _single(extract_body(text, exclude=CREDITOR))

    assert invoice.value(FieldName.DEBTOR_NAME) == "Jan Peeters"
    assert FieldName.DEBTOR_EMAIL not in invoice.fields
    assert FieldName.DEBTOR_PHONE not in invoice.fields
    assert FieldName.DEBTOR_VAT not in invoice.fields


def test_body_invalid_vat_not_phone() -> None:
    text = "Facture n° F-1, montant 5,00 €\nClient : Jan Peeters, TVA : 0417497107\n"
    invoice = _single(extract_body(text))

    assert invoice.value(FieldName.DEBTOR_NAME) == "Jan Peeters"
    assert FieldName.DEBTOR_VAT not in invoice.fields
    assert FieldName.DEBTOR_PHONE not in invoice.fields


def test_body_debtor_per_paragraph() -> None:
    text = (
        "Klant: Jan Peeters, jan.peeters@mail.test\n"
        "Factuur 2026-1, bedrag 10,00 euro\n"
        "Factuur 2026-2, bedrag 20,00 euro\n"
        "\n"
        "Klant: Marie Dubois, marie.dubois@mail.test\n"
        "Factuur 2026-3, bedrag 30,00 euro\n"
    )
    invoices = _by_number(extract_body(text))

    assert invoices["2026-1"].value(FieldName.DEBTOR_EMAIL) == "jan.peeters@mail.test"
    assert invoices["2026-2"].value(FieldName.DEBTOR_EMAIL) == "jan.peeters@mail.test"
    assert invoices["2026-3"].value(FieldName.DEBTOR_EMAIL) == "marie.dubois@mail.test"
    assert invoices["2026-3"].value(FieldName.DEBTOR_NAME) == "Marie Dubois"


def test_body_debtor_guessed_without_label() -> None:
    text = (
        "Onze klant Bakkerij Janssens heeft factuur 2026-3 van 120,00 euro niet betaald.\n"
        "Zijn adres is info@janssens.test.\n"
    )
    invoice = _single(extract_body(text))

    assert invoice.value(FieldName.DEBTOR_NAME) == "Bakkerij Janssens"
    assert invoice.value(FieldName.DEBTOR_EMAIL) == "info@janssens.test"
    assert invoice.fields[FieldName.DEBTOR_EMAIL].confidence == CONFIDENCE_GUESS
    assert invoice.value(FieldName.AMOUNT_DUE) == "120.00"
    assert invoice.fields[FieldName.AMOUNT_DUE].confidence == CONFIDENCE_LABELED
    assert invoice.fields[FieldName.AMOUNT_DUE].doubts == ()


OUTLOOK_NL = """Hallo,

Zie onderstaande vraag van onze klant.

Met vriendelijke groeten,
Piet Claes

Van: An Claes <an.claes@acme.test>
Verzonden: maandag 6 juli 2026 10:12
Aan: Piet Claes <piet.claes@acme.test>
Onderwerp: openstaande factuur

Factuur 2026-5521 van 03/07/2026, bedrag 612,40 euro, vervallen op 02/08/2026.
Vragen? Mail an.claes@acme.test
"""

OUTLOOK_FR = """Bonjour,

De : An Claes <an.claes@acme.test>
Envoyé : lundi 6 juillet 2026 10:12
À : Piet Claes <piet.claes@acme.test>
Objet : facture impayée

Facture n° 2026-5521 du 03/07/2026, montant 612,40 €, échéance 02/08/2026.
Contact : an.claes@acme.test
"""

OUTLOOK_EN = """Please collect this one.

-----Original Message-----
From: An Claes <an.claes@acme.test>
Sent: Monday, July 6, 2026 10:12 AM
To: Piet Claes <piet.claes@acme.test>
Subject: unpaid invoice

Invoice 2026-5521 dated 03/07/2026, amount EUR 612.40, due 02/08/2026.
Questions: an.claes@acme.test
"""

GMAIL_FORWARD = """Zie hieronder.

---------- Forwarded message ---------
Van: An Claes <an.claes@acme.test>
Date: ma 6 jul. 2026 om 10:12
Subject: openstaande factuur
To: <piet.claes@acme.test>

Factuur 2026-5521 van 03/07/2026, bedrag 612,40 euro, vervallen op 02/08/2026.
Vragen? Mail an.claes@acme.test
"""

GMAIL_REPLY = """Graag opvolgen.

Op ma 6 jul. 2026 om 10:12 schreef An Claes <
an.claes@acme.test>:

> Factuur 2026-5521 van 03/07/2026, bedrag 612,40 euro, vervallen op 02/08/2026.
> Vragen? Mail an.claes@acme.test
"""

APPLE_FORWARD = """\ufeffZie hieronder.\r
\r
> Begin doorgestuurd bericht:\r
>\r
> Van: An Claes <an.claes@acme.test>\r
> Onderwerp: openstaande factuur\r
> Datum: 6 juli 2026 om 10:12:08 CEST\r
> Aan: piet.claes@acme.test\r
>\r
> Factuur 2026-5521 van 03/07/2026, bedrag 612,40 euro, vervallen op 02/08/2026.\r
> Vragen? Mail an.claes@acme.test\r
"""


@pytest.mark.parametrize(
    "text",
    [OUTLOOK_NL, OUTLOOK_FR, OUTLOOK_EN, GMAIL_FORWARD, GMAIL_REPLY, APPLE_FORWARD],
    ids=["outlook-nl", "outlook-fr", "outlook-en", "gmail-forward", "gmail-reply", "apple"],
)
def test_body_forwarded_claim(text: str) -> None:
    invoice = _single(extract_body(text, exclude=["piet.claes@acme.test"]))

    assert invoice.value(FieldName.INVOICE_NUMBER) == "2026-5521"
    assert invoice.value(FieldName.ISSUE_DATE) == "2026-07-03"
    assert invoice.value(FieldName.DUE_DATE) == "2026-08-02"
    assert invoice.value(FieldName.AMOUNT_DUE) == "612.40"
    assert FieldName.DEBTOR_EMAIL not in invoice.fields
    assert FieldName.DEBTOR_NAME not in invoice.fields


def test_body_forward_header_name_not_debtor() -> None:
    text = (
        "From: Jan Peeters <jan.peeters@mail.test>\n"
        "Sent: Monday, July 6, 2026 10:12 AM\n"
        "To: Piet Claes <piet.claes@acme.test>\n"
        "\n"
        "Invoice INV-7, amount EUR 98.50\n"
        "Customer: Jan Peeters, jan.peeters@mail.test\n"
    )
    invoice = _single(extract_body(text))

    assert FieldName.DEBTOR_NAME not in invoice.fields
    assert FieldName.DEBTOR_EMAIL not in invoice.fields


def test_body_header_date_not_issue_date() -> None:
    text = (
        "-----Original Message-----\n"
        "From: An Claes <an.claes@acme.test>\n"
        "Date: 01/01/2026\n"
        "\n"
        "Invoice INV-7, amount EUR 98.50, due 2 August 2026\n"
    )
    invoice = _single(extract_body(text))

    assert FieldName.ISSUE_DATE not in invoice.fields
    assert invoice.value(FieldName.DUE_DATE) == "2026-08-02"


def test_body_without_claim_not_an_invoice() -> None:
    result = extract_body("Beste,\n\nIn bijlage vindt u factuur 2026-5521.\n\nGroeten,\nPiet\n")

    assert result.problem is Problem.NOT_AN_INVOICE
    assert result.method == "email-body"
    assert result.invoices == []
    assert result.detail is not None
    assert "no typed claim" in result.detail
    assert result.notes == [
        "line 3: invoice 2026-5521 is mentioned without an amount, so no claim was made for it"
    ]


def test_body_empty_not_an_invoice() -> None:
    result = extract_body("")

    assert result.problem is Problem.NOT_AN_INVOICE
    assert result.detail is not None


def test_body_short_unmarked_number_ignored() -> None:
    result = extract_body("We sent the invoice 2 weeks ago, amount EUR 98.50.")

    assert result.problem is Problem.NOT_AN_INVOICE


def test_body_marked_short_number_read() -> None:
    invoice = _single(extract_body("Factuur nr. 7, bedrag 98,50 EUR"))

    assert invoice.value(FieldName.INVOICE_NUMBER) == "7"


def test_body_unlabeled_amount_guessed() -> None:
    invoice = _single(extract_body("Factuur 2026-9: 150,00 EUR\n"))

    assert invoice.value(FieldName.AMOUNT_DUE) == "150.00"
    assert invoice.fields[FieldName.AMOUNT_DUE].confidence == CONFIDENCE_GUESS
    assert invoice.value(FieldName.CURRENCY) == "EUR"


def test_body_unlabeled_dates_guessed() -> None:
    invoice = _single(extract_body("Factuur 2026-9 (01/06/2026 - 01/07/2026): 150,00 EUR\n"))

    assert invoice.value(FieldName.ISSUE_DATE) == "2026-06-01"
    assert invoice.value(FieldName.DUE_DATE) == "2026-07-01"
    assert invoice.fields[FieldName.DUE_DATE].confidence == CONFIDENCE_GUESS


def test_body_due_date_from_payment_term() -> None:
    text = "Factuur 2026-9 van 01/07/2026, bedrag 100,00 euro, te betalen binnen 30 dagen."
    invoice = _single(extract_body(text))

    assert invoice.value(FieldName.DUE_DATE) == "2026-07-31"
    assert invoice.fields[FieldName.DUE_DATE].confidence == CONFIDENCE_GUESS
    assert "payment term of 30 days" in invoice.fields[FieldName.DUE_DATE].source


def test_body_no_currency_assumes_eur() -> None:
    invoice = _single(extract_body("Factuur 2026-9, bedrag 150,00"))

    currency = invoice.fields[FieldName.CURRENCY]
    assert currency.value == "EUR"
    assert currency.confidence == CONFIDENCE_GUESS
    assert currency.doubts == ("no currency written; EUR assumed",)


def test_body_partial_payment_lowers_amount() -> None:
    text = "Factuur 2026-9, bedrag 612,40 euro, waarvan 100,00 euro reeds betaald."
    invoice = _single(extract_body(text))

    amount = invoice.fields[FieldName.AMOUNT_DUE]
    assert amount.value == "612.40"
    assert amount.confidence == CONFIDENCE_GUESS
    assert amount.doubts == ("a payment of 100.00 is mentioned, so less may be due",)


def test_body_credit_note_kind() -> None:
    invoice = _single(extract_body("Creditnota CN-12 van 01/07/2026, bedrag 50,00 euro"))

    assert invoice.kind is DocumentKind.CREDIT_NOTE
    assert invoice.value(FieldName.INVOICE_NUMBER) == "CN-12"


def test_body_structured_communication() -> None:
    text = "Factuur 2026-9, bedrag 50,00 euro, mededeling +++090/9337/55493+++"
    invoice = _single(extract_body(text))

    assert invoice.value(FieldName.PAYMENT_REFERENCE) == "090933755493"


def test_body_same_invoice_twice_merged() -> None:
    text = (
        "Factuur 2026-5521, bedrag 612,40 euro.\n"
        "\n"
        "-----Original Message-----\n"
        "From: An Claes <an.claes@acme.test>\n"
        "To: Piet Claes <piet.claes@acme.test>\n"
        "\n"
        "Factuur 2026-5521, bedrag 600,00 euro, vervaldatum 02/08/2026\n"
    )
    result = extract_body(text)
    invoice = _single(result)

    assert invoice.value(FieldName.DUE_DATE) == "2026-08-02"
    assert invoice.value(FieldName.AMOUNT_DUE) == "612.40"
    assert invoice.fields[FieldName.AMOUNT_DUE].confidence == CONFIDENCE_GUESS
    assert result.notes == ["invoice 2026-5521: amount_due is given as 612.40 and as 600.00"]


def test_mention_after_a_word_that_looks_like_one() -> None:
    text = (
        "Graag uw hulp voor deze openstaande factuur:\n"
        "Factuur 2026-5521 van 03/07/2026, bedrag 612,40 euro, vervallen op 02/08/2026.\n"
    )

    result = extract_body(text)

    (invoice,) = result.invoices
    assert invoice.value(FieldName.INVOICE_NUMBER) == "2026-5521"
    assert invoice.value(FieldName.AMOUNT_DUE) == "612.40"
