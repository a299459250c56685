"""Stand-ins for documents that make a parser hang, eat memory or crash, run in the worker."""

from __future__ import annotations

import os
import time
from typing import Any

from incasso.intake.extract.model import ExtractionResult


def hang(data: bytes, **options: Any) -> ExtractionResult:
    """Hang like a parser stuck in a loop on a hostile PDF, unless the data says b'quick'."""
    if data != b"quick":
        time.sleep(3600)
    return ExtractionResult(method="none", detail="quick")


def allocate(data: bytes, **options: Any) -> ExtractionResult:
    """Allocate far more memory than the worker may use."""
    hoard = bytearray(4 * 1024 * 1024 * 1024)
    return ExtractionResult(method="none", detail=str(len(hoard)))


def die(data: bytes, **options: Any) -> ExtractionResult:
    """End the worker process abruptly, as a crash in a C library would."""
    os._exit(3)
