"""What a debtor's reply asks for, in Dutch, French, English and German."""

from __future__ import annotations

from datetime import date

import pytest

from incasso.intake.intent import Intent, classify, promised_date

RECEIVED = date(2026, 12, 8)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Ik heb die factuur vorige week al betaald.", Intent.PAID),
        ("Het bedrag is reeds betaald, zie betalingsbewijs.", Intent.PAID),
        ("J'ai déjà réglé cette facture le mois passé.", Intent.PAID),
        ("We have paid this invoice on 1 December.", Intent.PAID),
        ("Wir haben den Betrag bereits bezahlt.", Intent.PAID),
        ("Ik betwist deze factuur: de ketel is nooit geleverd.", Intent.DISPUTE),
        ("Ik ga niet akkoord, het werk was slecht uitgevoerd.", Intent.DISPUTE),
        ("Je conteste ce montant, la marchandise était défectueuse.", Intent.DISPUTE),
        ("We never received the goods.", Intent.DISPUTE),
        ("Ich bin mit der Rechnung nicht einverstanden.", Intent.DISPUTE),
        ("Ik zal het volledige bedrag tegen vrijdag overschrijven.", Intent.PROMISE_TO_PAY),
        ("Je vais payer dès que mon salaire arrive.", Intent.PROMISE_TO_PAY),
        ("I will pay the balance next week.", Intent.PROMISE_TO_PAY),
        ("Ich werde den Betrag nächste Woche überweisen.", Intent.PROMISE_TO_PAY),
        ("Mag ik in drie schijven betalen?", Intent.PAYMENT_PLAN),
        ("Serait-il possible de payer en plusieurs fois ?", Intent.PAYMENT_PLAN),
        ("Can we agree on a payment plan?", Intent.PAYMENT_PLAN),
        ("Ist eine Ratenzahlung möglich?", Intent.PAYMENT_PLAN),
        ("Ik ken deze firma niet en heb niets besteld.", Intent.WRONG_DEBTOR),
        ("Vous vous adressez à la mauvaise personne.", Intent.WRONG_DEBTOR),
        (
            "Ik zit in collectieve schuldenregeling, mijn schuldbemiddelaar neemt contact op.",
            Intent.DEBT_MEDIATION,
        ),
        ("Je suis en règlement collectif de dettes.", Intent.DEBT_MEDIATION),
        ("Mijn moeder is overleden in november.", Intent.MOVED_OR_DECEASED),
        ("Madame X n'habite plus à cette adresse.", Intent.MOVED_OR_DECEASED),
        ("Over welke factuur gaat het precies?", Intent.QUESTION),
        ("Pouvez-vous m'envoyer une copie de la facture", Intent.QUESTION),
        ("Bedankt voor uw bericht.", Intent.OTHER),
    ],
)
def test_intent_of_reply(text: str, intent: Intent) -> None:
    assert classify(text, received_on=RECEIVED).intent == intent


def test_legal_pause_reasons_outrank_the_rest() -> None:
    text = "Ik betwist de kosten. Ik zit in schuldbemiddeling. Kan ik afbetalen?"

    proposal = classify(text, received_on=RECEIVED)

    assert proposal.intent == Intent.DEBT_MEDIATION
    assert proposal.also == (Intent.DISPUTE, Intent.PAYMENT_PLAN, Intent.QUESTION)


def test_evidence_quotes_the_matched_words() -> None:
    proposal = classify("Goedemiddag, ik betwist deze factuur want het toestel was defect.",
                        received_on=RECEIVED)  # fmt: skip

    assert any("betwist deze factuur" in evidence for evidence in proposal.evidence)
    assert any("defect" in evidence for evidence in proposal.evidence)


def test_proof_attached_only_for_paid() -> None:
    paid = classify("Reeds betaald, zie bijlage.", received_on=RECEIVED, has_attachment=True)
    dispute = classify("Ik betwist dit.", received_on=RECEIVED, has_attachment=True)
    no_file = classify("Reeds betaald.", received_on=RECEIVED, has_attachment=False)

    assert paid.proof_attached is True
    assert dispute.proof_attached is False
    assert no_file.proof_attached is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ik betaal tegen 20 december", date(2026, 12, 20)),
        ("ik betaal op 20/12", date(2026, 12, 20)),
        ("je paierai le 15/01", date(2027, 1, 15)),  # January comes after December
        ("je paierai le 15 janvier 2027", date(2027, 1, 15)),
        ("I'll pay on 3 Feb", date(2027, 2, 3)),
        ("ich zahle am 31.12.2026", date(2026, 12, 31)),
        ("ik betaal eind deze maand", date(2026, 12, 31)),
        ("je paierai la semaine prochaine", date(2026, 12, 15)),
        ("ik betaal op 8 december", date(2026, 12, 8)),  # the day of receipt still counts
        ("ik betaal op 31/02", None),  # no such day
        ("ik betaal zo snel mogelijk", None),
    ],
)
def test_promised_date(text: str, expected: date | None) -> None:
    assert promised_date(text, RECEIVED) == expected


def test_promise_carries_its_date() -> None:
    proposal = classify("Ik zal betalen tegen 20 december.", received_on=RECEIVED)

    assert proposal.intent == Intent.PROMISE_TO_PAY
    assert proposal.promised_date == date(2026, 12, 20)
    assert proposal.as_detail()["promised_date"] == "2026-12-20"
