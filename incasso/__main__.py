"""``python -m incasso`` runs the command line, like the ``incasso`` script."""

from __future__ import annotations

from incasso.app.cli import main

main()
