"""Bounces and automatic replies are recognized before threading, so they never count as answers."""

from __future__ import annotations

import os
from email.message import EmailMessage
from pathlib import Path

import pytest

from incasso.intake.mime import ParsedMail, parse_mail
from incasso.intake.route import classify_automatic
from incasso.store.models import MessageKind


def _parsed(subject: str, body: str = "Goedendag", **headers: str) -> ParsedMail:
    message = EmailMessage()
    message["From"] = headers.pop("sender", "an.janssens@home.example")
    message["To"] = "dossier+2026-00001@incasso.test"
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return parse_mail(message.as_bytes())


@pytest.mark.parametrize(
    ("subject", "body", "headers", "kind"),
    [
        ("Undeliverable: Herinnering", "…", {}, MessageKind.BOUNCE),
        ("RE: Mail delivery failed: returning message to sender", "…", {}, MessageKind.BOUNCE),
        ("Onbestelbaar: Herinnering", "…", {}, MessageKind.BOUNCE),
        ("Non remis : Rappel", "…", {}, MessageKind.BOUNCE),
        ("Unzustellbar: Mahnung", "…", {}, MessageKind.BOUNCE),
        ("Herinnering", "…", {"sender": "MAILER-DAEMON@mx.example"}, MessageKind.BOUNCE),
        (
            "Re: Herinnering",
            "Your message could not be delivered to an@x.example",
            {},
            MessageKind.BOUNCE,
        ),
        ("Automatisch antwoord: Herinnering", "Ik ben er niet.", {}, MessageKind.AUTO_REPLY),
        ("Afwezig tot 4 januari", "Tot dan.", {}, MessageKind.AUTO_REPLY),
        ("Réponse automatique : Rappel", "Absent.", {}, MessageKind.AUTO_REPLY),
        ("Abwesenheitsnotiz: Mahnung", "Nicht da.", {}, MessageKind.AUTO_REPLY),
        ("Out of Office: Reminder", "Back on Monday.", {}, MessageKind.AUTO_REPLY),
        (
            "Re: Herinnering",
            "Dit is een automatisch antwoord. Ik lees mijn mail later.",
            {},
            MessageKind.AUTO_REPLY,
        ),
        (
            "Re: Herinnering",
            "Ik ben afwezig",
            {"X_Auto_Response_Suppress": "All"},
            MessageKind.AUTO_REPLY,
        ),
        ("Re: Herinnering", "Ik ben afwezig", {"Precedence": "auto_reply"}, MessageKind.AUTO_REPLY),
        (
            "Re: Herinnering",
            "Ik ben afwezig",
            {"Auto_Submitted": "auto-replied"},
            MessageKind.AUTO_REPLY,
        ),
        ("Re: Herinnering", "Ik betaal morgen.", {}, None),
        ("Re: Herinnering", "Ik was afwezig en betaal nu.", {}, None),
        ("Vraag over mijn afwezigheid", "Kan ik later betalen?", {}, None),
    ],
)
def test_machine_mail_is_recognized(
    subject: str, body: str, headers: dict[str, str], kind: MessageKind | None
) -> None:
    assert classify_automatic(_parsed(subject, body, **headers), None) == kind


def test_null_return_path_is_a_bounce() -> None:
    assert classify_automatic(_parsed("Re: Herinnering"), "") == MessageKind.BOUNCE


CORPUS = Path(os.environ.get("INCASSO_CORPUS", "/nonexistent"))


@pytest.mark.corpus
@pytest.mark.parametrize("folder", ["bounces", "autoreplies"])
def test_corpus_machine_mail_is_never_an_answer(folder: str) -> None:
    files = sorted(path for path in (CORPUS / folder).iterdir() if path.is_file())
    assert files, f"no mail in {CORPUS / folder}"

    missed = [
        path.name
        for path in files
        if classify_automatic(parse_mail(path.read_bytes()), None) is None
    ]

    assert missed == []


@pytest.mark.corpus
@pytest.mark.parametrize("folder", ["emails-replies", "emails-submission"])
def test_corpus_mail_of_people_is_not_automatic(folder: str) -> None:
    files = sorted((CORPUS / folder).glob("*.eml"))
    assert files, f"no mail in {CORPUS / folder}"

    flagged = [
        path.name for path in files if classify_automatic(parse_mail(path.read_bytes()), None)
    ]

    assert flagged == []
