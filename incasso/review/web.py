"""The staff web app: sign-in, the queue, drafts, unmatched mail, cases and search.

Pages are rendered on the server with Jinja2 and work without JavaScript; a
small script of our own (``incasso/static/app.js``) adds keyboard shortcuts.
Every text goes through the gettext catalogs: Dutch by default, French for
staff who chose it. Each page lives in a module of ``incasso.review.pages``
with its own router; this module builds the app around them and holds the
pages every visitor needs: sign-in, sign-out and the language choice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from importlib import import_module
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Form, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from incasso.i18n import N_
from incasso.review.accounts import authenticate
from incasso.review.webkit import (
    LANGUAGE_COOKIE,
    SCREEN_LANGUAGES,
    SignInRequired,
    Staff,
    WebContext,
    build_environment,
    csrf_checked,
    flash,
    render,
    see_other,
    signed_in,
    start_session,
    web,
)
from incasso.store.db import read_transaction, transaction
from incasso.store.models import StaffUser
from incasso.store.rawstore import RawStore

logger = logging.getLogger(__name__)

# Page modules in incasso.review.pages; each has a ``router``.
PAGE_MODULES = ("cases", "queue", "search", "case", "drafts", "documents", "messages", "unmatched")
SESSION_COOKIE = "incasso_session"
# A session ends after this long, signed in or not: a working day with margin.
SESSION_SECONDS = 12 * 3600


def create_app(
    factory: sessionmaker[Session],
    *,
    rawstore: RawStore,
    secret: str,
    clock: Callable[[], datetime],
    default_language: str = "nl",
    secure_cookies: bool = False,
    first_reminder_delay: timedelta = timedelta(0),
) -> FastAPI:
    """Build the web app on ``factory``; ``secret`` signs the session cookies."""
    if len(secret) < 32:
        raise ValueError("the web secret must be at least 32 characters; generate a random one")

    app = FastAPI(title="incasso", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = WebContext(
        factory=factory,
        rawstore=rawstore,
        clock=clock,
        first_reminder_delay=first_reminder_delay,
        default_language=default_language,
        environments={language: build_environment(language) for language in SCREEN_LANGUAGES},
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_SECONDS,
        same_site="strict",
        https_only=secure_cookies,
    )
    app.mount("/static", StaticFiles(packages=[("incasso", "static")]), name="static")
    _add_exception_handlers(app)
    _add_account_routes(app)
    for name in PAGE_MODULES:
        app.include_router(import_module(f"incasso.review.pages.{name}").router)
    return app


def _add_exception_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def to_sign_in(request: Request, _error: SignInRequired) -> Response:
        if request.method != "GET":
            return Response(status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/sign-in?" + urlencode({"next": target}), status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def error_page(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code not in (403, 404):
            return await http_exception_handler(request, error)
        heading = N_("Not allowed") if error.status_code == 403 else N_("Not found")
        status = error.status_code
        try:
            staff: Staff | None = signed_in(request)
        except SignInRequired:
            staff = None
        return render(request, staff, "error.html.j2", status_code=status, heading=heading)


def _add_account_routes(app: FastAPI) -> None:
    @app.get("/sign-in", response_class=HTMLResponse)
    def sign_in_page(request: Request, next: str = "/") -> Response:
        response = render(request, None, "sign_in.html.j2", next=_local_path(next), username="")
        language = request.query_params.get("lang")
        if language in SCREEN_LANGUAGES:
            response.set_cookie(LANGUAGE_COOKIE, language, samesite="strict", httponly=True)
        return response

    @app.post("/sign-in", dependencies=[Depends(csrf_checked)])
    def sign_in(
        request: Request,
        username: Annotated[str, Form()],
        password: Annotated[str, Form()],
        next: Annotated[str, Form()] = "/",
    ) -> Response:
        with transaction(web(request).factory) as session:
            user = authenticate(session, username, password, now=web(request).clock())
            if user is not None:
                start_session(request, user)
                logger.info("staff %s signed in", user.username)
                return see_other(_local_path(next))
        flash(request, N_("User name or password is wrong."), level="error")
        return render(
            request,
            None,
            "sign_in.html.j2",
            status_code=401,
            next=_local_path(next),
            username=username,
        )

    @app.post("/sign-out", dependencies=[Depends(csrf_checked)])
    def sign_out(request: Request) -> Response:
        request.session.clear()
        return see_other("/sign-in")

    @app.post("/language", dependencies=[Depends(csrf_checked)])
    def choose_language(
        request: Request,
        language: Annotated[str, Form()],
        staff: Annotated[Staff, Depends(signed_in)],
        back: Annotated[str, Form()] = "/",
    ) -> Response:
        if language in SCREEN_LANGUAGES:
            with transaction(web(request).factory) as session:
                user = session.get_one(StaffUser, staff.id)
                user.language = language
        return see_other(_local_path(back))

    @app.get("/healthz")
    def health(request: Request) -> JSONResponse:
        with read_transaction(web(request).factory) as session:
            session.execute(select(1))
        return JSONResponse({"status": "ok"})


def _local_path(target: str) -> str:
    """Only paths on this site are followed after sign-in, never another host."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
