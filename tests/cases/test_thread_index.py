"""Outlook's Thread-Index: the root we send is the root we recognize in answers."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from incasso.cases.thread_index import ROOT_BYTES, case_thread_root, thread_index, thread_root

STARTED = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)


def _answer(value: str) -> str:
    """What Outlook sends back: our value with one more 5-byte block."""
    return base64.b64encode(base64.b64decode(value) + b"\x00\x12\x34\x56\x07").decode()


def test_every_message_of_a_case_has_one_root() -> None:
    root = case_thread_root("incasso.test", "2026-00017", STARTED)

    first = thread_index(root, STARTED, STARTED)
    second = thread_index(root, STARTED, STARTED + timedelta(days=15))

    assert first != second
    assert thread_root(first) == thread_root(second) == base64.b64encode(root).decode()


def test_cases_have_different_roots() -> None:
    one = case_thread_root("incasso.test", "2026-00017", STARTED)
    other = case_thread_root("incasso.test", "2026-00018", STARTED)

    assert len(one) == ROOT_BYTES
    assert one != other


def test_an_outlook_answer_keeps_our_root() -> None:
    ours = thread_index(case_thread_root("incasso.test", "2026-00017", STARTED), STARTED, STARTED)

    assert thread_root(_answer(ours)) == thread_root(ours)
    assert thread_root(_answer(_answer(ours))) == thread_root(ours)


def test_root_starts_with_the_time_outlook_expects() -> None:
    root = case_thread_root("incasso.test", "2026-00017", STARTED)

    # A FILETIME of this century starts with the byte 0x01, as Outlook's roots do.
    assert root[0] == 0x01


def test_values_that_are_no_thread_index_give_none() -> None:
    ours = thread_index(case_thread_root("incasso.test", "2026-00017", STARTED), STARTED, STARTED)
    cut = base64.b64encode(base64.b64decode(ours)[:25]).decode()

    assert thread_root(None) is None
    assert thread_root("") is None
    assert thread_root("not base64 at all!") is None
    assert thread_root(base64.b64encode(b"short").decode()) is None
    assert thread_root(cut) is None


def test_folded_header_value_is_read() -> None:
    ours = thread_index(case_thread_root("incasso.test", "2026-00017", STARTED), STARTED, STARTED)

    assert thread_root(ours[:20] + "\r\n " + ours[20:]) == thread_root(ours)
