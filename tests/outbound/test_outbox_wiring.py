"""Settings of the SMS provider and the letter sink, and how the application builds them."""

from __future__ import annotations

from pathlib import Path

import pytest

from incasso.app.context import Application, build_letter_sink, build_sms_provider
from incasso.app.settings import load_settings
from incasso.outbound.letters import FolderLetterSink
from incasso.outbound.sms import FileSmsSink


@pytest.fixture
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("INCASSO_CONFIG", "INCASSO_DATA_DIR", "INCASSO_SMS__FOLDER"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_defaults_under_data_dir(clean_environment: Path) -> None:
    settings = load_settings()

    assert settings.sms.provider == "file"
    assert settings.letters.sink == "folder"
    assert settings.sms_dir == clean_environment / "var" / "sms"
    assert settings.letters_dir == clean_environment / "var" / "letters"


def test_folders_from_file_and_environment(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_environment / "incasso.toml").write_text(
        '[sms]\nfolder = "sms-local"\n[letters]\nfolder = "/srv/print/letters"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("INCASSO_SMS__FOLDER", "sms-from-env")

    settings = load_settings()

    assert settings.sms_dir == clean_environment / "sms-from-env"
    assert settings.letters_dir == Path("/srv/print/letters")


def test_unknown_provider_is_rejected(clean_environment: Path) -> None:
    with pytest.raises(ValueError, match="provider"):
        load_settings(sms={"provider": "carrier-pigeon"})


def test_builders_use_the_folders(clean_environment: Path) -> None:
    settings = load_settings(data_dir=clean_environment / "state")

    sms = build_sms_provider(settings)
    letters = build_letter_sink(settings)

    assert isinstance(sms, FileSmsSink)
    assert sms.path == clean_environment / "state" / "sms" / "outbox.jsonl"
    assert isinstance(letters, FolderLetterSink)
    assert letters.folder == clean_environment / "state" / "letters"


def test_outbox_context_has_every_medium(app: Application) -> None:
    outbox = app.outbox

    assert outbox.transport is app.transport
    assert outbox.sms is app.sms
    assert outbox.letters is app.letters
