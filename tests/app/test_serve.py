"""``incasso serve`` as a process: mail in, a reminder out, the web view up, a clean stop."""

from __future__ import annotations

import json
import os
import re
import signal
import smtplib
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from incasso.scheduler.calendar import is_contact_time, next_contact_time
from tests.conftest import free_port
from tests.factories.invoice_pdf import example_spec, make_invoice_pdf

START_SECONDS = 30
PASSWORD = "een-lang-wachtwoord"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


class Server:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.smtp_port = free_port()
        self.web_port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("INCASSO_")},
            "INCASSO_SMTP_RECEIVER__PORT": str(self.smtp_port),
            "INCASSO_WEB__PORT": str(self.web_port),
            "INCASSO_SCHEDULER__INTAKE_INTERVAL_SECONDS": "0.5",
            "INCASSO_SCHEDULER__DISPATCH_INTERVAL_SECONDS": "0.5",
            "INCASSO_SCHEDULER__OUTBOX_INTERVAL_SECONDS": "0.5",
            "COLUMNS": "200",
        }
        self.process: subprocess.Popen[str] | None = None

    def command(
        self, *arguments: str, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "incasso", *arguments],
            cwd=self.folder, env=self.env, capture_output=True, text=True, timeout=60,
            input=stdin,
        )  # fmt: skip

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "incasso", "serve"],
            cwd=self.folder, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"incasso serve did not answer within {START_SECONDS} s")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.web_port}{path}"

    def stop(self) -> str:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        output, _ = self.process.communicate(timeout=30)
        return output


def signed_in_page(server: Server, path: str) -> str:
    """Create a staff account, sign in over HTTP as a browser would, and read ``path``."""
    added = server.command(
        "user", "add", "els", "--name", "Els Claes", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert added.returncode == 0, added.stdout + added.stderr
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with browser.open(server.url("/sign-in"), timeout=5) as response:
        token = CSRF_INPUT.search(response.read().decode())
    assert token is not None
    form = {"csrf_token": token.group(1), "username": "els", "password": PASSWORD}
    with browser.open(server.url("/sign-in"), urlencode(form).encode(), timeout=5) as response:
        assert response.url.endswith("/")
    with browser.open(server.url(path), timeout=5) as response:
        return str(response.read().decode())


def wait_for_dispatch(server: Server) -> dict[str, Any]:
    """Wait until the first case's first reminder is written out or put off; return the case."""
    outbox = server.folder / "var" / "outbox"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        shown = server.command("case", "2026-00001", "--json")
        if shown.returncode == 0:
            case: dict[str, Any] = json.loads(shown.stdout)
            due = case["next_step_due_at"]
            put_off = due is not None and datetime.fromisoformat(due) > datetime.now(UTC)
            if list(outbox.glob("*.eml")) or (case["next_step"] == "first_reminder" and put_off):
                return case
        time.sleep(0.3)
    raise TimeoutError("the first reminder was neither written out nor put off within 30 s")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path)
    yield running
    if running.process is not None and running.process.poll() is None:
        running.process.kill()
        running.process.wait(timeout=10)


def test_serve_takes_mail_and_sends_reminder(server: Server) -> None:
    spec = example_spec("nl")
    creditor = spec.creditor
    added = server.command(
        "creditor", "add", "--code", "VANDAMME", "--name", creditor.name,
        "--enterprise-number", creditor.vat, "--address", "Kerkstraat 1, 9000 Gent",
        "--phone", "+32 9 123 45 67", "--sender", creditor.email,
    )  # fmt: skip
    assert added.returncode == 0, added.stdout + added.stderr
    server.start()

    message = EmailMessage()
    message["From"] = creditor.email
    message["To"] = "intake@incasso.test"
    message["Subject"] = "Onbetaalde factuur"
    message.set_content("Zie bijlage.")
    message.add_attachment(
        make_invoice_pdf(spec), maintype="application", subtype="pdf", filename="factuur.pdf"
    )
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=10) as client:
        client.send_message(message)

    case = wait_for_dispatch(server)
    # The ladder keeps the contact hours: at night or on a Sunday the reminder waits.
    if is_contact_time(datetime.now(UTC)):
        (reminder,) = (server.folder / "var" / "outbox").glob("*.eml")
        assert spec.customer.email is not None
        assert spec.customer.email in reminder.read_text(encoding="utf-8", errors="replace")
    else:
        assert case["next_step"] == "first_reminder"
        due = datetime.fromisoformat(case["next_step_due_at"])
        assert is_contact_time(due)
        assert due == next_contact_time(due - timedelta(hours=8))  # the next opening

    page = signed_in_page(server, "/cases")
    assert "2026-00001" in page
    assert "Dossiers" in page

    output = server.stop()
    assert server.process is not None and server.process.returncode == 0, output
    assert "Gestopt." in output
