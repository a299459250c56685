"""A dispatcher in a process of its own, for tests where two workers share one database."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from incasso.app.context import build_application
from tests.conftest import make_settings


def dispatch_until_done(database_url: str, folder: str, now: str, start: object) -> None:
    """Wait for ``start`` (an Event), then run the dispatch job at the fixed moment ``now``."""
    moment = datetime.fromisoformat(now)
    app = build_application(make_settings(Path(folder), database_url), clock=lambda: moment)
    try:
        start.wait(timeout=60)  # type: ignore[attr-defined]
        app.jobs.run_dispatch()
    finally:
        app.close()
