"""The key that signs staff sessions: configured, or made once and kept private."""

from __future__ import annotations

import stat
from pathlib import Path

from incasso.app.serve import SECRET_FILE, web_secret
from incasso.app.settings import Settings, WebSettings


def test_secret_is_made_once_and_readable_by_the_owner_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")

    first = web_secret(settings)
    second = web_secret(settings)

    assert first == second
    assert len(first) >= 32
    mode = stat.S_IMODE((tmp_path / "var" / SECRET_FILE).stat().st_mode)
    assert mode == 0o600


def test_configured_secret_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    configured = "x" * 40
    settings = Settings(data_dir=tmp_path / "var", web=WebSettings(secret=configured))

    assert web_secret(settings) == configured
    assert not (tmp_path / "var" / SECRET_FILE).exists()
