"""Our own mail address scheme: per-case reply addresses, per-creditor intake addresses and
per-message return paths.

``dossier+2026-00017@<domain>`` reaches case 2026-00017, ``intake+ACME@<domain>`` is
creditor ACME's submission address, and ``bounce+2026-00017.3f9a0c1b2d4e@<domain>`` is
the envelope sender (VERP return path) of one outbound message. A bounce goes to the
envelope sender, so its recipient address alone names the case and the message, even
when the bounce report drops the returned headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Case references and message tokens contain letters, digits and dashes only, so the
# dot between them and the plus before them stay unambiguous.
VERP_PART = re.compile(r"^[A-Za-z0-9-]+$")


@dataclass(frozen=True)
class Addresses:
    """Addresses under our mail domain, tagged with a case reference or a creditor code."""

    mail_domain: str
    reply_local_part: str = "dossier"
    intake_local_part: str = "intake"
    bounce_local_part: str = "bounce"

    def reply_address(self, reference: str) -> str:
        return f"{self.reply_local_part}+{reference}@{self.mail_domain}"

    def intake_address(self, creditor_code: str | None = None) -> str:
        local = self.intake_local_part
        if creditor_code:
            local = f"{local}+{creditor_code}"
        return f"{local}@{self.mail_domain}"

    def bounce_address(self, reference: str, token: str) -> str:
        """Return the return path ``bounce+<reference>.<token>@<domain>`` of one message.

        ``token`` identifies the message within the case; the outbound code uses the
        random part of its Message-ID. Raises ValueError when either part contains
        anything but letters, digits and dashes.
        """
        for name, value in (("case reference", reference), ("message token", token)):
            if not VERP_PART.match(value):
                raise ValueError(
                    f"{name} {value!r} cannot be part of a return path; "
                    "use letters, digits and dashes only"
                )
        return f"{self.bounce_local_part}+{reference}.{token}@{self.mail_domain}"

    def parse_bounce_address(self, address: str) -> tuple[str, str] | None:
        """Return (case reference, message token) of a return path made by ``bounce_address``.

        Returns None for any other address. Mail servers may change the case of a
        local part, so the reference comes back in upper case, as case references
        are stored, and the token in lower case, as tokens are made.
        """
        tag = self.tagged_part(address, self.bounce_local_part)
        if tag is None:
            return None

        reference, dot, token = tag.rpartition(".")
        if not dot or not VERP_PART.match(reference) or not VERP_PART.match(token):
            return None
        return reference.upper(), token.lower()

    def tagged_part(self, address: str, local_part: str) -> str | None:
        """Return the tag of ``local_part+tag@<our domain>``, or None for any other address."""
        local, _, domain = address.strip().strip("<>").lower().rpartition("@")
        if domain != self.mail_domain.lower():
            return None
        base, plus, tag = local.partition("+")
        if base != local_part.lower() or not plus or not tag:
            return None
        return tag
