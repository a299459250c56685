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

from jinja2 import BaseLoader
from markupsafe import escape

from incasso.i18n import normalize_language
from incasso.outbound.notice import Notice
from incasso.outbound.render import RenderedMessage, render_message, version_texts

BODY = re.compile(r"^(?P<head>.*?<body[^>]*>)(?P<body>.*)</body>\s*</html>\s*$", re.DOTALL)
TEXT_RULE = "=" * 64


def render_notice(
    notice: Notice,
    legal_language: str,
    *,
    qr_src: str | None = None,
    loader: BaseLoader | None = None,
) -> RenderedMessage:
    """Render ``notice`` for the debtor, with the legal-language version below when it differs.

    ``qr_src`` is the ``cid:`` URL of the EPC QR image both versions show.
    Raises MissingMentionError when either version lacks a mandatory mention.
    """
    courtesy = render_message(notice, loader=loader, qr_src=qr_src)
    legal_language = normalize_language(legal_language)
    if courtesy.language == legal_language:
        return courtesy

    legal = render_message(replace(notice, language=legal_language), loader=loader, qr_src=qr_src)
    texts = version_texts(courtesy.language, legal_language, letter=False)
    intro, heading = texts.note, texts.heading
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
