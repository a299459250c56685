"""The new text of a reply, without the reminder it quotes or the sender's signature."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from incasso.intake.reply_text import new_text

ANSWER = "Ik betaal het saldo volgende week."


@pytest.mark.parametrize(
    "quoted",
    [
        "Op di 8 dec. 2026 om 09:00 schreef Incasso Vlaanderen <dossiers@incasso.test>:\n"
        "> Geachte heer Peeters,\n> U hebt nog een openstaand bedrag.",
        "Op 8 december 2026 09:00 schreef Incasso Vlaanderen <\ndossiers@incasso.test>:\n"
        "> Geachte heer Peeters,",
        "Le mar. 8 déc. 2026 à 09:00, Incasso Vlaanderen\n<dossiers@incasso.test> a écrit :\n"
        "> Monsieur,",
        "On Tue, Dec 8, 2026 at 9:00 AM Incasso <dossiers@incasso.test> wrote:\n> Dear Sir,",
        "Am 08.12.2026 um 09:00 schrieb Incasso <dossiers@incasso.test>:\n> Sehr geehrter Herr,",
        "-----Oorspronkelijk bericht-----\nVan: Incasso\nVerzonden: dinsdag 8 december 2026\n"
        "Aan: jan.peeters@home.example\nOnderwerp: Herinnering",
        "________________________________\nVan: Incasso <dossiers@incasso.test>\n"
        "Verzonden: dinsdag 8 december 2026 09:00\nAan: Jan Peeters\nOnderwerp: Herinnering\n\n"
        "Geachte heer Peeters,",
        "De : Incasso <dossiers@incasso.test>\nEnvoyé : mardi 8 décembre 2026 09:00\n"
        "À : Jan Peeters\nObjet : Rappel",
        "-------- Message d'origine --------\nDe : Incasso\nDate : 08/12/2026 09:00\n"
        "Objet : Rappel",
        "From: Incasso <dossiers@incasso.test>\nSent: Tuesday, 8 December 2026 09:00\nTo: Jan",
    ],
)
def test_quoted_reminder_is_dropped(quoted: str) -> None:
    body = f"{ANSWER}\n\nMvg,\nJan\n\n{quoted}\n> Met vriendelijke groeten"

    assert new_text(body) == f"{ANSWER}\n\nMvg,\nJan"


@pytest.mark.parametrize(
    "footer",
    [
        "-- \nJan Peeters\nBoekhouder",
        "Verstuurd vanaf mijn iPhone",
        "Envoyé de mon iPhone",
        "Von meinem iPhone gesendet",
        "Sent from my Galaxy",
        "Envoyé à partir de Outlook pour iOS",
    ],
)
def test_signature_and_mobile_footer_are_dropped(footer: str) -> None:
    assert new_text(f"{ANSWER}\n{footer}\n") == ANSWER


def test_answers_between_quoted_lines_are_kept() -> None:
    body = (
        "On Tue, Dec 8, 2026 at 9:00 AM Incasso <dossiers@incasso.test> wrote:\n"
        "> Do you agree with the amount?\n"
        "No, the second invoice was paid in October.\n"
        "> When will you pay?\n"
        "The first one on Friday.\n"
    )

    assert new_text(body) == "No, the second invoice was paid in October.\nThe first one on Friday."


def test_sentences_that_start_with_on_are_no_attribution() -> None:
    body = "On Friday I pay the first half.\nOn Monday the rest."

    assert new_text(body) == body


CORPUS = Path(os.environ.get("INCASSO_CORPUS", "")) / "emails-replies"
QUOTE_MARKS = re.compile(
    r"(wrote\s*:|schreef|a écrit|schrieb|^(from|van|de|von|sent|envoyé|gesendet)\s*:|^-{5,}|^>)",
    re.IGNORECASE | re.MULTILINE,
)


@pytest.mark.corpus
def test_corpus_replies_keep_only_new_text() -> None:
    bodies = sorted(CORPUS.glob("*.txt"))
    assert bodies, f"no reply bodies in {CORPUS}"

    for path in bodies:
        text = new_text(path.read_text(encoding="utf-8", errors="replace"))
        assert text, path.name
        assert QUOTE_MARKS.search(text) is None, (path.name, text)
