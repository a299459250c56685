"""Every text marked for translation must be translated in the catalogs.

The messages are extracted from the sources with the babel.cfg mapping, run
from the incasso/ folder as scripts/update-catalogs does. Dutch and French
cover every message. German covers the messages debtors read, the ones from
the mail templates and from incasso/outbound. A failure lists each message
with its source line; run scripts/update-catalogs and translate the listed
entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "incasso"
LOCALE_DIR = PACKAGE / "locale"
DOMAIN = "incasso"
ALL_MESSAGES_LANGUAGES = ("nl", "fr")
DEBTOR_LANGUAGES = ("nl", "fr", "de")
DEBTOR_SOURCES = ("incasso/templates/mail/", "incasso/outbound/")


@dataclass(frozen=True)
class SourceMessage:
    """One extracted message id with where it was found."""

    msgid: str
    context: str | None
    location: str


@cache
def extracted_messages() -> tuple[SourceMessage, ...]:
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle, "babel.cfg")

    found: dict[tuple[str, str | None], SourceMessage] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        PACKAGE, method_map, options_map, directory_filter=_in_package
    ):
        msgid = message if isinstance(message, str) else message[0]
        location = f"incasso/{filename}:{lineno}"
        found.setdefault((msgid, context), SourceMessage(msgid, context, location))
    return tuple(found.values())


def _in_package(path: str) -> bool:
    parts = Path(path).relative_to(PACKAGE).parts
    return not any(part.startswith((".", "_")) for part in parts)


@cache
def catalog(language: str) -> Catalog:
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


def messages_for(language: str) -> list[SourceMessage]:
    messages = extracted_messages()
    if language in ALL_MESSAGES_LANGUAGES:
        return list(messages)
    return [message for message in messages if message.location.startswith(DEBTOR_SOURCES)]


def _is_translated(entry: Message) -> bool:
    # A plural entry carries one string per plural form; each must be filled.
    strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
    return all(strings)


def _describe(messages: list[SourceMessage]) -> str:
    return "\n".join(f"  {message.location}: {message.msgid!r}" for message in messages)


def test_extraction_finds_mail_texts() -> None:
    locations = {message.location.split(":")[0] for message in extracted_messages()}

    assert "incasso/templates/mail/notice_blocks.txt.j2" in locations
    assert "incasso/templates/mail/first_reminder.html.j2" in locations
    assert "incasso/outbound/render.py" in locations


@pytest.mark.parametrize("language", DEBTOR_LANGUAGES)
def test_catalog_has_every_message(language: str) -> None:
    entries = catalog(language)

    missing = [m for m in messages_for(language) if entries.get(m.msgid, m.context) is None]

    assert not missing, f"{language} catalog lacks these messages:\n{_describe(missing)}"


@pytest.mark.parametrize("language", DEBTOR_LANGUAGES)
def test_catalog_messages_are_translated(language: str) -> None:
    entries = catalog(language)

    untranslated = []
    for message in messages_for(language):
        entry = entries.get(message.msgid, message.context)
        if entry is not None and not _is_translated(entry):
            untranslated.append(message)

    assert not untranslated, (
        f"{language} catalog has no translation for:\n{_describe(untranslated)}"
    )


@pytest.mark.parametrize("language", DEBTOR_LANGUAGES)
def test_catalog_messages_are_not_fuzzy(language: str) -> None:
    entries = catalog(language)

    fuzzy = []
    for message in messages_for(language):
        entry = entries.get(message.msgid, message.context)
        if entry is not None and entry.fuzzy:
            fuzzy.append(message)

    assert not fuzzy, f"{language} catalog marks these messages fuzzy:\n{_describe(fuzzy)}"


@pytest.mark.parametrize("language", DEBTOR_LANGUAGES)
def test_catalog_placeholders_match(language: str) -> None:
    problems = [
        f"  {message.id!r}: {'; '.join(str(error) for error in errors)}"
        for message, errors in catalog(language).check()
        if errors
    ]

    assert not problems, f"{language} catalog has placeholder errors:\n" + "\n".join(problems)
