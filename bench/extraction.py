"""Text-PDF extraction speed: our extractor beside pdfplumber's bare ``extract_text``.

Run: ``.venv/bin/python -m bench.extraction`` (from the repository root). Each
round takes the same generated one-page invoices (both layouts, three
languages, several amount and date styles) and times, in shuffled order:

- ``pdfplumber``: open each PDF with pdfplumber and call ``extract_text`` on
  every page, the floor any pdfplumber-based extraction pays;
- ``incasso``: ``extract_document`` on each PDF, which reads the words with
  their positions, pairs labels with values, validates and builds the fields;
- ``isolated``: the same through ``IsolatedExtractor``, as intake runs it: in a
  worker process under a time and memory limit, the PDF's bytes sent over a
  pipe and the result sent back (the worker is started before the clock runs).

Each stage works on one core. The output gives pages per second as medians
over the rounds and the overhead of each stage over the floor.
"""

from __future__ import annotations

import io
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import replace

import pdfplumber

from incasso.intake.extract import ExtractionResult, extract_document
from incasso.intake.extract.labels import clear_label_cache
from incasso.intake.isolation import IsolatedExtractor
from tests.factories.invoice_pdf import AmountStyle, DateStyle, example_spec, make_invoice_pdf
from tests.factories.layout_grid import make_grid_invoice_pdf

ROUNDS = 7


def documents() -> list[bytes]:
    """Return one-page invoices in both layouts, three languages and three amount styles."""
    pdfs = []
    for language in ("nl", "fr", "en"):
        for style in AmountStyle:
            for date_style in DateStyle:
                spec = example_spec(language, amount_style=style, date_style=date_style)
                spec = replace(spec, number=f"{spec.number}-{style.value}-{date_style.value}")
                pdfs.append(make_invoice_pdf(spec))
                pdfs.append(make_grid_invoice_pdf(spec))
    return pdfs


def bare_pdfplumber(pdfs: list[bytes]) -> int:
    pages = 0
    for data in pdfs:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for page in pdf.pages:
                page.extract_text()
                pages += 1
    return pages


def cold_extract(data: bytes, **options: object) -> ExtractionResult:
    """``extract_document`` with an empty label cache, as for a document never seen before.

    The label cache would otherwise carry whole pages from one round to the next,
    which no real stream of invoices repeats.
    """
    clear_label_cache()
    return extract_document(data, **options)  # type: ignore[arg-type]


def run_extractor(extract: Callable[..., ExtractionResult], pdfs: list[bytes]) -> int:
    pages = 0
    for data in pdfs:
        result = extract(data, filename="bench.pdf")
        if result.problem is not None or not result.invoices:
            raise RuntimeError(f"benchmark invoice not extracted: {result.detail}")
        pages += 1
    return pages


def pages_per_second(work: Callable[[list[bytes]], int], pdfs: list[bytes]) -> float:
    start = time.perf_counter()
    pages = work(pdfs)
    return pages / (time.perf_counter() - start)


def main() -> None:
    pdfs = documents()
    isolated = IsolatedExtractor(target="bench.extraction:cold_extract")
    isolated(pdfs[0], filename="warm-up.pdf")  # start the worker before the clock runs
    stages: dict[str, Callable[[list[bytes]], int]] = {
        "pdfplumber": bare_pdfplumber,
        "incasso": lambda batch: run_extractor(cold_extract, batch),
        "isolated": lambda batch: run_extractor(isolated, batch),
    }
    results: dict[str, list[float]] = {name: [] for name in stages}
    try:
        for number in range(ROUNDS):
            order = list(stages)
            random.Random(number).shuffle(order)
            for name in order:
                results[name].append(pages_per_second(stages[name], pdfs))
    finally:
        isolated.close()

    floor = statistics.median(results["pdfplumber"])
    print(f"{len(pdfs)} one-page text PDFs per round, {ROUNDS} rounds, one core")
    print(f"{'stage':<12}{'median pages/s':>16}{'min':>8}{'max':>8}{'x floor':>9}")
    for name, values in results.items():
        median = statistics.median(values)
        spread = f"{min(values):>8.1f}{max(values):>8.1f}"
        print(f"{name:<12}{median:>16.1f}{spread}{median / floor:>9.2f}")
    for name in ("incasso", "isolated"):
        overhead = floor / statistics.median(results[name]) - 1
        print(f"{name}: time per page over the floor {overhead:+.0%}")


if __name__ == "__main__":
    main()
