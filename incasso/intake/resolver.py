"""DNS lookups for the sender checks: one resolver for DKIM keys and SPF records.

Every query goes to the nameservers this resolver was built with (the
system's, or a given list), with a timeout per query and a time budget per
check, so a slow or dead DNS never holds up intake for long and tests never
reach a real DNS server.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import dns.exception
import dns.name
import dns.resolver
import spf

logger = logging.getLogger(__name__)

# Seconds one DNS query may take before it counts as failed.
DEFAULT_DNS_TIMEOUT_SECONDS = 3.0


class DnsLookupError(Exception):
    """A DNS query that timed out or got no usable answer. The name may still exist."""


class DnsResolver:
    """DNS queries for DKIM keys and SPF records through one set of nameservers.

    ``nameservers=None`` reads the system's resolver configuration, and a
    list uses only those servers, on ``port``. Each query waits at most
    ``timeout`` seconds. A name that does not exist or has no records of the
    type gives an empty list, and a timeout or server failure raises
    DnsLookupError.
    """

    def __init__(
        self,
        nameservers: Sequence[str] | None = None,
        *,
        port: int = 53,
        timeout: float = DEFAULT_DNS_TIMEOUT_SECONDS,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"DNS timeout must be positive, got {timeout!r} seconds")

        if nameservers is None:
            self._resolver = dns.resolver.Resolver(configure=True)
        else:
            if not nameservers:
                raise ValueError("nameservers is empty; pass None to use the system resolver")
            self._resolver = dns.resolver.Resolver(configure=False)
            self._resolver.nameservers = list(nameservers)
            self._resolver.port = port

        self._resolver.timeout = timeout
        self._resolver.lifetime = timeout
        self.timeout = timeout

    @property
    def nameservers(self) -> list[str]:
        return [str(server) for server in self._resolver.nameservers]

    def resolve(self, name: str, rdtype: str, *, timeout: float | None = None) -> list[Any]:
        """Return the records of ``rdtype`` at ``name``, following CNAMEs.

        Raises DnsLookupError when the query times out or every nameserver fails.
        """
        try:
            qname = dns.name.from_text(name)
        except dns.exception.DNSException as err:
            logger.debug("DNS name %r is invalid (%s); treated as non-existent", name, err)
            return []

        lifetime = self.timeout if timeout is None else min(timeout, self.timeout)
        query_text = f"{qname.to_text(omit_final_dot=True)} {rdtype}"
        servers = ", ".join(self.nameservers)
        try:
            answer = self._resolver.resolve(qname, rdtype, search=False, lifetime=lifetime)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.Timeout as err:
            raise DnsLookupError(
                f"DNS query {query_text} timed out after {lifetime:.1f} s at {servers}"
            ) from err
        except dns.exception.DNSException as err:
            raise DnsLookupError(f"DNS query {query_text} failed at {servers}: {err}") from err
        return list(answer)

    def txt(self, name: str, *, timeout: float | None = None) -> list[bytes]:
        """Return each TXT record at ``name`` as one byte string, its parts joined."""
        return [b"".join(record.strings) for record in self.resolve(name, "TXT", timeout=timeout)]

    def dkim_txt(self, name: bytes, timeout: float = DEFAULT_DNS_TIMEOUT_SECONDS) -> bytes | None:
        """Return the DKIM key record at ``name``, in the form dkimpy's ``dnsfunc`` expects.

        None means no record. A record starting ``v=DKIM1`` is preferred when
        the name has several TXT records.
        """
        try:
            text = name.decode("ascii")
        except UnicodeDecodeError:
            return None

        records = self.txt(text, timeout=timeout)
        for record in records:
            if record.lstrip().startswith(b"v=DKIM1"):
                return record
        return records[0] if records else None

    def spf_records(self, name: str, qtype: str, *, timeout: float | None = None) -> list[Any]:
        """Return records in the shapes pyspf 2.0 expects from a DNS lookup.

        TXT and SPF records are tuples of byte strings, A and AAAA records are
        address strings, MX records are ``(preference, exchange)`` pairs and
        PTR records are host names.
        """
        records = self.resolve(name, qtype, timeout=timeout)
        if qtype in ("TXT", "SPF"):
            return [tuple(record.strings) for record in records]
        if qtype in ("A", "AAAA"):
            return [record.address for record in records]
        if qtype == "MX":
            return [
                (record.preference, record.exchange.to_text(omit_final_dot=True))
                for record in records
            ]
        if qtype == "PTR":
            return [record.target.to_text(omit_final_dot=True) for record in records]
        return [record.to_text() for record in records]


class Deadline:
    """The time left for all DNS queries of one check."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            raise DnsLookupError(f"DNS time budget of {self.seconds:.1f} s used up")
        return left


class ResolverSpfQuery(spf.query):
    """A pyspf query that sends its DNS lookups to our resolver.

    pyspf routes every lookup of a query through ``query.dns``, which by
    default calls the module-level ``spf.DNSLookup`` and so the system's
    DNS. Overriding ``dns`` on a subclass keeps the resolver per query:
    no module state changes, so concurrent checks in several threads do not
    interfere. Results are cached per query, including empty ones, and
    empty results count towards the void lookup limit of RFC 7208 4.6.4.
    """

    def __init__(
        self, *args: Any, resolver: DnsResolver, deadline: Deadline, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._resolver = resolver
        self._deadline = deadline
        self._answers: dict[tuple[str, str], list[Any]] = {}

    # NOTE: pyspf 2.0.14 sends every lookup through this internal method, and
    # the override keeps its signature. A pyspf release that renames it would
    # send lookups to the system DNS again; test_trust checks that it does not.
    def dns(
        self,
        name: str,
        qtype: str,
        cnames: dict[str, str] | None = None,
        ignore_void: bool = False,
    ) -> list[Any]:
        name = str(name).rstrip(".").lower()
        if not name:
            raise spf.PermError("SPF evaluation asked for an empty DNS name")

        key = (name, qtype)
        if key not in self._answers:
            try:
                timeout = self._deadline.remaining()
                self._answers[key] = self._resolver.spf_records(name, qtype, timeout=timeout)
            except DnsLookupError as err:
                raise spf.TempError(str(err)) from err

        records = self._answers[key]
        if not records and not ignore_void:
            self.void_lookups += 1
            if self.void_lookups > spf.MAX_VOID_LOOKUPS:
                raise spf.PermError(f"more than {spf.MAX_VOID_LOOKUPS} void DNS lookups")
        return records
