"""Helpers shared by every page of the staff web app: the signed-in staff member, CSRF
checks, one-time notices and rendering in the reader's language.

A page route takes ``staff: Staff = Depends(signed_in)``; without a valid
session the browser is sent to the sign-in page. Every POST route also
declares ``dependencies=[Depends(csrf_checked)]``: the form's hidden
``csrf_token`` field (or an ``X-CSRF-Token`` header) must equal the token kept
in the signed session cookie, so another site cannot post a form in a staff
member's name. The session cookie is signed with the app's secret and sent
with ``SameSite=Strict``.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from sqlalchemy.orm import Session, sessionmaker

from incasso.i18n import (
    LocalizedError,
    Term,
    format_local_time,
    format_money,
    normalize_language,
    translations,
)
from incasso.review import labels
from incasso.store.db import read_transaction
from incasso.store.models import StaffRole, StaffUser
from incasso.store.rawstore import RawStore

logger = logging.getLogger(__name__)

SCREEN_LANGUAGES = ("nl", "fr")
LANGUAGE_COOKIE = "incasso_language"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LABELS = (
    "status_label",
    "step_label",
    "hold_label",
    "close_label",
    "event_label",
    "review_kind_label",
    "reason_label",
    "intent_label",
    "matched_by_label",
    "field_label",
    "debtor_field_label",
    "task_status_label",
    "outcome_label",
    "source_label",
)


@dataclass(frozen=True)
class Staff:
    """The signed-in staff member."""

    id: int
    username: str
    name: str
    role: str
    language: str

    @property
    def is_admin(self) -> bool:
        return self.role == StaffRole.ADMIN


@dataclass(frozen=True)
class WebContext:
    """Application parts the pages need, kept in ``app.state.web``."""

    factory: sessionmaker[Session]
    rawstore: RawStore
    clock: Callable[[], datetime]
    first_reminder_delay: timedelta
    default_language: str
    environments: dict[str, Environment]


class SignInRequired(Exception):
    """Raised by ``signed_in`` when the request has no valid session.

    The app turns it into a redirect to the sign-in page.
    """


def web(request: Request) -> WebContext:
    context: WebContext = request.app.state.web
    return context


def signed_in(request: Request) -> Staff:
    """Return the staff member of this request's session, or raise SignInRequired."""
    user_id = request.session.get("uid")
    if not isinstance(user_id, int):
        raise SignInRequired
    with read_transaction(web(request).factory) as session:
        user = session.get(StaffUser, user_id)
        if user is None or not user.active:
            request.session.clear()
            raise SignInRequired
        return staff_of(user)


def admin_only(request: Request) -> Staff:
    """Like ``signed_in``, and refuses (403) anyone who is not an admin."""
    staff = signed_in(request)
    if not staff.is_admin:
        raise HTTPException(status_code=403, detail="admin role required")
    return staff


def staff_of(user: StaffUser) -> Staff:
    return Staff(user.id, user.username, user.display_name, user.role, user.language)


def start_session(request: Request, user: StaffUser) -> None:
    """Begin a fresh session for ``user``, with a new CSRF token."""
    request.session.clear()
    request.session["uid"] = user.id
    request.session["csrf"] = secrets.token_urlsafe(32)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def csrf_checked(request: Request) -> None:
    """Refuse (403) a POST whose CSRF token is missing or does not match the session's."""
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not isinstance(expected, str) or sent is None or not hmac.compare_digest(expected, sent):
        logger.warning("form post to %s rejected: CSRF token missing or invalid", request.url.path)
        detail = "CSRF token missing or invalid; reload the page"
        raise HTTPException(status_code=403, detail=detail)


def flash(request: Request, template: str, *, level: str = "info", **values: object) -> None:
    """Keep a notice (an ``N_`` catalog template with ``{name}`` fields) for the next page."""
    notices = request.session.setdefault("flash", [])
    # Values that are catalog words themselves (incasso.i18n.Term) are translated with the notice.
    terms = [name for name, value in values.items() if isinstance(value, Term)]
    texts = {name: str(value) for name, value in values.items()}
    notices.append([level, template, texts, terms])
    request.session["flash"] = notices


def flash_error(request: Request, error: LocalizedError) -> None:
    """Show ``error`` on the next page, translated there."""
    flash(request, error.template, level="error", **error.values)


def see_other(url: str) -> RedirectResponse:
    """Redirect a successful POST to ``url``, which the browser then loads with GET."""
    return RedirectResponse(url, status_code=303)


def screen_language(request: Request, staff: Staff | None) -> str:
    """Return the staff member's language, else ``?lang=``, the language cookie or the default."""
    if staff is not None:
        return staff.language
    chosen = request.query_params.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    default = web(request).default_language
    language = normalize_language(chosen, fallback=default)
    return language if language in SCREEN_LANGUAGES else default


def render(
    request: Request,
    staff: Staff | None,
    name: str,
    *,
    status_code: int = 200,
    **variables: Any,
) -> HTMLResponse:
    """Render template ``name`` in the reader's language, with the pending notices."""
    language = screen_language(request, staff)
    environment = web(request).environments[language]
    gettext = translations(language).gettext
    token = csrf_token(request)
    html = environment.get_template(name).render(
        language=language,
        staff=staff,
        notices=_pending_notices(request, gettext),
        csrf_field=lambda: Markup('<input type="hidden" name="{}" value="{}">').format(
            CSRF_FIELD, escape(token)
        ),
        csrf_token=token,
        current_path=request.url.path,
        **variables,
    )
    return HTMLResponse(html, status_code=status_code)


def build_environment(language: str) -> Environment:
    """Build the Jinja environment of the web templates in ``language``."""
    environment = Environment(
        loader=PackageLoader("incasso", "templates/web"),
        autoescape=select_autoescape(["html", "j2"]),
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,
    )
    catalog = translations(language)
    environment.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    _ = catalog.gettext
    for label in LABELS:
        function = getattr(labels, label)
        environment.globals[label] = lambda code, function=function: function(code, _)
    environment.globals["money"] = lambda amount, currency="EUR": format_money(
        amount, currency, language
    )
    environment.globals["local_time"] = format_local_time
    environment.globals["local_day"] = _local_day
    return environment


def _local_day(value: date | None) -> str:
    return value.isoformat() if value is not None else "—"


def _pending_notices(request: Request, gettext: Callable[[str], str]) -> list[tuple[str, str]]:
    notices = request.session.pop("flash", None) or []
    shown = []
    for level, template, values, terms in notices:
        filled = {name: gettext(text) if name in terms else text for name, text in values.items()}
        try:
            shown.append((level, gettext(template).format(**filled)))
        except (KeyError, IndexError, ValueError):
            logger.error("notice %r could not be filled with %r", template, values)
            shown.append((level, template))
    return shown
