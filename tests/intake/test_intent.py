"""What a debtor's reply asks for, in Dutch, French, English and German."""

from __future__ import annotations

from datetime import date

import pytest

from incasso.intake.intent import Intent, _with_fragments, classify, promised_date

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


@pytest.mark.parametrize(
    "text",
    [
        "Ik heb de factuur gisteren overgeschreven.",
        "Ik heb de factuur gisteren overgeschreven. Kunt u dit bevestigen?",
        "Wij hebben het bedrag van 120,50 euro op 3 december overgemaakt.",
        "Dat heb ik vorige week betaald.",
        "Gisteren heb ik de factuur die u stuurde betaald.",
        "Omdat ik het gisteren overgeschreven heb, verwacht ik geen herinnering meer.",
        "De factuur is betaald.",
        "Het saldo werd vandaag overgemaakt.",
        "De overschrijving is gisteren vertrokken.",
        "J'ai viré le montant ce matin.",
        "Virement effectué le 2 décembre.",
        "J'ai fait le virement lundi.",
        "Cette facture est déjà réglée.",
        "Payé hier, merci de vérifier.",
        "Nous avons procédé au virement.",
        "La facture a bien été réglée.",
    ],
)
def test_claim_of_payment(text: str) -> None:
    assert classify(text, received_on=RECEIVED).intent == Intent.PAID


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wij betalen het openstaande bedrag tegen 20 december.", date(2026, 12, 20)),
        ("We zullen betalen tegen 15 januari.", date(2027, 1, 15)),
        ("Ik betaal het saldo tegen 20/12.", date(2026, 12, 20)),
        ("Ik betaal voor 31 december.", date(2026, 12, 31)),
        ("Ik betaal het bedrag op 22 december.", date(2026, 12, 22)),
        ("Tegen 18 december betalen wij alles.", date(2026, 12, 18)),
        ("We storten het bedrag eind deze maand.", date(2026, 12, 31)),
        ("Nous payerons le solde le 20 décembre.", date(2026, 12, 20)),
        ("Je paierai le 15/01.", date(2027, 1, 15)),
        ("Le paiement sera effectué le 20 décembre.", date(2026, 12, 20)),
        ("J'effectuerai le virement le 18 décembre.", date(2026, 12, 18)),
        ("Je ne paierai pas avant le 21 décembre.", date(2026, 12, 21)),
        ("Je m'engage à payer le montant total le 20 décembre.", date(2026, 12, 20)),
        ("Nous comptons régler la facture le 18/12.", date(2026, 12, 18)),
        ("Ik betaal zo snel mogelijk.", None),
    ],
)
def test_promise_to_pay_with_its_date(text: str, expected: date | None) -> None:
    proposal = classify(text, received_on=RECEIVED)

    assert proposal.intent == Intent.PROMISE_TO_PAY
    assert proposal.promised_date == expected


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # Questions about paying promise nothing.
        ("Wanneer moet ik betalen?", Intent.QUESTION),
        ("Hoe betaal ik het best?", Intent.QUESTION),
        ("Waarom betaal ik twee keer?", Intent.QUESTION),
        ("Wanneer heb ik dat betaald?", Intent.QUESTION),
        ("Heb ik dit al betaald?", Intent.QUESTION),
        ("Is de factuur al betaald?", Intent.QUESTION),
        ("Ik heb een vraag over het bedrag dat betaald moet worden.", Intent.QUESTION),
        ("Quand dois-je payer ?", Intent.QUESTION),
        ("La facture est-elle payée ?", Intent.QUESTION),
        # A refusal to pay disputes the claim.
        ("Ik betaal niet, de dienst was slecht", Intent.DISPUTE),
        ("Ik ga deze factuur niet betalen.", Intent.DISPUTE),
        ("Ik zal niet betalen.", Intent.DISPUTE),
        ("Dan betaal ik niet.", Intent.DISPUTE),
        ("Je ne paierai pas cette facture.", Intent.DISPUTE),
        ("Nous ne réglerons jamais ce montant.", Intent.DISPUTE),
        ("Je ne vais pas payer ça.", Intent.DISPUTE),
        # Saying what is not paid yet claims no payment.
        ("Ik heb het bedrag nog niet overgeschreven.", Intent.OTHER),
        ("Je n'ai pas payé hier.", Intent.OTHER),
    ],
)
def test_paying_words_without_claim_or_promise(text: str, intent: Intent) -> None:
    proposal = classify(text, received_on=RECEIVED)

    assert proposal.intent == intent
    assert Intent.PROMISE_TO_PAY not in proposal.also
    assert Intent.PAID not in proposal.also


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


def test_fragments_unknown_name_raises() -> None:
    with pytest.raises(ValueError, match=r"unknown fragment \{missing\}.*defined: statement"):
        _with_fragments(r"ik betaal{missing}", {"statement": r"(?!\?)"})


def test_fragments_leave_repetitions_alone() -> None:
    assert _with_fragments(r"a{0,40}{statement}", {"statement": "X"}) == "a{0,40}X"
