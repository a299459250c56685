"""Invoice extraction in a worker process that can be stopped: time and memory limits.

A hostile or broken PDF can make a parser loop for minutes or eat all memory,
and it must not stall intake. ``IsolatedExtractor`` runs ``extract_document``
in one long-lived child process:

- the child limits its own address space (``RLIMIT_AS``) at start, so an
  allocation beyond the limit fails inside the child;
- the parent waits at most ``timeout_seconds`` for each document, then kills
  the child and starts a fresh one for the next document;
- a child that dies (killed, out of memory, a crash in a C library) is
  replaced the same way.

In each of these cases the document gets ``Problem.TOO_COSTLY`` with a
detail, and intake goes on: the original stays stored and the reviewer sees
why nothing was read. The child is started with ``spawn``, never ``fork``,
because the parent runs threads (SMTP receiver, scheduler) whose locks a
forked child would inherit in an unknown state.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import resource
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from incasso.intake.extract import extract_document
from incasso.intake.extract.model import ExtractionResult, Problem

logger = logging.getLogger(__name__)

# The function the child runs, as "module:function", so a test can name another one.
DEFAULT_TARGET = "incasso.intake.extract:extract_document"

Extractor = Callable[..., ExtractionResult]
CLOSE_GRACE_SECONDS = 5.0  # how long close() lets a worker finish before killing it


@dataclass(frozen=True)
class Limits:
    """What one document may cost."""

    timeout_seconds: float = 60.0
    memory_bytes: int = 1024 * 1024 * 1024


def extract_in_process(
    data: bytes,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    exclude: Iterable[str] = (),
) -> ExtractionResult:
    """Extract in this process, without limits; for tests and one-off commands."""
    return extract_document(data, filename=filename, content_type=content_type, exclude=exclude)


class IsolatedExtractor:
    """Callable like ``extract_document``, but runs it in a worker process under ``limits``.

    Safe to call from several threads: documents are extracted one at a time.
    """

    def __init__(self, limits: Limits | None = None, *, target: str = DEFAULT_TARGET) -> None:
        self.limits = limits or Limits()
        self.target = target
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None

    def __call__(
        self,
        data: bytes,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        exclude: Iterable[str] = (),
    ) -> ExtractionResult:
        request = (data, filename, content_type, tuple(exclude))
        with self._lock:
            return self._extract(request, filename)

    def close(self) -> None:
        """Let the worker process end after its current document; the next call starts one."""
        with self._lock:
            self._stop(grace_seconds=CLOSE_GRACE_SECONDS)

    def _extract(self, request: tuple[Any, ...], filename: str | None) -> ExtractionResult:
        connection = self._ensure_worker()
        try:
            connection.send(request)
            if not connection.poll(self.limits.timeout_seconds):
                self._stop()
                return _too_costly(
                    filename,
                    f"extraction took longer than {self.limits.timeout_seconds:.0f} s and was "
                    "stopped",
                )
            outcome = connection.recv()
        except (EOFError, OSError, BrokenPipeError) as err:
            self._stop()
            return _too_costly(filename, f"the extraction process ended unexpectedly ({err})")

        if isinstance(outcome, ExtractionResult):
            return outcome
        # The child reports a MemoryError or another failure it could not turn into a result.
        return _too_costly(filename, str(outcome))

    def _ensure_worker(self) -> Connection:
        if self._process is not None and self._process.is_alive() and self._connection:
            return self._connection

        self._stop()
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_serve,
            args=(child, self.target, self.limits.memory_bytes),
            name="incasso-extraction",
            daemon=True,
        )
        process.start()
        child.close()
        self._process, self._connection = process, parent
        logger.info("extraction worker started pid=%s", process.pid)
        return parent

    def _stop(self, grace_seconds: float = 0.0) -> None:
        """Close the pipe, which ends the worker's loop; kill a worker busy after the grace."""
        process, connection = self._process, self._connection
        self._process, self._connection = None, None
        if connection is not None:
            connection.close()
        if process is None:
            return
        process.join(timeout=grace_seconds)
        if process.is_alive():
            process.kill()
            process.join(timeout=10)
            logger.warning("extraction worker pid=%s killed", process.pid)
        else:
            logger.info("extraction worker pid=%s ended", process.pid)


def _too_costly(filename: str | None, reason: str) -> ExtractionResult:
    name = repr(filename) if filename else "the document"
    logger.warning("%s not extracted: %s", name, reason)
    return ExtractionResult(
        method="none",
        problem=Problem.TOO_COSTLY,
        detail=f"{name}: {reason}; it is kept for review, and may need a person to read it",
    )


def _serve(connection: Connection, target: str, memory_bytes: int) -> None:
    """Run in the child: limit memory, then extract each request until the pipe closes."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    module_name, _, function_name = target.partition(":")
    function = getattr(importlib.import_module(module_name), function_name)

    while True:
        try:
            data, filename, content_type, exclude = connection.recv()
        except EOFError:
            return
        try:
            outcome: object = function(
                data, filename=filename, content_type=content_type, exclude=exclude
            )
        except MemoryError:
            outcome = f"extraction needed more than {memory_bytes // (1024 * 1024)} MiB of memory"
        except Exception as err:  # extract_document never raises; another target might
            outcome = f"extraction failed: {type(err).__name__}: {err}"
        connection.send(outcome)
