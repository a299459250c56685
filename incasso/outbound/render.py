"""Render a written notice of any ladder step: e-mail subject, plain text and HTML, or letter HTML.

Each written step has its own templates in ``incasso/templates/mail``:
``<step>_subject.txt.j2``, ``<step>.txt.j2`` and ``<step>.html.j2``. A step
template fills the blocks that differ per step (introduction, further steps)
and extends the layout it is given: ``mail/notice.html.j2`` and
``mail/notice.txt.j2`` for an e-mail, ``letter/notice.html.j2`` for the HTML
that becomes a PDF letter. The sentences the steps share are macros in
``mail/notice_blocks.*.j2``, so the catalogs hold each sentence once.

The mandatory mentions are listed in ``incasso.outbound.mentions``. Rendering
raises ``MissingMentionError`` both for an empty or invalid input value and
for a template that dropped a mandatory value from a part.

The subject names only the case reference and the creditor. It never says that
the mail is about debt collection, because Belgian law forbids an envelope
that reveals it, and we treat a subject line like an envelope.

All texts come from the gettext catalogs. HTML templates (``*.html.j2``) are
autoescaped and text templates are not, so names from invoices are safe in
HTML and unchanged in the text.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from functools import cache

from jinja2 import BaseLoader, Environment, PackageLoader, StrictUndefined
from markupsafe import escape

from incasso.cases.ladder import NOTICE_STEPS, LadderStep
from incasso.i18n import normalize_language, translations
from incasso.outbound.mentions import (
    check_rendered,
    check_required_values,
    check_subject,
    mandatory_values,
)
from incasso.outbound.notice import MissingMentionError, Notice
from incasso.outbound.views import NoticeContext, build_context

logger = logging.getLogger(__name__)

__all__ = [
    "MissingMentionError",
    "RenderedLetterPage",
    "RenderedMessage",
    "StepTemplates",
    "VersionTexts",
    "render_letter_page",
    "render_message",
    "step_templates",
    "version_texts",
]

TEMPLATE_PACKAGE = "incasso"
TEMPLATE_FOLDER = "templates"
MAIL_HTML_LAYOUT = "mail/notice.html.j2"
MAIL_TEXT_LAYOUT = "mail/notice.txt.j2"
LETTER_LAYOUT = "letter/notice.html.j2"
# Optional sections that print nothing leave runs of empty lines in the text part.
BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class RenderedMessage:
    """A rendered e-mail to a debtor, ready to be wrapped in a MIME message."""

    subject: str
    text: str
    html: str
    language: str


@dataclass(frozen=True)
class RenderedLetterPage:
    """The HTML of one language version of a letter, ready for WeasyPrint."""

    subject: str
    html: str
    language: str


@dataclass(frozen=True)
class VersionTexts:
    """The texts that announce the legally required version to the debtor."""

    # Above the courtesy version, in the debtor's language.
    note: str
    # Above the legal version, in the legal language.
    heading: str


@dataclass(frozen=True)
class StepTemplates:
    """Template names of one written step, relative to ``incasso/templates``."""

    subject: str
    text: str
    html: str


def step_templates(step: LadderStep) -> StepTemplates:
    """Return the templates of ``step``; raise ValueError for a step that sends no notice."""
    if step not in NOTICE_STEPS:
        written = ", ".join(sorted(NOTICE_STEPS))
        raise ValueError(f"step {step} sends no written notice; use one of {written}")
    return StepTemplates(
        subject=f"mail/{step}_subject.txt.j2",
        text=f"mail/{step}.txt.j2",
        html=f"mail/{step}.html.j2",
    )


def render_message(
    notice: Notice, *, loader: BaseLoader | None = None, qr_src: str | None = None
) -> RenderedMessage:
    """Render ``notice`` as an e-mail in the debtor's language, Dutch when it is unknown.

    A legally required notice must exist in the language of the agency's seat.
    For a debtor who reads another language, ``incasso.outbound.bilingual``
    renders the notice twice and sends both versions in one message.

    ``qr_src`` is the ``cid:`` URL of the EPC QR image, None for no image.
    ``loader`` replaces the packaged templates; tests use it to render a broken
    template. Raises MissingMentionError when an input value is empty or
    invalid, or when a rendered part lacks a mandatory value.
    """
    check_required_values(notice)
    templates = step_templates(notice.step)
    language = normalize_language(notice.language)
    environment = _environment_for(language, loader)
    context = build_context(notice, language, qr_src=qr_src)
    mandatory = mandatory_values(context)

    subject = _render_subject(environment, templates.subject, context)
    check_subject(subject, notice.case_reference, templates.subject)

    text = BLANK_LINES.sub("\n\n", _render(environment, templates.text, context, MAIL_TEXT_LAYOUT))
    check_rendered(
        text,
        part="plain-text part",
        template=_template_names(templates.text, MAIL_TEXT_LAYOUT),
        mandatory=mandatory,
        html=False,
    )

    html = _render(environment, templates.html, context, MAIL_HTML_LAYOUT)
    html_names = _template_names(templates.html, MAIL_HTML_LAYOUT)
    check_rendered(html, part="HTML part", template=html_names, mandatory=mandatory, html=True)
    _check_qr_image(html, qr_src, html_names)

    logger.debug(
        "rendered %s case=%s language=%s debtor_kind=%s",
        notice.step,
        notice.case_reference,
        language,
        notice.debtor_kind,
    )
    return RenderedMessage(subject=subject, text=text, html=html, language=language)


def render_letter_page(
    notice: Notice,
    *,
    loader: BaseLoader | None = None,
    qr_src: str | None = None,
    version_note: str | None = None,
    version_heading: str | None = None,
) -> RenderedLetterPage:
    """Render ``notice`` as the HTML of a printed letter in the language of the notice.

    ``qr_src`` is the ``data:`` URI of the EPC QR image. ``version_note`` is
    printed above a courtesy version and ``version_heading`` above the legally
    required version of a bilingual letter. Raises MissingMentionError like
    ``render_message``, and also when the debtor's postal address is empty.
    """
    check_required_values(notice)
    if not notice.debtor_address or not notice.debtor_address.strip():
        raise MissingMentionError(
            f"debtor postal address of case {notice.case_reference} is empty; "
            "add the debtor's address before sending a letter"
        )
    templates = step_templates(notice.step)
    language = normalize_language(notice.language)
    environment = _environment_for(language, loader)
    context = replace(
        build_context(notice, language, letter=True, qr_src=qr_src),
        version_note=version_note,
        version_heading=version_heading,
    )

    subject = _render_subject(environment, templates.subject, context)
    check_subject(subject, notice.case_reference, templates.subject)

    html = _render(environment, templates.html, context, LETTER_LAYOUT)
    names = _template_names(templates.html, LETTER_LAYOUT)
    mandatory = [*mandatory_values(context), *_address_values(context)]
    check_rendered(html, part="letter", template=names, mandatory=mandatory, html=True)
    _check_qr_image(html, qr_src, names)

    logger.debug(
        "rendered %s letter case=%s language=%s", notice.step, notice.case_reference, language
    )
    return RenderedLetterPage(subject=subject, html=html, language=language)


def version_texts(courtesy_language: str, legal_language: str, *, letter: bool) -> VersionTexts:
    """Return the note above a courtesy version and the heading above the legal version.

    In an e-mail the legal version follows below the courtesy version; in a
    letter it follows on the next pages.
    """
    _ = translations(courtesy_language).gettext
    if letter:
        note = _(
            "The pages after this letter contain the same letter in the language of our "
            "registered office; that version is the one the law requires."
        )
    else:
        note = _(
            "Below this letter you find the same letter in the language of our registered "
            "office; that version is the one the law requires."
        )
    heading = translations(legal_language).gettext("Legally required version")
    return VersionTexts(note=note, heading=heading)


def _environment_for(language: str, loader: BaseLoader | None) -> Environment:
    if loader is None:
        return _packaged_environment(language)
    return _environment(language, loader)


@cache
def _packaged_environment(language: str) -> Environment:
    environment = _environment(language, PackageLoader(TEMPLATE_PACKAGE, TEMPLATE_FOLDER))
    # The packaged templates change only with a new release: skip the file check per render.
    environment.auto_reload = False
    return environment


def _environment(language: str, loader: BaseLoader) -> Environment:
    environment = Environment(
        loader=loader,
        autoescape=_autoescape,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_translations(  # type: ignore[attr-defined]
        translations(language), newstyle=True
    )
    return environment


def _autoescape(template_name: str | None) -> bool:
    return template_name is not None and template_name.endswith(".html.j2")


def _render(environment: Environment, name: str, context: NoticeContext, layout: str) -> str:
    variables = context.as_template_variables()
    variables["layout"] = layout
    return environment.get_template(name).render(variables)


def _render_subject(environment: Environment, name: str, context: NoticeContext) -> str:
    rendered = environment.get_template(name).render(context.as_template_variables())
    # A line break in a creditor name must not reach the Subject header.
    return " ".join(rendered.split())


def _template_names(step_template: str, layout: str) -> str:
    return f"{step_template} (layout {layout}, shared parts mail/notice_blocks.*.j2)"


def _check_qr_image(html: str, qr_src: str | None, template: str) -> None:
    if qr_src is not None and f'src="{escape(qr_src)}"' not in html:
        raise MissingMentionError(
            "rendered notice lacks the payment QR code image; "
            f"restore it in the template {template}"
        )


def _address_values(context: NoticeContext) -> list[tuple[str, str]]:
    values = [("debtor name", context.debtor_name)]
    values.extend(("debtor address", line) for line in context.debtor_address)
    return values
