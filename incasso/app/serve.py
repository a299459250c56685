"""``incasso serve``: the SMTP receiver, the scheduler and the web view in one process.

Start-up first recovers what a previous process left half done: messages
claimed for processing go back to ``received``, and interrupted sends become
``uncertain`` for staff. Then it starts the scheduler, the SMTP receiver in
its own thread, and last the web server in the main thread, which also
handles Ctrl-C and SIGTERM. Shutting down stops them in reverse order.

NOTE: the recovery at start-up treats every claim as abandoned, which is
right for one ``incasso serve`` per store. Several workers sharing one
PostgreSQL store need claims with an expiry that is renewed while working.
"""

from __future__ import annotations

import gc
import logging
import os
import secrets
import signal
import ssl
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import uvicorn
from apscheduler.schedulers.background import BackgroundScheduler
from fastapi import FastAPI
from rich.console import Console

from incasso.app.context import Application
from incasso.app.settings import Settings, SmtpReceiverSettings
from incasso.intake.imap import PollReport, watch_account
from incasso.intake.process import release_stale_claims
from incasso.intake.receive import ReceiveBatcher
from incasso.intake.smtp import IntakeHandler, make_controller, server_tls_context
from incasso.outbound.outbox import flag_interrupted_sends
from incasso.review.web import create_app
from incasso.scheduler.runner import build_scheduler
from incasso.store.models import Channel

logger = logging.getLogger(__name__)

# Seconds to wait for each mailbox thread to notice the stop and log out.
MAILBOX_STOP_SECONDS = 10.0
# A claim older than this at start-up belonged to a process that is gone.
STALE_CLAIM_AGE = timedelta(seconds=0)
# File in the data folder that keeps the generated web secret.
SECRET_FILE = "web-secret"

Gettext = Callable[[str], str]


def build_web_app(app: Application) -> FastAPI:
    """Build the staff web app on ``app``'s store."""
    settings = app.settings
    web_app = create_app(
        app.factory,
        rawstore=app.rawstore,
        secret=web_secret(settings),
        clock=app.clock,
        default_language=settings.language,
        secure_cookies=settings.web.secure_cookies,
        first_reminder_delay=timedelta(minutes=settings.scheduler.first_reminder_delay_minutes),
    )
    return web_app


def freeze_startup_objects() -> None:
    """Leave the objects made at start-up out of Python's full garbage collections.

    Modules, templates and catalogs live as long as the process. A full
    collection rescans every one of them now and then, which stalled a queue
    page for 140 ms in the web benchmark. Frozen objects are skipped. Call it
    once, when the process has built everything it serves with.
    """
    gc.collect()
    gc.freeze()


def web_secret(settings: Settings) -> str:
    """Return the configured web secret, else the one in data_dir/web-secret (made on first use)."""
    if settings.web.secret:
        return settings.web.secret
    path = settings.data_dir / SECRET_FILE
    if path.exists():
        return path.read_text(encoding="ascii").strip()

    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # Readable by the owner only, because anyone who reads it can forge a staff session.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secret + "\n")
    logger.info("new web secret written to %s", path)
    return secret


def run_server(app: Application, console: Console, _: Gettext) -> None:
    """Run until interrupted."""
    settings = app.settings
    if settings.uses_demo_identity:
        logger.warning(
            "the agency identity is the demo default; set INCASSO_AGENCY__NAME and the other "
            "INCASSO_AGENCY__ settings (or [agency] in incasso.toml) before real use"
        )
    release_stale_claims(app.intake, older_than=STALE_CLAIM_AGE)
    flag_interrupted_sends(app.outbox, older_than=STALE_CLAIM_AGE)

    scheduler = build_scheduler(app.jobs.periodic(settings.scheduler))
    receiver = settings.smtp_receiver
    batcher = ReceiveBatcher(app.factory, app.rawstore, channel=Channel.SMTP)
    controller = make_controller(
        IntakeHandler(
            batcher.submit,
            settings.accepted_domains,
            on_stored=_wake(scheduler),
            max_recipients=receiver.max_recipients,
        ),
        host=receiver.host,
        port=receiver.port,
        max_message_bytes=receiver.max_message_bytes,
        greeting_name=settings.agency.mail_domain,
        timeout_seconds=receiver.timeout_seconds,
        tls_context=_tls_context(receiver),
    )
    web = uvicorn.Server(
        uvicorn.Config(
            build_web_app(app),
            host=settings.web.host,
            port=settings.web.port,
            log_level="warning",
        )
    )

    freeze_startup_objects()
    stop_mailboxes = threading.Event()
    watchers = _mailbox_watchers(app, stop_mailboxes, _wake(scheduler))

    scheduler.start()
    batcher.start()
    controller.start()
    for watcher in watchers:
        watcher.start()
    console.print(
        _("SMTP receiver on {host}:{port}, for {domains}.").format(
            host=settings.smtp_receiver.host,
            port=settings.smtp_receiver.port,
            domains=", ".join(settings.accepted_domains),
        )
    )
    console.print(
        _("Web view on http://{host}:{port}/").format(
            host=settings.web.host, port=settings.web.port
        )
    )
    for account in app.mailboxes:
        console.print(
            _("Mailbox {name}: {user} at {host}:{port}, folders {folders}.").format(
                name=account.name,
                user=account.username,
                host=account.host,
                port=account.port,
                folders=", ".join(account.folders),
            )
        )
    console.print(_("Stop with Ctrl-C."))
    _exit_quietly_on_signals()
    try:
        web.run()
    finally:
        stop_mailboxes.set()
        for watcher in watchers:
            watcher.join(timeout=MAILBOX_STOP_SECONDS)
        controller.stop()
        batcher.stop()
        scheduler.shutdown(wait=True)
        app.close()
        console.print(_("Stopped."))


def _exit_quietly_on_signals() -> None:
    """Make SIGINT and SIGTERM end the process with status 0 once uvicorn has shut down.

    uvicorn handles both signals while it runs, shuts down gracefully, then
    restores the previous handlers and raises the signal again. With these
    handlers in place, that second signal unwinds through our ``finally``
    (stopping the receiver and the scheduler) instead of killing the process.
    """

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def _mailbox_watchers(
    app: Application, stop: threading.Event, wake: Callable[[], None]
) -> list[threading.Thread]:
    """One thread per configured mailbox; each wakes the intake job when it stored mail."""

    def on_poll(report: PollReport) -> None:
        if report.stored:
            wake()

    return [
        threading.Thread(
            target=watch_account,
            args=(app.factory, app.rawstore, account),
            kwargs={"clock": app.clock, "stop": stop, "on_poll": on_poll},
            name=f"imap-{account.name}",
            daemon=True,
        )
        for account in app.mailboxes
    ]


def _tls_context(receiver: SmtpReceiverSettings) -> ssl.SSLContext | None:
    if receiver.tls_certificate_file is None or receiver.tls_key_file is None:
        return None
    return server_tls_context(receiver.tls_certificate_file, receiver.tls_key_file)


def _wake(scheduler: BackgroundScheduler) -> Callable[[], None]:
    """Return a callback that runs the intake job now instead of at its next interval."""

    def wake() -> None:
        scheduler.modify_job("intake", next_run_time=datetime.now(scheduler.timezone))

    return wake
