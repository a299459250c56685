"""`incasso intake --imap` and `incasso serve` reading a real mailbox (Dovecot on loopback)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from typer.testing import CliRunner

from incasso.app.cli import build_cli
from incasso.app.settings import Settings
from tests.dovecot import Dovecot, Mailbox, running_dovecot
from tests.factories.invoice_pdf import example_spec, make_invoice_pdf


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot(users=10) as server:
        yield server


@pytest.fixture
def mailbox(dovecot: Dovecot) -> Mailbox:
    return dovecot.new_mailbox()


def imap_settings(mailbox: Mailbox) -> dict[str, object]:
    return {
        "name": "intake",
        "host": "127.0.0.1",
        "port": mailbox.server.port,
        "security": "plain",
        "username": mailbox.user,
        "password": mailbox.password,
        "poll_seconds": 1.0,
        "timeout_seconds": 10.0,
    }


def submission(number: int) -> bytes:
    spec = example_spec("nl")
    message = EmailMessage()
    message["From"] = str(spec.creditor.email)
    message["To"] = "intake@incasso.test"
    message["Subject"] = f"Onbetaalde factuur {number}"
    message["Message-ID"] = f"<mailbox-{number}@vandamme.example>"
    message.set_content("Zie bijlage.")
    message.add_attachment(make_invoice_pdf(spec), maintype="application", subtype="pdf",
                           filename="f.pdf")  # fmt: skip
    return message.as_bytes()


def test_intake_imap_reads_the_mailbox_once(
    mailbox: Mailbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    mailbox.append("INBOX", submission(1))
    cli = build_cli(Settings(imap=[imap_settings(mailbox)]))  # type: ignore[list-item]

    first = CliRunner().invoke(cli, ["intake", "--imap", "intake"])
    second = CliRunner().invoke(cli, ["intake", "--imap", "intake"])
    review = json.loads(CliRunner().invoke(cli, ["review", "--json"]).output)

    assert first.exit_code == 0, first.output
    assert "Mailbox intake: 1 nieuw, 0 al gekend" in first.output
    assert "Mailbox intake: 0 nieuw" in second.output
    assert mailbox.messages("INBOX") == {}
    (item,) = review["items"]  # no creditor is registered: a draft with the fields read
    assert item["kind"] == "draft"
    assert item["reasons"] == ["unknown_sender"]


def test_intake_imap_unknown_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(build_cli(Settings()), ["intake", "--imap", "elders"])

    assert result.exit_code == 2
    assert "Mailbox elders is niet ingesteld" in result.output


def test_serve_watches_the_mailbox(mailbox: Mailbox, tmp_path: Path) -> None:
    (tmp_path / "incasso.toml").write_text(
        "[[imap]]\n"
        + "".join(
            f"{key} = {json.dumps(value)}\n" for key, value in imap_settings(mailbox).items()
        ),
        encoding="utf-8",
    )
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("INCASSO_")
    }
    environment |= {
        "INCASSO_SMTP_RECEIVER__PORT": str(_free_port()),
        "INCASSO_WEB__PORT": str(_free_port()),
        "INCASSO_SCHEDULER__INTAKE_INTERVAL_SECONDS": "0.5",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "incasso", "serve"], cwd=tmp_path, env=environment,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        mailbox.append("INBOX", submission(2))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and mailbox.messages("INBOX"):
            time.sleep(0.3)
        assert mailbox.messages("INBOX") == {}
        assert len(mailbox.messages("Processed")) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)

    assert process.returncode == 0, output
    assert "Mailbox intake:" in output


def _free_port() -> int:
    from tests.conftest import free_port

    return free_port()
