"""Outlook's ``Thread-Index`` header: how Outlook and Exchange keep a conversation together.

Outlook often answers without ``In-Reply-To`` or ``References``, but it keeps
the ``Thread-Index`` of the message it answers and appends to it. The value is
base64 of a 22-byte root followed by one 5-byte block per reply:

- root: 6 bytes of the conversation's start time as a Windows FILETIME
  (100 ns units since 1601-01-01, big-endian, the top bytes only), then a
  16-byte GUID that names the conversation;
- each reply block: the time passed since the root, coarsened, and a random
  byte.

We send every message of a case with the same root, derived from the case
reference and the case's start, so all our reminders form one conversation
in Outlook and every answer to any of them carries that root. Matching an
inbound message only compares roots; the reply blocks are never read.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from datetime import UTC, datetime

ROOT_BYTES = 22
BLOCK_BYTES = 5
# FILETIME counts 100 ns intervals from this moment.
FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
# Namespace of the GUIDs we derive; a fixed random value, so GUIDs differ from other programs'.
GUID_NAMESPACE = uuid.UUID("4b0f5d63-2a9e-4c71-9a52-7e0c8f3d6b19")


def filetime(moment: datetime) -> int:
    """Return ``moment`` as a Windows FILETIME."""
    delta = moment.astimezone(UTC) - FILETIME_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def case_thread_root(mail_domain: str, reference: str, started_at: datetime) -> bytes:
    """Return the 22-byte root of the conversation of case ``reference``."""
    stamp = filetime(started_at).to_bytes(8, "big")[:6]
    guid = uuid.uuid5(GUID_NAMESPACE, f"{mail_domain}/{reference}").bytes
    return stamp + guid


def thread_index(root: bytes, started_at: datetime, now: datetime) -> str:
    """Return the header value for a message sent at ``now`` in the conversation of ``root``."""
    elapsed = max(filetime(now) - filetime(started_at), 0)
    if elapsed < 1 << 56:
        coarse = (elapsed >> 18) & 0x7FFF_FFFF
    else:
        coarse = 0x8000_0000 | ((elapsed >> 23) & 0x7FFF_FFFF)
    block = coarse.to_bytes(4, "big") + secrets.token_bytes(1)
    return base64.b64encode(root + block).decode("ascii")


def thread_root(value: str | None) -> str | None:
    """Return the root of a ``Thread-Index`` value in base64, or None when it is not one."""
    if not value:
        return None
    try:
        raw = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) < ROOT_BYTES or (len(raw) - ROOT_BYTES) % BLOCK_BYTES:
        return None
    return base64.b64encode(raw[:ROOT_BYTES]).decode("ascii")
