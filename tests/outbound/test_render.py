"""Tests of the first reminder: languages, debtor kinds, escaping and mandatory mentions."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from jinja2 import ChoiceLoader, DictLoader, PackageLoader
from stdnum.be import ogm_vcs

import incasso
from incasso.cases.law import Channel, DebtorKind, consumer_damages_cap
from incasso.outbound.notice import NoticeInvoice
from incasso.outbound.render import MissingMentionError, render_message
from tests.outbound.notices import (
    AGENCY,
    AGENCY_NUMBER_PRINTED,
    CREDITOR,
    CREDITOR_NUMBER_PRINTED,
    INVOICES,
    NARROW_NBSP,
    NBSP,
    OGM,
    assert_in_both,
    make_notice,
)

TEMPLATES = Path(incasso.__file__).parent / "templates"


LANGUAGE_CASES = {
    "nl": {
        "balance": f"€{NBSP}1.300,00",
        "damages": f"€{NBSP}105,00",
        "subject": "Dossier 2026-00017 – Bakkerij De Kruimel",
        "invoice_line": (
            f"- Factuur F-2026-0412 van 02-03-2026, vervallen op 01-04-2026: €{NBSP}1.234,56"
        ),
        "phrases": [
            "Geachte Jan Peeters,",
            "Deze eerste herinnering is kosteloos.",
            "Gestructureerde mededeling",
            "IBAN (derdenrekening)",
            "minstens 14 kalenderdagen",
            "schadevergoeding van ten hoogste",
            "afbetalingsplan",
            "schuldbemiddelaar",
            "betwisten",
            "de stukken vragen",
            "Antwoord dan gewoon op deze e-mail",
            "oorspronkelijke schuldeiser",
            "bij de FOD Economie ingeschreven",
            "FOD Economie, K.M.O., Middenstand en Energie – "
            "Algemene Directie Economische Inspectie",
            "Koning Albert II-laan 16, 1000 Brussel",
            "verwerkt uw persoonsgegevens",
        ],
    },
    "fr": {
        "balance": f"1{NARROW_NBSP}300,00{NBSP}€",
        "damages": f"105,00{NBSP}€",
        "subject": "Dossier 2026-00017 – Bakkerij De Kruimel",
        "invoice_line": (
            f"- Facture F-2026-0412 du 02-03-2026, échue le 01-04-2026{NBSP}: "
            f"1{NARROW_NBSP}234,56{NBSP}€"
        ),
        "phrases": [
            "Bonjour Jan Peeters,",
            "Ce premier rappel est gratuit.",
            "Communication structurée",
            "IBAN (compte de tiers)",
            "au moins 14 jours calendrier",
            "une indemnité de",
            "plan de paiement",
            "médiateur de dettes",
            "contester",
            "demander les documents",
            "Répondez simplement à cet e-mail",
            "créancier initial",
            "inscrite auprès du SPF Economie",
            "SPF Economie, P.M.E., Classes moyennes et Energie",
            "Boulevard du Roi Albert II 16, 1000 Bruxelles",
            "traite vos données personnelles",
        ],
    },
    "de": {
        "balance": f"1.300,00{NBSP}€",
        "damages": f"105,00{NBSP}€",
        "subject": "Vorgang 2026-00017 – Bakkerij De Kruimel",
        "invoice_line": (
            f"- Rechnung F-2026-0412 vom 02-03-2026, fällig am 01-04-2026: 1.234,56{NBSP}€"
        ),
        "phrases": [
            "Guten Tag Jan Peeters,",
            "Diese erste Zahlungserinnerung ist kostenlos.",
            "Strukturierte Mitteilung",
            "IBAN (Anderkonto)",
            "mindestens 14 Kalendertage",
            "Schadenersatz von höchstens",
            "Zahlungsplan",
            "Schuldenvermittler",
            "bestreiten",
            "Unterlagen anfordern",
            "Antworten Sie einfach auf diese E-Mail",
            "ursprünglicher Gläubiger",
            "beim FÖD Wirtschaft",
            "FÖD Wirtschaft, K.M.B., Mittelstand und Energie",
            "Boulevard du Roi Albert II 16, 1000 Brüssel",
            "verarbeitet Ihre personenbezogenen Daten",
        ],
    },
    "en": {
        "balance": f"1.300,00{NBSP}€",
        "damages": f"105,00{NBSP}€",
        "subject": "Reference 2026-00017 – Bakkerij De Kruimel",
        "invoice_line": f"- Invoice F-2026-0412 of 02-03-2026, due on 01-04-2026: 1.234,56{NBSP}€",
        "phrases": [
            "Dear Jan Peeters,",
            "This first reminder is free of charge.",
            "Structured communication",
            "IBAN (third-party account)",
            "at least 14 calendar days",
            "damages of up to",
            "payment plan",
            "debt mediator",
            "dispute it",
            "documents on which this claim is based",
            "Simply reply to this e-mail",
            "original creditor",
            "registered with the FPS Economy",
            "FPS Economy, S.M.E.s, Self-employed and Energy",
            "Boulevard du Roi Albert II 16, 1000 Brussels",
            "processes your personal data",
        ],
    },
}


@pytest.mark.parametrize("language", sorted(LANGUAGE_CASES))
def test_render_language_phrases(language: str) -> None:
    expected = LANGUAGE_CASES[language]

    message = render_message(make_notice(language=language))

    assert message.language == language
    assert message.subject == expected["subject"]
    for phrase in expected["phrases"]:
        assert_in_both(message, phrase)
    assert expected["invoice_line"] in message.text
    assert f'<html lang="{language}">' in message.html


@pytest.mark.parametrize("language", sorted(LANGUAGE_CASES))
def test_render_language_amounts_and_dates(language: str) -> None:
    expected = LANGUAGE_CASES[language]

    message = render_message(make_notice(language=language))

    assert_in_both(message, str(expected["balance"]))
    assert_in_both(message, str(expected["damages"]))
    assert_in_both(message, "+++202/6000/01711+++")
    assert_in_both(message, "BE71 0961 2345 6769")
    assert_in_both(message, "GKCCBEBB")
    assert_in_both(message, "05-05-2026")  # term start: the day after the e-mail
    assert_in_both(message, "18-05-2026")  # term end
    assert_in_both(message, "01-04-2026")
    assert_in_both(message, "05-04-2026")
    assert_in_both(message, CREDITOR_NUMBER_PRINTED)
    assert_in_both(message, AGENCY_NUMBER_PRINTED)
    assert_in_both(message, "economie.fgov.be")


def test_render_ogm_is_valid() -> None:
    message = render_message(make_notice())

    printed = "+++202/6000/01711+++"
    assert printed in message.text
    assert ogm_vcs.validate(printed) == OGM


def test_render_unknown_language_falls_back_to_dutch() -> None:
    for language in ("pl", "", "xx-YY"):
        message = render_message(make_notice(language=language))

        assert message.language == "nl"
        assert message.subject.startswith("Dossier 2026-00017")
        assert "Geachte Jan Peeters," in message.text


def test_render_regional_language_code() -> None:
    message = render_message(make_notice(language="fr_BE"))

    assert message.language == "fr"
    assert "Bonjour Jan Peeters," in message.text


def test_consumer_notice_mentions_rights_and_damages() -> None:
    notice = make_notice()

    message = render_message(notice)

    assert notice.consumer_damages == consumer_damages_cap(Decimal("1300.00"))
    assert_in_both(message, "Deze eerste herinnering is kosteloos.")
    assert_in_both(message, "een schadevergoeding van ten hoogste €\u00a0105,00 vragen")
    assert_in_both(message, "Uw mogelijkheden")
    assert_in_both(message, "De invordering wordt dan opgeschort")
    assert "€\u00a040,00" not in message.text
    assert "verwijlinteresten" not in message.text


def test_business_notice_mentions_compensation_and_interest() -> None:
    notice = make_notice(debtor_kind=DebtorKind.ENTERPRISE, debtor_name="Klusbedrijf Noord BV")

    message = render_message(notice)

    assert notice.consumer_damages is None
    assert notice.fixed_compensation == Decimal("40.00")
    assert_in_both(message, "forfaitaire vergoeding van €\u00a040,00")
    assert_in_both(message, "verwijlinteresten tegen de rentevoet die deze wet bepaalt")
    assert_in_both(message, "wet van 2 augustus 2002")
    assert_in_both(message, "antwoord dan op deze e-mail en vermeld uw redenen")
    assert "kosteloos" not in message.text
    assert "schadevergoeding" not in message.text
    assert "afbetalingsplan" not in message.text
    assert "schuldbemiddelaar" not in message.html


def test_render_invoice_without_issue_date_or_description() -> None:
    message = render_message(make_notice())

    assert "- Factuur F-2026-0415, vervallen op 05-04-2026: €\u00a065,44" in message.text
    assert "  Taarten voor een communiefeest" in message.text
    assert "<td>F-2026-0415</td><td></td><td>05-04-2026</td><td></td>" in message.html


def test_render_post_term_follows_working_days() -> None:
    # Posted the Tuesday before Ascension: the term starts on Monday 18 May and
    # its Sunday end moves to Monday 1 June.
    message = render_message(make_notice(sent_on=date(2026, 5, 12), channel=Channel.POST))

    assert_in_both(message, "te rekenen vanaf 18-05-2026")
    assert_in_both(message, "uiterlijk op 01-06-2026")


def test_render_escapes_names_in_html_only() -> None:
    creditor = dataclasses.replace(CREDITOR, name='Kruimel & Zonen <script>alert("x")</script>')
    notice = make_notice(creditor=creditor, debtor_name="Els <b>Janssens</b> & Co")

    message = render_message(notice)

    assert 'Kruimel & Zonen <script>alert("x")</script>' in message.text
    assert "Geachte Els <b>Janssens</b> & Co," in message.text
    assert "<script>" not in message.html
    assert "<b>Janssens</b>" not in message.html
    assert "Kruimel &amp; Zonen &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in message.html
    assert "Geachte Els &lt;b&gt;Janssens&lt;/b&gt; &amp; Co," in message.html


def test_render_text_part_has_no_markup() -> None:
    message = render_message(make_notice())

    assert "<" not in message.text
    assert "&amp;" not in message.text


def test_render_omits_missing_optional_contacts() -> None:
    creditor = dataclasses.replace(CREDITOR, email="", website=None)

    message = render_message(make_notice(creditor=creditor))

    assert "boekhouding@kruimel.example" not in message.text
    assert message.text.count("E-mail: ") == 1  # the agency's only
    assert "Website: https://zilvermeeuw.test" in message.text


REVEALING_WORDS = [
    "incasso", "invordering", "schuld", "herinnering", "aanmaning", "betaal", "onbetaald",
    "recouvrement", "créance", "dette", "rappel", "impayé", "paiement",
    "inkasso", "forderung", "mahnung", "zahlung", "unbezahlt",
    "debt", "collection", "reminder", "payment", "unpaid", "overdue",
]  # fmt: skip


@pytest.mark.parametrize("language", sorted(LANGUAGE_CASES))
def test_subject_reveals_no_collection(language: str) -> None:
    message = render_message(make_notice(language=language))

    assert "2026-00017" in message.subject
    for word in REVEALING_WORDS:
        assert word not in message.subject.lower(), word


def test_subject_joins_lines_of_creditor_name() -> None:
    creditor = dataclasses.replace(CREDITOR, name="Bakkerij\r\nBcc: iemand@example.test")

    message = render_message(make_notice(creditor=creditor))

    assert "\n" not in message.subject
    assert "\r" not in message.subject
    assert message.subject == "Dossier 2026-00017 – Bakkerij Bcc: iemand@example.test"


COURT_WORDS = [
    "beslag", "deurwaarder", "rechtbank", "dagvaarding", "vonnis",
    "saisie", "huissier", "tribunal", "citation", "jugement",
    "pfändung", "gerichtsvollzieher", "gericht", "vollstreckung",
    "seizure", "bailiff", "court", "summons", "judgment",
]  # fmt: skip


@pytest.mark.parametrize("language", sorted(LANGUAGE_CASES))
@pytest.mark.parametrize("kind", list(DebtorKind))
def test_render_has_no_court_wording(language: str, kind: DebtorKind) -> None:
    message = render_message(make_notice(language=language, debtor_kind=kind))

    for word in COURT_WORDS:
        assert word not in message.text.lower(), word


def replace_invoice(**changes: object) -> list[NoticeInvoice]:
    return [dataclasses.replace(INVOICES[0], **changes), INVOICES[1]]  # type: ignore[arg-type]


MISSING_VALUE_CASES = [
    (
        {"creditor": dataclasses.replace(CREDITOR, phone="")},
        "creditor phone is empty; register it with `incasso creditor add --phone`",
    ),
    (
        {"creditor": dataclasses.replace(CREDITOR, enterprise_number=" ")},
        "creditor enterprise number is empty; register it with "
        "`incasso creditor add --enterprise-number`",
    ),
    (
        {"creditor": dataclasses.replace(CREDITOR, address="")},
        "creditor address is empty; register it with `incasso creditor add --address`",
    ),
    (
        {"agency": dataclasses.replace(AGENCY, enterprise_number="")},
        "agency enterprise number is empty; set INCASSO_AGENCY__ENTERPRISE_NUMBER",
    ),
    (
        {"agency": dataclasses.replace(AGENCY, address="")},
        "agency address is empty; set INCASSO_AGENCY__ADDRESS",
    ),
    ({"agency": dataclasses.replace(AGENCY, iban="")}, "agency IBAN is empty"),
    ({"payment_reference": ""}, "payment reference is empty"),
    ({"invoices": replace_invoice(due_date=None)}, "invoice F-2026-0412 due date is empty"),
    ({"invoices": replace_invoice(amount=None)}, "invoice F-2026-0412 amount is empty"),
    ({"invoices": replace_invoice(number="")}, "invoice #1 number is empty"),
    ({"invoices": []}, "has no invoices"),
    ({"debtor_name": ""}, "debtor name is empty"),
]


@pytest.mark.parametrize(("changes", "message"), MISSING_VALUE_CASES)
def test_missing_mention_raises(changes: dict[str, object], message: str) -> None:
    with pytest.raises(MissingMentionError) as raised:
        render_message(make_notice(**changes))

    assert message in str(raised.value)
    assert isinstance(raised.value, ValueError)


INVALID_VALUE_CASES = [
    (
        {"creditor": dataclasses.replace(CREDITOR, enterprise_number="0123.456.789")},
        "creditor enterprise number '0123.456.789' is not a valid Belgian enterprise number",
    ),
    (
        {"agency": dataclasses.replace(AGENCY, iban="BE71096123456760")},
        "agency IBAN 'BE71096123456760' is invalid",
    ),
    ({"agency": dataclasses.replace(AGENCY, bic="GKCC")}, "agency BIC 'GKCC' is invalid"),
    ({"payment_reference": "202600001712"}, "is not a valid structured communication"),
    ({"payment_reference": "+++202/6000/01711+++"}, "expected 12 digits"),
    ({"currency": "EURO"}, "currency 'EURO' is not an ISO 4217 code"),
    ({"invoices": replace_invoice(amount=Decimal("0"))}, "amount 0 is not positive"),
]


@pytest.mark.parametrize(("changes", "message"), INVALID_VALUE_CASES)
def test_invalid_mention_raises(changes: dict[str, object], message: str) -> None:
    with pytest.raises(MissingMentionError) as raised:
        render_message(make_notice(**changes))

    assert message in str(raised.value)


def test_agency_without_bic_renders_without_bic_line() -> None:
    message = render_message(make_notice(agency=dataclasses.replace(AGENCY, bic="")))

    assert "BIC" not in message.text
    assert "BE71 0961 2345 6769" in message.text


def loader_with(**templates: str) -> ChoiceLoader:
    """Return a loader that serves ``templates`` and the packaged templates otherwise.

    A keyword names a template with ``__`` for ``/`` and ``.``:
    ``mail__first_reminder__html__j2`` is ``mail/first_reminder.html.j2``.
    """
    overrides = {_template_name(name): source for name, source in templates.items()}
    return ChoiceLoader([DictLoader(overrides), PackageLoader("incasso", "templates")])


def _template_name(keyword: str) -> str:
    folder, _, name = keyword.partition("__")
    return f"{folder}/" + name.replace("__", ".")


def packaged_source(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def test_packaged_templates_pass_the_check() -> None:
    message = render_message(make_notice(), loader=loader_with())

    assert message.subject == "Dossier 2026-00017 – Bakkerij De Kruimel"


def test_broken_html_template_is_caught() -> None:
    broken = "<p>{{ balance }} {{ payment.ogm }}</p>"

    with pytest.raises(MissingMentionError, match="HTML part lacks the mandatory mention"):
        render_message(make_notice(), loader=loader_with(mail__first_reminder__html__j2=broken))


def test_text_template_without_iban_is_caught() -> None:
    source = packaged_source("mail/notice_blocks.txt.j2")
    broken = "\n".join(line for line in source.splitlines() if "payment.iban" not in line)
    assert broken != source

    with pytest.raises(MissingMentionError) as raised:
        render_message(make_notice(), loader=loader_with(mail__notice_blocks__txt__j2=broken))

    assert "plain-text part lacks the mandatory mention IBAN (BE71 0961 2345 6769)" in str(
        raised.value
    )
    assert "first_reminder.txt.j2" in str(raised.value)


def test_html_template_without_supervisor_address_is_caught() -> None:
    source = packaged_source("mail/notice_blocks.html.j2")
    broken = source.replace("{{ supervisor.address }}", "")
    assert broken != source

    with pytest.raises(MissingMentionError, match="supervisory authority address"):
        render_message(make_notice(), loader=loader_with(mail__notice_blocks__html__j2=broken))


def test_subject_template_without_reference_is_caught() -> None:
    broken = "{{ creditor.name }}"

    with pytest.raises(MissingMentionError, match="lacks the case reference 2026-00017"):
        render_message(
            make_notice(), loader=loader_with(mail__first_reminder_subject__txt__j2=broken)
        )


def test_notice_derived_values() -> None:
    notice = make_notice(sent_on=date(2026, 5, 4), channel=Channel.POST)

    assert notice.balance == Decimal("1300.00")
    assert notice.term.start == date(2026, 5, 7)
    assert notice.term.end == date(2026, 5, 20)
    assert notice.consumer_damages == Decimal("105.00")
    assert notice.fixed_compensation is None


ENGLISH_SAMPLES = [
    "Dear ",
    "Please pay",
    "Outstanding balance",
    "Structured communication",
    "Your options",
    "Kind regards",
    "original creditor",
    "Supervisory authority",
    "personal data",
]


@pytest.mark.parametrize("language", ["nl", "fr", "de"])
@pytest.mark.parametrize("kind", list(DebtorKind))
def test_render_leaves_no_english(language: str, kind: DebtorKind) -> None:
    message = render_message(make_notice(language=language, debtor_kind=kind))

    for sample in ENGLISH_SAMPLES:
        assert sample not in message.text, sample
        assert sample not in message.html, sample
