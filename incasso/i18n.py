"""Gettext catalogs for every text a person reads.

Message ids are English. Dutch (``nl``) is the default locale, French (``fr``)
sits beside it, and ``de`` and ``en`` exist for messages to debtors. The
catalogs are the ``.po`` files under ``incasso/locale``. They are compiled in
memory the first time a language is requested, so a checkout never carries
stale ``.mo`` files.

This module imports nothing of ours, so every room may use it.
"""

from __future__ import annotations

import gettext
import io
import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_percent

logger = logging.getLogger(__name__)

DOMAIN = "incasso"
DEFAULT_LANGUAGE = "nl"

# Languages people may read: staff screens use nl and fr, messages to
# debtors use all four.
LANGUAGES = ("nl", "fr", "de", "en")

# Belgian conventions for numbers and dates in each language.
LOCALES = {"nl": "nl_BE", "fr": "fr_BE", "de": "de_BE", "en": "en_BE"}

# Times are stored in UTC and shown in the agency's time zone.
LOCAL_ZONE = ZoneInfo("Europe/Brussels")


def normalize_language(code: str | None, fallback: str = DEFAULT_LANGUAGE) -> str:
    """Reduce ``nl_BE``, ``fr-BE`` or ``FR`` to one of LANGUAGES, else return ``fallback``."""
    if not code:
        return fallback
    short = code.replace("-", "_").split("_")[0].strip().lower()
    return short if short in LANGUAGES else fallback


def N_(message: str) -> str:
    """Mark ``message`` for the catalogs without translating it; translate it where it is shown."""
    return message


class Term(str):
    """A word of the catalogs used as a value in a LocalizedError, translated with the message."""


class LocalizedError(ValueError):
    """An error shown to people: an English catalog ``template`` with ``{name}`` fields.

    ``str()`` gives the English text for logs; ``translated(_)`` the text in the
    reader's language. Mark each template with ``N_`` where it is raised.
    """

    def __init__(self, template: str, **values: object) -> None:
        self.template = template
        self.values = {
            name: value if isinstance(value, Term) else str(value) for name, value in values.items()
        }
        super().__init__(template.format(**self.values))

    def translated(self, gettext: Callable[[str], str]) -> str:
        values = {
            name: gettext(value) if isinstance(value, Term) else value
            for name, value in self.values.items()
        }
        return gettext(self.template).format(**values)


@cache
def translations(language: str) -> gettext.NullTranslations:
    """Return the compiled catalog for ``language`` (English text when none exists)."""
    language = normalize_language(language)
    po_file = resources.files("incasso") / "locale" / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_file.is_file():
        return gettext.NullTranslations()

    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    logger.debug("loaded catalog language=%s messages=%d", language, len(catalog))
    return gettext.GNUTranslations(compiled)


def format_money(amount: Decimal | str | None, currency: str, language: str) -> str:
    """Format ``amount`` the Belgian way for ``language``: ``€ 1.234,56`` or ``1 234,56 €``."""
    if amount is None:
        return "—"
    return format_currency(Decimal(amount), currency, locale=LOCALES[normalize_language(language)])


def format_share(value: float, language: str) -> str:
    """Format a fraction as a percentage with one decimal: ``97,5%`` in Dutch and French."""
    return format_percent(value, "0.0%", locale=LOCALES[normalize_language(language)])


def format_local_time(value: str | datetime | None, *, seconds: bool = False) -> str:
    """Show a UTC time (ISO text or datetime) as Brussels time: ``2026-11-16 09:00``."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = moment.astimezone(LOCAL_ZONE)
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
