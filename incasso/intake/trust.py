"""Deciding whether the From address of a received message is authentic.

A collection case is a claim against a real person, so a creditor's
submission may only open one when the domain of its From address vouches for
it. ``check_sender`` returns one of four verdicts with a short English
detail that a reviewer can read:

- ``pass``: a DKIM signature verifies and its ``d=`` domain is aligned with
  the From domain, or SPF passes for an aligned MAIL FROM domain (DMARC-style
  relaxed alignment, see ``domains_aligned``), or a trusted
  Authentication-Results header reports ``dmarc=pass``.
- ``fail``: the From domain's own evidence shows the message is forged or
  altered. That is an aligned DKIM signature that does not verify against the
  published key, an SPF ``fail`` or ``softfail`` for an aligned MAIL FROM
  domain, ``dmarc=fail`` in a trusted Authentication-Results header, or a
  From header that is missing, repeated or unreadable. A pass outweighs a
  fail, as in DMARC: a forwarded message often fails SPF but keeps its
  DKIM signature.
- ``none``: no evidence either way. The message has no signature and no SPF
  record, the DNS did not answer, or it came through a channel (drop folder,
  upload, mailbox without a trusted header) where nothing can be checked.
- ``trusted_relay``: one of our own relays (a peer in
  ``smtp_receiver.trusted_networks``) handed the message over without an
  Authentication-Results header that we trust.

Anyone can write an Authentication-Results header into a message, so only
headers whose authserv-id is in ``trusted_authserv_ids`` count, and only the
topmost of them, the one our own server added last. Mail that our SMTP
receiver takes directly from an untrusted peer has passed none of our
servers, so every Authentication-Results header in it was written by the
sender or by hosts before it: there the headers are ignored and DKIM and SPF
are checked against the DNS. The rule is only as good as the servers behind
the trusted ids: each must add its header to every message it passes on and
remove incoming headers that carry its id (RFC 8601 section 5). Otherwise
a sender's own header with that id is the topmost one.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from email.utils import getaddresses
from enum import StrEnum
from typing import Any

import authres
import dkim
import dkim.util

from incasso.intake.mime import read_header_block
from incasso.intake.resolver import (
    DEFAULT_DNS_TIMEOUT_SECONDS,
    Deadline,
    DnsLookupError,
    DnsResolver,
    ResolverSpfQuery,
)
from incasso.store.models import Channel

logger = logging.getLogger(__name__)

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Seconds all DNS queries of one check_with_dns call may take together.
DEFAULT_CHECK_TIME_BUDGET_SECONDS = 10.0
# DKIM signatures verified per message. Each costs one DNS query.
MAX_DKIM_SIGNATURES = 5

DOMAIN_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
DOMAIN_NAME = re.compile(rf"^(?=.{{1,253}}$){DOMAIN_LABEL}(?:\.{DOMAIN_LABEL})*$")
LEADING_TOKEN = re.compile(r"^\s*([^\s;()]+)")
SPF_FAILURES = frozenset({"fail", "softfail"})


class Verdict(StrEnum):
    PASS = "pass"  # aligned DKIM pass, aligned SPF pass or dmarc=pass from a trusted header
    FAIL = "fail"  # the From domain's evidence shows forgery, or the From header is unusable
    NONE = "none"  # no evidence either way
    TRUSTED_RELAY = "trusted_relay"  # handed over by our own relay without a trusted header


@dataclass(frozen=True)
class SenderCheck:
    """A verdict on the From address with its evidence, e.g. ``dkim=pass d=acme.be aligned``."""

    verdict: Verdict
    detail: str


# --- Domains, addresses and peers ----------------------------------------------------------


def normalize_domain(value: str) -> str | None:
    """Return ``value`` as a lower-case ASCII domain name (IDNA), or None if it is not one."""
    domain = value.strip().rstrip(".").lower()
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return domain if DOMAIN_NAME.match(domain) else None


def domains_aligned(first: str, second: str) -> bool:
    """Return whether two domains are aligned in DMARC's relaxed sense, approximately.

    DMARC compares organizational domains, which needs the public-suffix
    list. Here two domains are aligned when they are equal or one is a
    subdomain of the other. That rejects siblings such as ``a.acme.be`` and
    ``b.acme.be``, which DMARC would align. It wrongly aligns a domain with
    a public suffix above it (``acme.be`` with ``be``), but only the
    suffix's operator can sign or publish SPF for the suffix itself.
    """
    first = first.lower().rstrip(".")
    second = second.lower().rstrip(".")
    if not first or not second:
        return False
    return first == second or first.endswith("." + second) or second.endswith("." + first)


def parse_peer_ip(peer: str | None) -> IpAddress | None:
    """Return the IP address of a stored ``peer`` value, or None when it names no address.

    The SMTP receiver stores ``f"{host}:{port}"``, so an IPv6 peer looks like
    ``::1:2525``; ``[::1]:2525`` and a bare address are accepted too. An
    IPv4-mapped IPv6 address (``::ffff:192.0.2.1``) becomes the IPv4 address.
    Other channels store values such as ``file:invoice.eml``, which give None.
    """
    if not peer:
        return None

    candidates: list[str] = []
    text = peer.strip()
    if text.startswith("["):
        host, bracket, _rest = text[1:].partition("]")
        if bracket:
            candidates.append(host)
    else:
        host, colon, port = text.rpartition(":")
        if colon and port.isdigit():
            candidates.append(host)
        candidates.append(text)

    for candidate in candidates:
        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            return address.ipv4_mapped
        return address
    return None


def parse_networks(values: Iterable[str]) -> list[IpNetwork]:
    """Parse CIDR strings such as ``127.0.0.0/8`` and ``::1/128``.

    Raises ValueError naming the value when one is not a network address
    (host bits set, as in ``10.1.2.3/8``, count as invalid).
    """
    networks: list[IpNetwork] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip()))
        except ValueError as err:
            raise ValueError(
                f"invalid trusted network {value!r}: {err}; write a network address "
                "such as 192.0.2.0/24 or 2001:db8::/32"
            ) from err
    return networks


def _from_domain(from_address: str | None, from_values: list[str]) -> tuple[str | None, str]:
    """Return the From domain, or None with the reason the From header is unusable."""
    if len(from_values) > 1:
        return None, f"message has {len(from_values)} From headers; RFC 5322 allows one"

    try:
        mailboxes = [address for _name, address in getaddresses(from_values) if "@" in address]
    except Exception as err:  # the email package raises assorted errors on broken headers
        return None, f"From header unreadable: {err}"
    domains = {address.rpartition("@")[2].lower() for address in mailboxes}
    if len(domains) > 1:
        return None, f"From header names addresses in {len(domains)} domains"

    if not from_address:
        return None, "From address missing"
    if "@" not in from_address:
        return None, f"From address {from_address!r} has no domain"

    domain = normalize_domain(from_address.rpartition("@")[2])
    if domain is None:
        return None, f"From address {from_address!r} has an invalid domain"
    return domain, ""


@dataclass(frozen=True)
class _Outcome:
    """One DKIM signature's or the SPF check's result, with its text for the detail."""

    method: str  # "dkim" or "spf"
    result: str  # as RFC 8601 names it: pass, fail, softfail, none, temperror, permerror …
    aligned: bool
    text: str

    @property
    def is_aligned_pass(self) -> bool:
        return self.aligned and self.result == "pass"

    @property
    def is_aligned_failure(self) -> bool:
        if self.method == "dkim":
            return self.aligned and self.result == "fail"
        return self.aligned and self.result in SPF_FAILURES


# --- Authentication-Results ----------------------------------------------------------------


def check_authentication_results(
    values: list[str],
    *,
    trusted_authserv_ids: Collection[str],
    from_domain: str,
) -> SenderCheck | None:
    """Judge the From domain by the topmost Authentication-Results header from a trusted server.

    ``values`` are the raw header values, topmost first. Headers of other
    authserv-ids are skipped, since anyone can write them. Returns None when
    no header has a trusted authserv-id. A malformed header is skipped and
    named in the detail, unless it begins with a trusted authserv-id. Such a
    header gives NONE, because a forged header further down must not take
    its place.
    """
    trusted = {authserv_id.strip().lower() for authserv_id in trusted_authserv_ids}
    from_domain = from_domain.strip().rstrip(".").lower()
    skipped: list[str] = []

    for value in values:
        try:
            header = authres.all_features().parse_value(value)
        except (authres.AuthResError, ValueError) as err:
            token_match = LEADING_TOKEN.match(value)
            token = token_match.group(1).lower() if token_match else ""
            if token in trusted:
                logger.warning("Authentication-Results from %s unreadable: %s", token, err)
                return SenderCheck(
                    Verdict.NONE,
                    f"Authentication-Results from {token} unreadable ({err}); "
                    "no lower header is used in its place",
                )
            skipped.append(f"malformed Authentication-Results ignored ({err})")
            continue

        if header.authserv_id not in trusted:
            skipped.append(f"Authentication-Results from untrusted {header.authserv_id} ignored")
            continue

        check = _judge_results(header.authserv_id, header.results, from_domain)
        return _with_notes(check, skipped)

    return None


def _judge_results(authserv_id: str, results: list[Any], from_domain: str) -> SenderCheck:
    """Map the results of one trusted header to a verdict, DMARC first."""
    prefix = f"A-R {authserv_id}: "
    if not results:
        return SenderCheck(Verdict.NONE, prefix + "no results")

    notes: list[str] = []
    for result in results:
        if result.method != "dmarc":
            continue
        header_from = _property(result, "header", "from")
        if header_from and normalize_domain(header_from) != from_domain:
            notes.append(f"dmarc={result.result} is for header.from={header_from}, ignored")
            continue
        if result.result == "pass":
            return SenderCheck(Verdict.PASS, prefix + f"dmarc=pass header.from={from_domain}")
        if result.result == "fail":
            return SenderCheck(Verdict.FAIL, prefix + f"dmarc=fail header.from={from_domain}")
        notes.append(f"dmarc={result.result}")

    outcomes = [_summarize_result(result, from_domain) for result in results]
    found = [outcome for outcome in outcomes if outcome is not None]
    passes = [outcome.text for outcome in found if outcome.is_aligned_pass]
    failures = [outcome.text for outcome in found if outcome.is_aligned_failure]
    others = [
        outcome.text
        for outcome in found
        if not (outcome.is_aligned_pass or outcome.is_aligned_failure)
    ]

    if passes:
        return SenderCheck(Verdict.PASS, prefix + "; ".join(passes + failures + others + notes))
    if failures:
        return SenderCheck(Verdict.FAIL, prefix + "; ".join(failures + others + notes))
    summary = "; ".join(others + notes) or "no dkim, spf or dmarc result"
    return SenderCheck(Verdict.NONE, prefix + summary)


def _summarize_result(result: Any, from_domain: str) -> _Outcome | None:
    """Return a dkim or spf result with its alignment, None for other methods."""
    if result.method == "dkim":
        domain = _property(result, "header", "d") or _property(result, "header", "i") or ""
        label = "header.d"
    elif result.method == "spf":
        domain = _property(result, "smtp", "mailfrom") or _property(result, "smtp", "helo") or ""
        label = "smtp.mailfrom"
    else:
        return None

    domain = domain.rpartition("@")[2]
    aligned = bool(domain) and domains_aligned(domain, from_domain)
    state = "aligned" if aligned else "not aligned"
    text = f"{result.method}={result.result} {label}={domain or '?'} {state}"
    return _Outcome(result.method, result.result, aligned, text)


def _property(result: Any, ptype: str, name: str) -> str | None:
    for prop in result.properties:
        if prop.type == ptype and prop.name == name and prop.value:
            return str(prop.value).strip().lower()
    return None


def _with_notes(check: SenderCheck, notes: list[str]) -> SenderCheck:
    if not notes:
        return check
    return SenderCheck(check.verdict, "; ".join([check.detail, *notes]))


# --- DKIM and SPF against the DNS ----------------------------------------------------------


def check_with_dns(
    raw: bytes,
    *,
    from_domain: str,
    peer_ip: str | None,
    helo: str | None,
    mail_from: str | None,
    resolver: DnsResolver,
    time_budget_seconds: float = DEFAULT_CHECK_TIME_BUDGET_SECONDS,
) -> SenderCheck:
    """Verify DKIM signatures and SPF through ``resolver``; DNS failures give NONE, never raise.

    SPF checks the MAIL FROM domain, or the HELO name when MAIL FROM is
    empty, for ``peer_ip``. All DNS queries together get at most
    ``time_budget_seconds``.
    """
    from_domain = from_domain.strip().rstrip(".").lower()
    deadline = Deadline(time_budget_seconds)
    outcomes = _verify_dkim(raw, from_domain, resolver, deadline)
    outcomes.append(_check_spf(from_domain, peer_ip, helo, mail_from, resolver, deadline))

    detail = "; ".join(outcome.text for outcome in outcomes)
    if any(outcome.is_aligned_pass for outcome in outcomes):
        return SenderCheck(Verdict.PASS, detail)
    if any(outcome.is_aligned_failure for outcome in outcomes):
        return SenderCheck(Verdict.FAIL, detail)
    return SenderCheck(Verdict.NONE, detail)


def _verify_dkim(
    raw: bytes, from_domain: str, resolver: DnsResolver, deadline: Deadline
) -> list[_Outcome]:
    """Verify up to MAX_DKIM_SIGNATURES signatures, those aligned with the From domain first."""
    try:
        verifier = dkim.DKIM(raw, timeout=resolver.timeout)
    except Exception as err:  # dkimpy 1.1.8 also raises IndexError, e.g. on a leading space
        text = f"dkim=permerror message unreadable ({type(err).__name__}: {err})"
        return [_Outcome("dkim", "permerror", False, text)]

    signatures = _dkim_signatures(verifier.headers)
    if not signatures:
        return [_Outcome("dkim", "none", False, "dkim=none")]

    signatures.sort(key=lambda signature: not domains_aligned(signature[1], from_domain))
    outcomes = [
        _verify_signature(verifier, index, domain, selector, from_domain, resolver, deadline)
        for index, domain, selector in signatures[:MAX_DKIM_SIGNATURES]
    ]
    unchecked = len(signatures) - MAX_DKIM_SIGNATURES
    if unchecked > 0:
        text = f"{unchecked} more DKIM signatures not checked"
        outcomes.append(_Outcome("dkim", "none", False, text))
    return outcomes


def _dkim_signatures(headers: list[tuple[bytes, bytes]]) -> list[tuple[int, str, str]]:
    """Return ``(index, d=, s=)`` of every DKIM-Signature header, topmost first."""
    signatures: list[tuple[int, str, str]] = []
    for name, value in headers:
        if name.lower() != b"dkim-signature":
            continue
        try:
            tags = dkim.util.parse_tag_value(value)
        except dkim.util.InvalidTagValueList:
            tags = {}
        domain = tags.get(b"d", b"").decode("ascii", errors="replace").strip().lower()
        selector = tags.get(b"s", b"").decode("ascii", errors="replace").strip()
        signatures.append((len(signatures), domain, selector))
    return signatures


def _verify_signature(
    verifier: Any,
    index: int,
    domain: str,
    selector: str,
    from_domain: str,
    resolver: DnsResolver,
    deadline: Deadline,
) -> _Outcome:
    """Verify the signature at ``index`` and classify the result as RFC 8601 names it.

    ``fail`` needs a usable key record and a signature that does not match
    it. A missing or unusable key, or a malformed signature, is
    ``permerror``, and a DNS failure is ``temperror``.
    """
    aligned = bool(domain) and domains_aligned(domain, from_domain)
    label = f"d={domain or '?'} s={selector or '?'} {'aligned' if aligned else 'not aligned'}"
    fetched: list[bytes | None] = []

    def fetch_key(name: bytes, timeout: float = DEFAULT_DNS_TIMEOUT_SECONDS) -> bytes | None:
        record = resolver.dkim_txt(name, timeout=min(timeout, deadline.remaining()))
        fetched.append(record)
        return record

    def outcome(result: str, note: str = "") -> _Outcome:
        text = f"dkim={result} {label}" + (f" ({note})" if note else "")
        return _Outcome("dkim", result, aligned, text)

    try:
        valid = bool(verifier.verify(idx=index, dnsfunc=fetch_key))
    except DnsLookupError as err:
        logger.warning("DKIM key lookup failed d=%s s=%s: %s", domain, selector, err)
        return outcome("temperror", str(err))
    except dkim.ValidationError as err:
        key_found = bool(fetched) and fetched[-1] is not None
        # dkimpy appends both body hashes in base64, which tell a reviewer nothing.
        reason = str(err).split(" (got ", 1)[0]
        return outcome("fail" if key_found else "permerror", reason)
    except dkim.DKIMException as err:
        return outcome("permerror", str(err))
    except Exception as err:  # dkimpy raises assorted errors on hostile signatures
        logger.warning("DKIM verification raised d=%s s=%s: %r", domain, selector, err)
        return outcome("permerror", type(err).__name__)

    if valid:
        return outcome("pass")

    record = fetched[-1] if fetched else None
    if record is None:
        return outcome("permerror", "no key record")
    key_problem = _key_record_problem(selector, domain, record)
    if key_problem:
        return outcome("permerror", key_problem)
    return outcome("fail", "signature does not verify")


def _key_record_problem(selector: str, domain: str, record: bytes) -> str | None:
    """Return why dkimpy cannot use a key record, or None when it parses."""
    try:
        dkim.evaluate_pk(f"{selector}._domainkey.{domain}".encode(), record)
    except dkim.DKIMException as err:
        return f"key record unusable: {err}"
    return None


def _check_spf(
    from_domain: str,
    peer_ip: str | None,
    helo: str | None,
    mail_from: str | None,
    resolver: DnsResolver,
    deadline: Deadline,
) -> _Outcome:
    """Evaluate SPF for the MAIL FROM domain, or the HELO name when MAIL FROM is empty."""
    sender = (mail_from or "").strip().strip("<>").strip()
    helo_name = (helo or "").strip()
    address = parse_peer_ip(peer_ip)
    if address is None:
        return _Outcome("spf", "none", False, f"spf=none (client address {peer_ip!r} unknown)")
    if not sender and not helo_name:
        return _Outcome("spf", "none", False, "spf=none (neither MAIL FROM nor HELO to check)")

    query = ResolverSpfQuery(
        i=str(address), s=sender, h=helo_name or "unknown", resolver=resolver, deadline=deadline
    )
    identity = "smtp.mailfrom" if query.ident == "mailfrom" else "smtp.helo"
    domain = str(query.o).lower()
    try:
        result, _code, explanation = query.check()
    except Exception as err:  # pyspf may raise on hostile records; a crash must not pass
        logger.warning("SPF evaluation raised domain=%s client=%s: %r", domain, address, err)
        result, explanation = "permerror", type(err).__name__

    aligned = domains_aligned(domain, from_domain)
    text = f"spf={result} {identity}={domain} client={address}"
    text += " aligned" if aligned else " not aligned"
    if result in ("temperror", "permerror") and explanation:
        text += f" ({explanation})"
    if result == "temperror":
        logger.warning("SPF lookup failed domain=%s client=%s: %s", domain, address, explanation)
    return _Outcome("spf", str(result), aligned, text)


# --- Policy --------------------------------------------------------------------------------


def check_sender(
    raw: bytes,
    *,
    from_address: str | None,
    peer: str | None,
    helo: str | None,
    mail_from: str | None,
    channel: str,
    trusted_networks: Collection[str],
    trusted_authserv_ids: Collection[str],
    resolver: DnsResolver,
) -> SenderCheck:
    """Decide whether the From address of ``raw`` is authentic, by the policy of this module.

    The rules apply in this order:

    1. An upload (a document without a mail around it) gives NONE, and a
       missing, repeated or unreadable From header gives FAIL.
    2. A trusted Authentication-Results header decides, unless the message
       came straight from an SMTP peer outside ``trusted_networks``.
    3. A peer in ``trusted_networks`` gives TRUSTED_RELAY.
    4. Other SMTP mail is checked against the DNS.
    5. Anything else gives NONE with the reason.

    Raises ValueError only for an invalid entry in ``trusted_networks``.
    """
    if channel == Channel.UPLOAD:
        return SenderCheck(Verdict.NONE, "channel upload: a document without a mail has no sender")

    headers = read_header_block(raw)
    from_domain, problem = _from_domain(from_address, headers.get("from", []))
    if from_domain is None:
        return SenderCheck(Verdict.FAIL, problem)

    peer_ip = parse_peer_ip(peer)
    relay = _trusted_network(peer_ip, parse_networks(trusted_networks))
    ar_values = headers.get("authentication-results", [])
    direct_smtp = channel == Channel.SMTP and relay is None

    if direct_smtp and ar_values:
        ignored = (
            f"{len(ar_values)} Authentication-Results headers ignored: "
            f"SMTP peer {peer} is not a trusted relay"
        )
    else:
        ar_check = check_authentication_results(
            ar_values, trusted_authserv_ids=trusted_authserv_ids, from_domain=from_domain
        )
        if ar_check is not None:
            return ar_check
        ignored = (
            f"{len(ar_values)} Authentication-Results headers without a trusted authserv-id"
            if ar_values
            else ""
        )

    check = _check_without_trusted_header(
        raw, from_domain, peer, peer_ip, relay, helo, mail_from, channel, resolver
    )
    return _with_notes(check, [ignored] if ignored else [])


def _trusted_network(address: IpAddress | None, networks: list[IpNetwork]) -> IpNetwork | None:
    if address is None:
        return None
    for network in networks:
        if address in network:
            return network
    return None


def _check_without_trusted_header(
    raw: bytes,
    from_domain: str,
    peer: str | None,
    peer_ip: IpAddress | None,
    relay: IpNetwork | None,
    helo: str | None,
    mail_from: str | None,
    channel: str,
    resolver: DnsResolver,
) -> SenderCheck:
    if relay is not None:
        return SenderCheck(
            Verdict.TRUSTED_RELAY,
            f"peer {peer_ip} is in trusted network {relay}; "
            "no Authentication-Results header from a trusted authserv-id",
        )

    if channel == Channel.SMTP:
        if peer_ip is None:
            return SenderCheck(Verdict.NONE, f"SMTP peer {peer!r} has no IP address to check")
        return check_with_dns(
            raw,
            from_domain=from_domain,
            peer_ip=str(peer_ip),
            helo=helo,
            mail_from=mail_from,
            resolver=resolver,
        )

    return SenderCheck(
        Verdict.NONE,
        f"channel {channel}: no Authentication-Results header from a trusted authserv-id "
        "and no SMTP session to check",
    )
