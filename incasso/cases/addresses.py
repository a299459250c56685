"""Our own mail address scheme: per-case reply addresses and per-creditor intake addresses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Addresses:
    """Addresses under our mail domain, tagged with a case reference or a creditor code.

    ``dossier+2026-00017@<domain>`` reaches case 2026-00017 and
    ``intake+ACME@<domain>`` is creditor ACME's submission address.
    """

    mail_domain: str
    reply_local_part: str = "dossier"
    intake_local_part: str = "intake"

    def reply_address(self, reference: str) -> str:
        return f"{self.reply_local_part}+{reference}@{self.mail_domain}"

    def intake_address(self, creditor_code: str | None = None) -> str:
        local = self.intake_local_part
        if creditor_code:
            local = f"{local}+{creditor_code}"
        return f"{local}@{self.mail_domain}"

    def tagged_part(self, address: str, local_part: str) -> str | None:
        """Return the tag of ``local_part+tag@<our domain>``, or None for any other address."""
        local, _, domain = address.strip().strip("<>").lower().rpartition("@")
        if domain != self.mail_domain.lower():
            return None
        base, plus, tag = local.partition("+")
        if base != local_part.lower() or not plus or not tag:
            return None
        return tag
