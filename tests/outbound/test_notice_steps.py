"""Tests of the notices of every written step: contents per step, charges, payments, languages."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest
from markupsafe import escape

from incasso.cases.charges import ChargeKind, ChargeLine
from incasso.cases.ladder import NOTICE_STEPS, LadderStep
from incasso.cases.law import Channel, DebtorKind
from incasso.outbound.bilingual import render_notice
from incasso.outbound.render import MissingMentionError, render_message, step_templates
from tests.outbound.notices import (
    BUSINESS_CHARGES,
    CONSUMER_DAMAGES,
    INVOICES,
    NBSP,
    assert_in_both,
    make_notice,
)

WRITTEN_STEPS = sorted(NOTICE_STEPS)
LANGUAGES = ["nl", "fr", "de", "en"]

# One sentence per step that only that step's notice carries, per language.
STEP_PHRASES = {
    LadderStep.FIRST_REMINDER: {
        "nl": "Dit is ons eerste schriftelijke bericht aan u hierover.",
        "fr": "Ce message est notre premier avis écrit à ce sujet.",
        "de": "Dies ist unsere erste schriftliche Mitteilung an Sie dazu.",
        "en": "This is our first written notice to you about them.",
    },
    LadderStep.SECOND_REMINDER: {
        "nl": "maar hebben uw betaling nog niet ontvangen",
        "fr": "nous n'avons pas encore reçu votre paiement",
        "de": "aber Ihre Zahlung noch nicht erhalten",
        "en": "we have not yet received your payment",
    },
    LadderStep.THIRD_REMINDER: {
        "nl": "Dit is onze laatste herinnering.",
        "fr": "Ceci est notre dernier rappel.",
        "de": "Dies ist unsere letzte Zahlungserinnerung.",
        "en": "This is our last reminder.",
    },
    LadderStep.REGISTERED_LETTER: {
        "nl": "vragen wij u formeel het verschuldigde bedrag te betalen",
        "fr": "nous vous demandons formellement de payer le montant dû",
        "de": "fordern wir Sie förmlich auf, den geschuldeten Betrag",
        "en": "we formally ask you to pay the amount due",
    },
}

HAND_OVER = {
    "nl": "een advocaat of een gerechtsdeurwaarder voor gerechtelijke invordering",
    "fr": "un avocat ou à un huissier de justice en vue d'un recouvrement judiciaire",
    "de": "einem Rechtsanwalt oder einem Gerichtsvollzieher zur gerichtlichen Eintreibung",
    "en": "a lawyer or a bailiff for legal collection",
}
AMICABLE = {
    "nl": "Dit is een minnelijke invordering.",
    "fr": "Il s'agit d'un recouvrement amiable.",
    "de": "Es handelt sich um eine gütliche Eintreibung.",
    "en": "This is an amicable collection.",
}
OTHER_CHANNELS = {
    "nl": "telefonisch, per sms of per brief",
    "fr": "par téléphone, par SMS ou par courrier",
    "de": "telefonisch, per SMS oder per Brief",
    "en": "by phone, by text message or by letter",
}


def step_notice(step: LadderStep, **changes: object) -> object:
    charges = () if step == LadderStep.FIRST_REMINDER else CONSUMER_DAMAGES
    return make_notice(step=step, charges=charges, **changes)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("step", WRITTEN_STEPS)
def test_step_notice_has_its_own_sentence(step: LadderStep, language: str) -> None:
    message = render_message(make_notice(step=step, language=language))

    assert_in_both(message, STEP_PHRASES[step][language])
    for other, phrases in STEP_PHRASES.items():
        if other != step:
            assert phrases[language] not in message.text, other


@pytest.mark.parametrize("language", LANGUAGES)
def test_third_reminder_names_further_steps(language: str) -> None:
    message = render_message(make_notice(step=LadderStep.THIRD_REMINDER, language=language))

    assert_in_both(message, OTHER_CHANNELS[language])
    assert_in_both(message, HAND_OVER[language])
    assert_in_both(message, AMICABLE[language])


@pytest.mark.parametrize("language", LANGUAGES)
def test_registered_letter_names_hand_over(language: str) -> None:
    message = render_message(make_notice(step=LadderStep.REGISTERED_LETTER, language=language))

    assert_in_both(message, HAND_OVER[language])
    assert_in_both(message, AMICABLE[language])
    assert OTHER_CHANNELS[language] not in message.text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("step", [LadderStep.FIRST_REMINDER, LadderStep.SECOND_REMINDER])
def test_early_steps_name_no_lawyer_or_bailiff(step: LadderStep, language: str) -> None:
    message = render_message(make_notice(step=step, language=language))

    assert HAND_OVER[language] not in message.text
    assert AMICABLE[language] not in message.text


# Words of court procedures that no notice may announce as coming or as its source.
THREATS = [
    "dagvaarding", "vonnis", "uitvoerbare titel",
    "citation", "jugement", "titre exécutoire",
    "ladung", "urteil", "vollstreckungstitel",
    "summons", "judgment", "enforceable title",
]  # fmt: skip


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("step", WRITTEN_STEPS)
def test_no_notice_threatens_court_action(step: LadderStep, language: str) -> None:
    for kind in DebtorKind:
        message = render_message(make_notice(step=step, language=language, debtor_kind=kind))

        for word in THREATS:
            assert word not in message.text.lower(), word


REVEALING_WORDS = [
    "incasso", "invordering", "schuld", "herinnering", "aanmaning", "betaal", "aangetekend",
    "recouvrement", "créance", "dette", "rappel", "impayé", "paiement", "recommandé",
    "inkasso", "forderung", "mahnung", "zahlung", "einschreiben",
    "debt", "collection", "reminder", "payment", "unpaid", "registered",
]  # fmt: skip


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("step", WRITTEN_STEPS)
def test_step_subject_reveals_no_collection(step: LadderStep, language: str) -> None:
    message = render_message(make_notice(step=step, language=language))

    assert "2026-00017" in message.subject
    assert "Bakkerij De Kruimel" in message.subject
    for word in REVEALING_WORDS:
        assert word not in message.subject.lower(), word


def test_business_breakdown_prints_each_charge() -> None:
    notice = make_notice(
        step=LadderStep.SECOND_REMINDER,
        debtor_kind=DebtorKind.ENTERPRISE,
        charges=BUSINESS_CHARGES,
    )

    message = render_message(notice)

    assert notice.total_due == Decimal("1356.70")
    assert_in_both(message, "Overzicht van het verschuldigde bedrag")
    assert f"Hoofdsom (de facturen hierboven): €{NBSP}1.300,00" in message.text
    assert f"Forfaitaire vergoeding voor factuur F-2026-0412: €{NBSP}40,00" in message.text
    assert f"Interesten op factuur F-2026-0412: €{NBSP}16,70" in message.text
    assert (
        f"(10,50% per jaar op €{NBSP}1.234,56, van 02-04-2026 tot en met 18-05-2026)"
        in message.text
    )
    assert f"Totaal te betalen: €{NBSP}1.356,70" in message.text
    assert_in_both(message, f"Gelieve €{NBSP}1.356,70 te betalen uiterlijk op 18-05-2026")
    assert "<td>10,50% per jaar op €\u00a01.234,56, van 02-04-2026 tot en met 18-05-2026</td>" in (
        message.html
    )


def test_interest_line_without_invoice_or_basis() -> None:
    line = ChargeLine(
        kind=ChargeKind.INTEREST,
        amount=Decimal("3.10"),
        percent=Decimal("8"),
        period_start=date(2026, 4, 2),
        period_end=date(2026, 4, 30),
    )
    notice = make_notice(
        step=LadderStep.THIRD_REMINDER, debtor_kind=DebtorKind.ENTERPRISE, charges=[line]
    )

    message = render_message(notice, qr_src=None)

    assert f"Interesten: €{NBSP}3,10" in message.text
    assert "(8,00% per jaar, van 02-04-2026 tot en met 30-04-2026)" in message.text


def test_consumer_damages_line_replaces_the_warning() -> None:
    message = render_message(make_notice(step=LadderStep.SECOND_REMINDER, charges=CONSUMER_DAMAGES))

    assert f"Schadevergoeding: €{NBSP}105,00" in message.text
    assert f"Totaal te betalen: €{NBSP}1.405,00" in message.text
    assert "schadevergoeding van ten hoogste" not in message.text


def test_consumer_second_reminder_without_damages_keeps_the_warning() -> None:
    message = render_message(make_notice(step=LadderStep.SECOND_REMINDER))

    assert_in_both(message, f"een schadevergoeding van ten hoogste €{NBSP}105,00 vragen")
    assert "Deze eerste herinnering is kosteloos." not in message.text


def test_payments_are_a_line_of_the_breakdown() -> None:
    notice = make_notice(step=LadderStep.SECOND_REMINDER, amount_paid=Decimal("300.00"))

    message = render_message(notice)

    assert notice.balance == Decimal("1000.00")
    assert f"Ontvangen betalingen: €{NBSP}-300,00" in message.text
    assert f"Openstaand saldo: €{NBSP}1.000,00" in message.text
    assert f"Totaal te betalen: €{NBSP}1.000,00" in message.text
    # The invoices keep the amounts the debtor finds on them.
    assert f"vervallen op 01-04-2026: €{NBSP}1.234,56" in message.text
    # The consumer's damages cap follows the balance after payments.
    assert_in_both(message, f"ten hoogste €{NBSP}90,00")


def test_fully_paid_case_raises() -> None:
    with pytest.raises(MissingMentionError, match="close the case as paid"):
        render_message(make_notice(amount_paid=Decimal("1300.00")))


def test_first_reminder_to_consumer_with_charges_raises() -> None:
    with pytest.raises(MissingMentionError, match="first reminder to a consumer is free"):
        render_message(make_notice(charges=CONSUMER_DAMAGES))


def test_first_reminder_to_business_prints_charges() -> None:
    notice = make_notice(debtor_kind=DebtorKind.ENTERPRISE, charges=BUSINESS_CHARGES)

    message = render_message(notice)

    assert f"Forfaitaire vergoeding voor factuur F-2026-0412: €{NBSP}40,00" in message.text


INVALID_CHARGE_CASES = [
    (dataclasses.replace(BUSINESS_CHARGES[1], percent=None), "lacks its rate"),
    (dataclasses.replace(BUSINESS_CHARGES[1], period_start=None), "lacks its period"),
    (dataclasses.replace(BUSINESS_CHARGES[1], period_end=date(2026, 4, 1)), "before it starts"),
    (dataclasses.replace(BUSINESS_CHARGES[0], amount=Decimal("-1")), "has the amount -1"),
]


@pytest.mark.parametrize(("line", "message"), INVALID_CHARGE_CASES)
def test_invalid_charge_line_raises(line: ChargeLine, message: str) -> None:
    notice = make_notice(
        step=LadderStep.SECOND_REMINDER, debtor_kind=DebtorKind.ENTERPRISE, charges=[line]
    )

    with pytest.raises(MissingMentionError, match=message):
        render_message(notice)


def test_charge_labels_are_escaped_in_html() -> None:
    invoices = [dataclasses.replace(INVOICES[0], number="F<1>&2"), INVOICES[1]]
    line = dataclasses.replace(BUSINESS_CHARGES[0], invoice_number="F<1>&2")
    notice = make_notice(
        step=LadderStep.SECOND_REMINDER,
        debtor_kind=DebtorKind.ENTERPRISE,
        invoices=invoices,
        charges=[line],
    )

    message = render_message(notice)

    assert "Forfaitaire vergoeding voor factuur F<1>&2" in message.text
    assert "Forfaitaire vergoeding voor factuur F&lt;1&gt;&amp;2" in message.html
    assert "F<1>" not in message.html


@pytest.mark.parametrize("step", WRITTEN_STEPS)
def test_step_business_dispute_sentence_names_email(step: LadderStep) -> None:
    message = render_message(make_notice(step=step, debtor_kind=DebtorKind.ENTERPRISE))

    assert_in_both(message, "antwoord dan op deze e-mail en vermeld uw redenen")


@pytest.mark.parametrize("step", WRITTEN_STEPS)
def test_step_post_term_starts_on_third_working_day(step: LadderStep) -> None:
    notice = make_notice(step=step, channel=Channel.POST, sent_on=date(2026, 5, 4))

    message = render_message(notice)

    assert_in_both(message, "te rekenen vanaf 07-05-2026")
    assert_in_both(message, "uiterlijk op 20-05-2026")


@pytest.mark.parametrize("step", WRITTEN_STEPS)
def test_step_bilingual_puts_dutch_below(step: LadderStep) -> None:
    message = render_notice(step_notice(step, language="fr"), "nl", qr_src="cid:qr.1@x.test")  # type: ignore[arg-type]

    assert message.language == "fr"
    courtesy, _, legal = message.text.partition("Wettelijk vereiste versie")
    assert STEP_PHRASES[step]["fr"] in courtesy
    assert STEP_PHRASES[step]["nl"] in legal
    assert message.html.count('src="cid:qr.1@x.test"') == 2


@pytest.mark.parametrize("step", WRITTEN_STEPS)
def test_step_html_shows_qr_and_ogm_beside_it(step: LadderStep) -> None:
    message = render_message(make_notice(step=step), qr_src="cid:qr.1@x.test")

    image = message.html.index('<img src="cid:qr.1@x.test"')
    caption = message.html.index('<div class="ogm">+++202/6000/01711+++</div>', image)
    assert caption - image < 200
    assert "cid:" not in message.text


def test_step_without_notice_raises() -> None:
    with pytest.raises(ValueError, match="step sms sends no written notice"):
        step_templates(LadderStep.SMS)
    with pytest.raises(ValueError, match="sends no written notice"):
        render_message(make_notice(step=LadderStep.PHONE_CALL))


ENGLISH_SAMPLES = [
    "Dear ",
    "Please pay",
    "Total due",
    "Breakdown",
    "Principal",
    "Payments received",
    "Interest on invoice",
    "Flat compensation",
    "Structured communication",
    "Your options",
    "Kind regards",
    "last reminder",
    "bailiff",
    "formally ask",
    "Scan this code",
]


@pytest.mark.parametrize("language", ["nl", "fr", "de"])
@pytest.mark.parametrize("step", WRITTEN_STEPS)
def test_step_leaves_no_english(step: LadderStep, language: str) -> None:
    for kind, charges in ((DebtorKind.CONSUMER, ()), (DebtorKind.ENTERPRISE, BUSINESS_CHARGES)):
        notice = make_notice(
            step=step,
            language=language,
            debtor_kind=kind,
            charges=charges,
            amount_paid=Decimal("10.00"),
        )

        message = render_message(notice, qr_src="cid:qr.1@x.test")

        for sample in ENGLISH_SAMPLES:
            assert sample not in message.text, sample
            assert str(escape(sample)) not in message.html, sample
