"""One message carrying a notice twice: in the debtor's language and in the agency's legal language.

A legally required notice of a Flemish-seated agency must exist in Dutch,
whatever the debtor reads; a notice only in French would not count. A debtor
who reads another language gets the notice in that language first, as a
courtesy, and the legal version below it in the same message. The subject
stays in the debtor's language. When both languages are the same, the
message is the single notice.
"""

from __future__ import annotations

import re
from dataclasses import replace

from markupsafe import escape

from incasso.i18n import normalize_language, translations
from incasso.outbound.notice import FirstNotice
from incasso.outbound.render import RenderedMessage, render_first_reminder

BODY = re.compile(r"^(?P<head>.*?<body[^>]*>)(?P<body>.*)</body>\s*</html>\s*$", re.DOTALL)
TEXT_RULE = "=" * 64


def render_notice(notice: FirstNotice, legal_language: str) -> RenderedMessage:
    """Render ``notice`` for the debtor, with the legal-language version below when it differs."""
    courtesy = render_first_reminder(notice)
    legal_language = normalize_language(legal_language)
    if courtesy.language == legal_language:
        return courtesy

    legal = render_first_reminder(replace(notice, language=legal_language))
    intro = translations(courtesy.language).gettext(
        "Below this letter you find the same letter in the language of our registered office; "
        "that version is the one the law requires."
    )
    heading = translations(legal_language).gettext("Legally required version")
    return RenderedMessage(
        subject=courtesy.subject,
        text=f"{intro}\n\n{courtesy.text}\n\n{TEXT_RULE}\n{heading}\n{TEXT_RULE}\n\n{legal.text}",
        html=_combine_html(courtesy, legal, intro, heading),
        language=courtesy.language,
    )


def _combine_html(
    courtesy: RenderedMessage, legal: RenderedMessage, intro: str, heading: str
) -> str:
    first = BODY.match(courtesy.html)
    second = BODY.match(legal.html)
    if first is None or second is None:
        raise ValueError("a rendered notice has no <body> element; check the HTML mail template")
    return (
        f"{first.group('head')}\n"
        f'<p class="legal">{escape(intro)}</p>\n'
        f'<section lang="{courtesy.language}">{first.group("body")}</section>\n'
        f'<hr>\n<h2 lang="{legal.language}">{escape(heading)}</h2>\n'
        f'<section lang="{legal.language}">{second.group("body")}</section>\n'
        "</body>\n</html>\n"
    )
