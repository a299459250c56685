"""Settings come from defaults, a TOML file and INCASSO_ variables, in that rising order."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from incasso.app.settings import load_settings


@pytest.fixture
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("INCASSO_CONFIG", "INCASSO_LANGUAGE", "INCASSO_SMTP_RECEIVER__PORT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_defaults_keep_state_under_var(clean_environment: Path) -> None:
    settings = load_settings()

    assert settings.resolved_data_dir == clean_environment / "var"
    assert settings.resolved_database_url == f"sqlite:///{clean_environment / 'var' / 'incasso.db'}"
    assert settings.outbox_dir == clean_environment / "var" / "outbox"
    assert settings.accepted_domains == ["incasso.test"]
    assert settings.uses_demo_identity


def test_toml_file_and_environment(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_environment / "incasso.toml").write_text(
        'language = "fr"\n[smtp_receiver]\nport = 2600\n[agency]\nname = "Invordering Noord BV"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("INCASSO_SMTP_RECEIVER__PORT", "2700")

    settings = load_settings()

    assert settings.language == "fr"
    assert settings.agency.name == "Invordering Noord BV"
    assert not settings.uses_demo_identity
    assert settings.smtp_receiver.port == 2700  # the environment wins over the file


def test_missing_named_config_file_is_reported(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INCASSO_CONFIG", str(clean_environment / "nowhere.toml"))

    with pytest.raises(FileNotFoundError, match=r"nowhere\.toml"):
        load_settings()


def test_unknown_screen_language_is_rejected(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INCASSO_LANGUAGE", "xx")

    with pytest.raises(ValidationError, match="language"):
        load_settings()


def test_first_reminder_delay_capped_at_a_day(clean_environment: Path) -> None:
    with pytest.raises(ValidationError, match="first_reminder_delay_minutes"):
        load_settings(scheduler={"first_reminder_delay_minutes": 24 * 60 + 1})


def test_empty_processed_folder_means_flagging(clean_environment: Path) -> None:
    (clean_environment / "incasso.toml").write_text(
        '[[imap]]\nname = "intake"\nhost = "127.0.0.1"\nusername = "u"\npassword = "p"\n'
        'processed_folder = ""\n',
        encoding="utf-8",
    )

    (account,) = load_settings().imap

    assert account.processed_folder is None
    assert "password" not in repr(account)  # secrets stay out of logs and tracebacks
