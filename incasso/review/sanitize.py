"""Making the HTML body of a received mail safe to show to staff.

A mail's HTML comes from anyone. It is never put on a page as it is: only
basic formatting survives (paragraphs, emphasis, lists, tables, links). No
script, style, form, frame or image is kept, so a mail cannot run code in the
staff member's session, restyle the page, or tell its sender that it was read
by loading a remote image. Links keep only web and mail addresses, open in a
new tab and carry ``rel="noopener noreferrer"``, so the target page neither
controls the queue's tab nor learns where it was opened from.
"""

from __future__ import annotations

import logging

import nh3

logger = logging.getLogger(__name__)

FORMATTING_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "div", "dl", "dt", "em",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "s", "small",
        "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
        "u", "ul",
    }
)  # fmt: skip
# Tags dropped together with everything inside them: their text means nothing to a reader.
DROPPED_WITH_CONTENT = frozenset(
    {"head", "iframe", "noscript", "object", "script", "style", "svg", "template", "title"}
)
ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
LINK_SCHEMES = frozenset({"http", "https", "mailto"})

_CLEANER = nh3.Cleaner(
    tags=set(FORMATTING_TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
    url_schemes=set(LINK_SCHEMES),
    link_rel="noopener noreferrer",
    set_tag_attribute_values={"a": {"target": "_blank"}},
    strip_comments=True,
)


def safe_html(html: str) -> str:
    """Return ``html`` with only basic formatting and safe links left."""
    return _CLEANER.clean(html)
