"""The staff web view. For now one page: the list of cases, newest first.

Pages are rendered on the server with Jinja2; every text goes through the
gettext catalogs. Dutch is the default; ``?lang=fr`` switches to French
and is remembered in a cookie. The full review queue comes later.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from incasso.cases.summary import case_list_form, list_cases
from incasso.i18n import format_local_time, format_money, normalize_language, translations
from incasso.review.labels import status_label, step_label
from incasso.store.db import transaction
from incasso.store.models import ReviewItem, ReviewStatus

logger = logging.getLogger(__name__)

SCREEN_LANGUAGES = ("nl", "fr")
LANGUAGE_COOKIE = "incasso_language"


def create_app(factory: sessionmaker[Session], *, default_language: str = "nl") -> FastAPI:
    """Build the web application on ``factory``."""
    app = FastAPI(title="incasso", docs_url=None, redoc_url=None, openapi_url=None)
    templates = {language: _environment(language) for language in SCREEN_LANGUAGES}

    @app.get("/", response_class=HTMLResponse)
    def case_list(request: Request, lang: str | None = None, status: str | None = None) -> Response:
        language = _language(request, lang, default_language)
        with transaction(factory) as session:
            cases = case_list_form(list_cases(session, status=status))["cases"]
            open_reviews = session.scalar(
                select(func.count())
                .select_from(ReviewItem)
                .where(ReviewItem.status == ReviewStatus.OPEN)
            )
        html = _render(
            templates[language],
            "cases.html.j2",
            language,
            cases=cases,
            open_reviews=open_reviews or 0,
            status=status,
        )
        response = HTMLResponse(html)
        if lang:
            response.set_cookie(LANGUAGE_COOKIE, language, samesite="strict", httponly=True)
        return response

    @app.get("/healthz")
    def health() -> JSONResponse:
        with transaction(factory) as session:
            session.execute(select(1))
        return JSONResponse({"status": "ok"})

    return app


def _language(request: Request, requested: str | None, default: str) -> str:
    chosen = requested or request.cookies.get(LANGUAGE_COOKIE) or default
    language = normalize_language(chosen, fallback=default)
    return language if language in SCREEN_LANGUAGES else default


def _environment(language: str) -> Environment:
    environment = Environment(
        loader=PackageLoader("incasso", "templates/web"),
        autoescape=select_autoescape(["html", "j2"]),
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    _ = translations(language).gettext
    environment.globals["status_label"] = lambda code: status_label(code, _)
    environment.globals["step_label"] = lambda code: step_label(code, _)
    environment.globals["money"] = lambda amount, currency: format_money(amount, currency, language)
    environment.globals["local_time"] = format_local_time
    return environment


def _render(environment: Environment, name: str, language: str, **variables: Any) -> str:
    return environment.get_template(name).render(language=language, **variables)
