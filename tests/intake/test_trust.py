"""Sender checks against real DKIM signatures and SPF records, served by a DNS server on loopback.

Every DNS query goes to the LoopbackDnsServer of ``tests.dns_server`` on
127.0.0.1, because the resolver is built with that server as its only nameserver.
IP addresses outside loopback (192.0.2.0/24, TEST-NET-1) appear only as
strings handed to SPF evaluation and are never contacted.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import smtplib
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import dkim
import pytest
import spf
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from incasso.intake.resolver import DnsResolver
from incasso.intake.trust import (
    SenderCheck,
    Verdict,
    check_authentication_results,
    check_sender,
    check_with_dns,
    domains_aligned,
    parse_networks,
    parse_peer_ip,
)
from tests.dns_server import LoopbackDnsServer

TRUSTED_ID = "mx.incasso.test"
OUTSIDE_IP = "192.0.2.10"  # TEST-NET-1: only ever a string for SPF, never contacted
DEFAULT_NETWORKS = ["127.0.0.0/8", "::1/128"]


@dataclass(frozen=True)
class DkimKey:
    private_pem: bytes
    record: str  # the TXT record that publishes the public key


@pytest.fixture(scope="module")
def dkim_key() -> DkimKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = f"v=DKIM1; k=rsa; p={base64.b64encode(public_der).decode('ascii')}"
    return DkimKey(private_pem, record)


@pytest.fixture
def dns_server(dkim_key: DkimKey) -> Iterator[LoopbackDnsServer]:
    """The published world: acme.test signs and has -all, soft.test has ~all, bare.test nothing."""
    server = LoopbackDnsServer()
    server.add_txt("sel._domainkey.acme.test", dkim_key.record)
    server.add_txt("sel._domainkey.mail.acme.test", dkim_key.record)
    server.add_txt("sel._domainkey.other.example", dkim_key.record)
    server.add_txt("acme.test", "v=spf1 ip4:127.0.0.1 -all")
    server.add_txt("mx.acme.test", "v=spf1 ip4:127.0.0.1 -all")
    server.add_txt("soft.test", "v=spf1 ip4:127.0.0.1 ~all")
    server.add_txt("bulk.example", "v=spf1 ip4:127.0.0.1 -all")
    server.add("bare.test", "A", "192.0.2.50")
    with server:
        yield server


@pytest.fixture
def resolver(dns_server: LoopbackDnsServer) -> DnsResolver:
    return DnsResolver(["127.0.0.1"], port=dns_server.port, timeout=2.0)


def message(
    from_header: str = "Acme Boekhouding <ap@acme.test>",
    body: str = "Factuur 2026-0042 blijft onbetaald.\r\n",
    extra_headers: tuple[str, ...] = (),
) -> bytes:
    lines = [
        *extra_headers,
        f"From: {from_header}",
        "To: intake@incasso.test",
        "Subject: Onbetaalde factuur 2026-0042",
        "Date: Mon, 16 Nov 2026 08:00:00 +0100",
        "Message-ID: <2026-0042@acme.test>",
        "",
        body,
    ]
    return "\r\n".join(lines).encode("utf-8")


def signed(raw: bytes, key: DkimKey, domain: str, selector: str = "sel") -> bytes:
    signature = dkim.sign(
        raw,
        selector.encode("ascii"),
        domain.encode("ascii"),
        key.private_pem,
        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
    )
    return signature + raw


def dns_check(
    raw: bytes,
    resolver: DnsResolver,
    *,
    from_domain: str = "acme.test",
    peer_ip: str | None = "127.0.0.1",
    mail_from: str | None = "bounce@acme.test",
    helo: str | None = "mx.acme.test",
) -> SenderCheck:
    return check_with_dns(
        raw,
        from_domain=from_domain,
        peer_ip=peer_ip,
        helo=helo,
        mail_from=mail_from,
        resolver=resolver,
    )


def sender_check(
    raw: bytes,
    resolver: DnsResolver,
    *,
    channel: str = "smtp",
    from_address: str | None = "ap@acme.test",
    peer: str | None = "127.0.0.1:40000",
    mail_from: str | None = "bounce@acme.test",
    trusted_networks: tuple[str, ...] = tuple(DEFAULT_NETWORKS),
) -> SenderCheck:
    return check_sender(
        raw,
        from_address=from_address,
        peer=peer,
        helo="mx.acme.test",
        mail_from=mail_from,
        channel=channel,
        trusted_networks=trusted_networks,
        trusted_authserv_ids=[TRUSTED_ID],
        resolver=resolver,
    )


def unused_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- DKIM ----------------------------------------------------------------------------------


def test_dkim_aligned_signature_passes(dkim_key: DkimKey, resolver: DnsResolver) -> None:
    raw = signed(message(), dkim_key, "acme.test")

    check = dns_check(raw, resolver, peer_ip=None)

    assert check.verdict == Verdict.PASS
    assert "dkim=pass d=acme.test s=sel aligned" in check.detail


def test_dkim_subdomain_signature_passes(dkim_key: DkimKey, resolver: DnsResolver) -> None:
    raw = signed(message(), dkim_key, "mail.acme.test")

    check = dns_check(raw, resolver, peer_ip=None)

    assert check.verdict == Verdict.PASS
    assert "dkim=pass d=mail.acme.test" in check.detail


def test_dkim_changed_body_fails(dkim_key: DkimKey, resolver: DnsResolver) -> None:
    raw = signed(message(), dkim_key, "acme.test").replace(b"2026-0042 blijft", b"2026-0043 blijft")

    check = dns_check(raw, resolver, peer_ip=None)

    assert check.verdict == Verdict.FAIL
    assert "dkim=fail d=acme.test s=sel aligned (body hash mismatch)" in check.detail


def test_dkim_changed_subject_fails(dkim_key: DkimKey, resolver: DnsResolver) -> None:
    raw = signed(message(), dkim_key, "acme.test").replace(b"Onbetaalde", b"Betaalde")

    check = dns_check(raw, resolver, peer_ip=None)

    assert check.verdict == Verdict.FAIL
    assert "signature does not verify" in check.detail


def test_dkim_unrelated_domain_gives_none(dkim_key: DkimKey, resolver: DnsResolver) -> None:
    raw = signed(message("Bare <ap@bare.test>"), dkim_key, "other.example")

    check = dns_check(raw, resolver, from_domain="bare.test", mail_from="ap@bare.test")

    assert check.verdict == Verdict.NONE
    assert "dkim=pass d=other.example s=sel not aligned" in check.detail
    assert "spf=none smtp.mailfrom=bare.test" in check.detail


def test_dkim_missing_key_gives_none(dkim_key: DkimKey, resolver: DnsResolver) -> None:
    raw = signed(message(), dkim_key, "acme.test", selector="retired")

    check = dns_check(raw, resolver, peer_ip=None)

    assert check.verdict == Verdict.NONE
    assert "dkim=permerror d=acme.test s=retired aligned (no key record)" in check.detail


def test_dkim_key_found_among_other_txt(
    dkim_key: DkimKey, dns_server: LoopbackDnsServer, resolver: DnsResolver
) -> None:
    dns_server.add_txt("shared._domainkey.acme.test", "site-verification=0123456789")
    dns_server.add_txt("shared._domainkey.acme.test", dkim_key.record)
    raw = signed(message(), dkim_key, "acme.test", selector="shared")

    check = dns_check(raw, resolver, peer_ip=None)

    assert check.verdict == Verdict.PASS


def test_dkim_pass_outweighs_spf_fail(dkim_key: DkimKey, resolver: DnsResolver) -> None:
    raw = signed(message(), dkim_key, "acme.test")

    check = dns_check(raw, resolver, peer_ip=OUTSIDE_IP)

    assert check.verdict == Verdict.PASS
    assert "spf=fail smtp.mailfrom=acme.test" in check.detail


def test_dkim_aligned_signature_checked_first(dkim_key: DkimKey, resolver: DnsResolver) -> None:
    raw = signed(message(), dkim_key, "acme.test")
    for _ in range(6):
        raw = signed(raw, dkim_key, "other.example")  # each new signature goes on top

    check = dns_check(raw, resolver, peer_ip=None)

    assert raw.count(b"DKIM-Signature:") == 7
    assert check.verdict == Verdict.PASS
    assert check.detail.startswith("dkim=pass d=acme.test s=sel aligned")
    assert "2 more DKIM signatures not checked" in check.detail


# --- SPF -----------------------------------------------------------------------------------


def test_spf_listed_address_passes(resolver: DnsResolver) -> None:
    check = dns_check(message(), resolver, peer_ip="127.0.0.1")

    assert check.verdict == Verdict.PASS
    assert "spf=pass smtp.mailfrom=acme.test client=127.0.0.1 aligned" in check.detail


def test_spf_outside_address_fails(resolver: DnsResolver) -> None:
    check = dns_check(message(), resolver, peer_ip=OUTSIDE_IP)

    assert check.verdict == Verdict.FAIL
    assert f"spf=fail smtp.mailfrom=acme.test client={OUTSIDE_IP} aligned" in check.detail


def test_spf_softfail_fails(resolver: DnsResolver) -> None:
    raw = message("Soft <ap@soft.test>")

    check = dns_check(
        raw, resolver, from_domain="soft.test", peer_ip=OUTSIDE_IP, mail_from="ap@soft.test"
    )

    assert check.verdict == Verdict.FAIL
    assert "spf=softfail smtp.mailfrom=soft.test" in check.detail


def test_spf_unaligned_pass_gives_none(resolver: DnsResolver) -> None:
    check = dns_check(message(), resolver, mail_from="bounces@bulk.example")

    assert check.verdict == Verdict.NONE
    assert "spf=pass smtp.mailfrom=bulk.example client=127.0.0.1 not aligned" in check.detail


def test_spf_uses_helo_without_mail_from(resolver: DnsResolver) -> None:
    check = dns_check(message(), resolver, mail_from="", helo="mx.acme.test")

    assert check.verdict == Verdict.PASS
    assert "spf=pass smtp.helo=mx.acme.test" in check.detail


def test_spf_follows_mx_a_and_aaaa(dns_server: LoopbackDnsServer, resolver: DnsResolver) -> None:
    dns_server.add_txt("shapes.test", "v=spf1 mx a:relay.shapes.test a:relay6.shapes.test -all")
    dns_server.add("shapes.test", "MX", "10 mx.shapes.test.")
    dns_server.add("mx.shapes.test", "A", "192.0.2.20")
    dns_server.add("relay.shapes.test", "A", "127.0.0.2")
    dns_server.add("relay6.shapes.test", "AAAA", "::1")
    raw = message("Shapes <ap@shapes.test>")

    verdicts = {
        ip: dns_check(
            raw, resolver, from_domain="shapes.test", peer_ip=ip, mail_from="ap@shapes.test"
        )
        for ip in ("192.0.2.20", "127.0.0.2", "::1", "192.0.2.21")
    }

    assert verdicts["192.0.2.20"].verdict == Verdict.PASS
    assert verdicts["127.0.0.2"].verdict == Verdict.PASS
    assert verdicts["::1"].verdict == Verdict.PASS
    assert verdicts["192.0.2.21"].verdict == Verdict.FAIL
    assert ("mx.shapes.test", "A") in dns_server.queries


def test_spf_void_lookup_limit(dns_server: LoopbackDnsServer, resolver: DnsResolver) -> None:
    record = "v=spf1 a:gone1.void.test a:gone2.void.test a:gone3.void.test ip4:127.0.0.1 -all"
    dns_server.add_txt("void.test", record)
    raw = message("Void <ap@void.test>")

    check = dns_check(raw, resolver, from_domain="void.test", mail_from="ap@void.test")

    assert check.verdict == Verdict.NONE
    assert "spf=permerror smtp.mailfrom=void.test" in check.detail
    assert "more than 2 void DNS lookups" in check.detail


def test_no_records_gives_none(resolver: DnsResolver) -> None:
    raw = message("Bare <ap@bare.test>")

    check = dns_check(raw, resolver, from_domain="bare.test", mail_from="ap@bare.test")

    assert check.verdict == Verdict.NONE
    assert check.detail == "dkim=none; spf=none smtp.mailfrom=bare.test client=127.0.0.1 aligned"


def test_spf_lookups_use_only_our_resolver(
    dns_server: LoopbackDnsServer, resolver: DnsResolver
) -> None:
    global_lookup = spf.DNSLookup

    dns_check(message(), resolver)

    assert resolver.nameservers == ["127.0.0.1"]
    assert ("acme.test", "TXT") in dns_server.queries
    assert spf.DNSLookup is global_lookup


# --- DNS failures --------------------------------------------------------------------------


@pytest.fixture(params=["closed port", "silent server"])
def dead_resolver(request: pytest.FixtureRequest) -> Iterator[DnsResolver]:
    """A resolver whose only nameserver never responds: nothing listens, or a socket never reads."""
    if request.param == "closed port":
        yield DnsResolver(["127.0.0.1"], port=unused_udp_port(), timeout=1.0)
        return
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        yield DnsResolver(["127.0.0.1"], port=silent.getsockname()[1], timeout=1.0)


def test_unreachable_dns_gives_none_quickly(dkim_key: DkimKey, dead_resolver: DnsResolver) -> None:
    raw = signed(message(), dkim_key, "acme.test")
    started = time.monotonic()

    check = dns_check(raw, dead_resolver)

    assert time.monotonic() - started < 5.0
    assert check.verdict == Verdict.NONE
    assert "dkim=temperror d=acme.test" in check.detail
    assert "spf=temperror smtp.mailfrom=acme.test" in check.detail
    assert "timed out after 1.0 s at 127.0.0.1" in check.detail


def test_time_budget_bounds_the_whole_check(dkim_key: DkimKey) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        slow = DnsResolver(["127.0.0.1"], port=silent.getsockname()[1], timeout=3.0)
        raw = signed(message(), dkim_key, "acme.test")
        started = time.monotonic()

        check = check_with_dns(
            raw,
            from_domain="acme.test",
            peer_ip="127.0.0.1",
            helo="mx.acme.test",
            mail_from="bounce@acme.test",
            resolver=slow,
            time_budget_seconds=1.0,
        )

    assert time.monotonic() - started < 2.5
    assert check.verdict == Verdict.NONE
    assert "DNS time budget of 1.0 s used up" in check.detail


def test_resolver_without_nameservers_is_rejected() -> None:
    with pytest.raises(ValueError, match="nameservers is empty"):
        DnsResolver([])


# --- Authentication-Results ----------------------------------------------------------------


def ar_check(*values: str, from_domain: str = "acme.test") -> SenderCheck | None:
    return check_authentication_results(
        list(values), trusted_authserv_ids=[TRUSTED_ID], from_domain=from_domain
    )


def test_trusted_dmarc_pass_passes() -> None:
    check = ar_check(f"{TRUSTED_ID}; dmarc=pass header.from=acme.test")

    assert check == SenderCheck(Verdict.PASS, f"A-R {TRUSTED_ID}: dmarc=pass header.from=acme.test")


def test_trusted_dmarc_fail_fails() -> None:
    check = ar_check(
        f"{TRUSTED_ID}; dkim=pass header.d=acme.test; dmarc=fail header.from=acme.test"
    )

    assert check is not None
    assert check.verdict == Verdict.FAIL
    assert "dmarc=fail" in check.detail


def test_untrusted_authserv_id_is_ignored() -> None:
    forged = "mx.attacker.example; dkim=pass header.d=acme.test; dmarc=pass header.from=acme.test"

    assert ar_check(forged) is None


def test_topmost_trusted_header_decides() -> None:
    check = ar_check(
        f"{TRUSTED_ID}; dmarc=fail header.from=acme.test",
        f"{TRUSTED_ID}; dmarc=pass header.from=acme.test",
    )

    assert check is not None
    assert check.verdict == Verdict.FAIL


def test_untrusted_header_above_trusted_is_skipped() -> None:
    check = ar_check(
        "mx.attacker.example; dmarc=pass header.from=acme.test",
        f"{TRUSTED_ID}; spf=fail smtp.mailfrom=ap@acme.test",
    )

    assert check is not None
    assert check.verdict == Verdict.FAIL
    assert "Authentication-Results from untrusted mx.attacker.example ignored" in check.detail


def test_authserv_id_match_ignores_case() -> None:
    check = ar_check("MX.Incasso.TEST; dmarc=pass header.from=acme.test")

    assert check is not None
    assert check.verdict == Verdict.PASS


@pytest.mark.parametrize(
    ("results", "verdict"),
    [
        ("dkim=pass header.d=acme.test header.s=sel", Verdict.PASS),
        ("dkim=pass header.i=@mail.acme.test", Verdict.PASS),
        ("spf=pass smtp.mailfrom=bounce@mail.acme.test", Verdict.PASS),
        ("dkim=fail header.d=acme.test", Verdict.FAIL),
        ("spf=softfail smtp.mailfrom=acme.test", Verdict.FAIL),
        ("spf=fail smtp.mailfrom=acme.test; dkim=pass header.d=acme.test", Verdict.PASS),
        ("dkim=pass header.d=other.example", Verdict.NONE),
        ("dkim=fail header.d=other.example", Verdict.NONE),
        ("spf=pass smtp.mailfrom=bulk.example", Verdict.NONE),
        ("spf=neutral smtp.mailfrom=acme.test", Verdict.NONE),
        ("dmarc=none header.from=acme.test", Verdict.NONE),
        ("dmarc=none header.from=acme.test; dkim=pass header.d=acme.test", Verdict.PASS),
        ("none", Verdict.NONE),
    ],
)
def test_trusted_results_without_dmarc_verdict(results: str, verdict: Verdict) -> None:
    check = ar_check(f"{TRUSTED_ID}; {results}")

    assert check is not None
    assert check.verdict == verdict, check.detail


def test_dmarc_for_other_from_domain_is_ignored() -> None:
    check = ar_check(f"{TRUSTED_ID}; dmarc=pass header.from=other.example")

    assert check is not None
    assert check.verdict == Verdict.NONE
    assert "dmarc=pass is for header.from=other.example, ignored" in check.detail


def test_malformed_untrusted_header_is_skipped() -> None:
    check = ar_check(
        "mx.attacker.example; dkim=",
        ";;; garbage",
        f"{TRUSTED_ID}; dmarc=pass header.from=acme.test",
    )

    assert check is not None
    assert check.verdict == Verdict.PASS
    assert check.detail.count("malformed Authentication-Results ignored") == 2


def test_malformed_trusted_header_stops_search() -> None:
    check = ar_check(
        f"{TRUSTED_ID}; dkim=",
        f"{TRUSTED_ID}; dmarc=pass header.from=acme.test",
    )

    assert check is not None
    assert check.verdict == Verdict.NONE
    assert f"Authentication-Results from {TRUSTED_ID} unreadable" in check.detail


def test_no_headers_gives_no_result() -> None:
    assert ar_check() is None


# --- Policy --------------------------------------------------------------------------------


def test_peer_in_trusted_network_is_relay(resolver: DnsResolver) -> None:
    check = sender_check(message(), resolver, peer="127.0.0.1:40000")

    assert check.verdict == Verdict.TRUSTED_RELAY
    assert "peer 127.0.0.1 is in trusted network 127.0.0.0/8" in check.detail


@pytest.mark.parametrize("peer", ["::1:2525", "[::1]:2525", "::ffff:127.0.0.1:2525"])
def test_ipv6_peer_is_relay(peer: str, resolver: DnsResolver) -> None:
    check = sender_check(message(), resolver, peer=peer)

    assert check.verdict == Verdict.TRUSTED_RELAY


def test_relay_with_trusted_header_uses_header(resolver: DnsResolver) -> None:
    header = f"Authentication-Results: {TRUSTED_ID}; dmarc=fail header.from=acme.test"
    raw = message(extra_headers=(header,))

    check = sender_check(raw, resolver, peer="127.0.0.1:40000")

    assert check.verdict == Verdict.FAIL
    assert check.detail == f"A-R {TRUSTED_ID}: dmarc=fail header.from=acme.test"


def test_direct_smtp_is_checked_against_dns(resolver: DnsResolver) -> None:
    check = sender_check(message(), resolver, peer="127.0.0.1:40000", trusted_networks=())

    assert check.verdict == Verdict.PASS
    assert "spf=pass smtp.mailfrom=acme.test client=127.0.0.1 aligned" in check.detail


def test_direct_smtp_ignores_written_headers(resolver: DnsResolver) -> None:
    header = f"Authentication-Results: {TRUSTED_ID}; dmarc=pass header.from=acme.test"
    raw = message(extra_headers=(header,))

    check = sender_check(raw, resolver, peer=f"{OUTSIDE_IP}:40000", mail_from="ap@acme.test")

    assert check.verdict == Verdict.FAIL
    assert "spf=fail smtp.mailfrom=acme.test" in check.detail
    assert "1 Authentication-Results headers ignored" in check.detail


def test_imap_uses_trusted_header(resolver: DnsResolver) -> None:
    header = f"Authentication-Results: {TRUSTED_ID}; dmarc=pass header.from=acme.test"
    raw = message(extra_headers=(header,))

    check = sender_check(raw, resolver, channel="imap", peer=None, mail_from=None)

    assert check.verdict == Verdict.PASS


def test_imap_forged_header_gives_none(resolver: DnsResolver) -> None:
    header = "Authentication-Results: mx.attacker.example; dkim=pass header.d=acme.test"
    raw = message(extra_headers=(header,))

    check = sender_check(raw, resolver, channel="imap", peer=None, mail_from=None)

    assert check.verdict == Verdict.NONE
    assert "channel imap" in check.detail
    assert "1 Authentication-Results headers without a trusted authserv-id" in check.detail


def test_drop_folder_file_gives_none(resolver: DnsResolver) -> None:
    check = sender_check(message(), resolver, channel="drop", peer="file:invoice.eml")

    assert check.verdict == Verdict.NONE
    assert check.detail.startswith("channel drop: no Authentication-Results header")


def test_upload_gives_none(resolver: DnsResolver) -> None:
    check = sender_check(b"%PDF-1.7\n", resolver, channel="upload", from_address=None, peer=None)

    assert check.verdict == Verdict.NONE
    assert check.detail.startswith("channel upload")


def test_missing_from_fails(resolver: DnsResolver) -> None:
    raw = message().replace(b"From: Acme Boekhouding <ap@acme.test>\r\n", b"")

    check = sender_check(raw, resolver, from_address=None)

    assert check == SenderCheck(Verdict.FAIL, "From address missing")


@pytest.mark.parametrize(
    ("from_address", "reason"),
    [
        ("ap", "From address 'ap' has no domain"),
        ("ap@", "From address 'ap@' has an invalid domain"),
        ("ap@acme..test", "From address 'ap@acme..test' has an invalid domain"),
        ("ap@[192.0.2.1]", "From address 'ap@[192.0.2.1]' has an invalid domain"),
    ],
)
def test_unparsable_from_fails(from_address: str, reason: str, resolver: DnsResolver) -> None:
    check = sender_check(message(f"<{from_address}>"), resolver, from_address=from_address)

    assert check == SenderCheck(Verdict.FAIL, reason)


def test_two_from_headers_fail(resolver: DnsResolver) -> None:
    raw = message(extra_headers=("From: <ap@attacker.example>",))

    check = sender_check(raw, resolver)

    assert check == SenderCheck(Verdict.FAIL, "message has 2 From headers; RFC 5322 allows one")


def test_from_with_two_domains_fails(resolver: DnsResolver) -> None:
    raw = message("ap@acme.test, ap@attacker.example")

    check = sender_check(raw, resolver)

    assert check.verdict == Verdict.FAIL
    assert check.detail == "From header names addresses in 2 domains"


def test_invalid_trusted_network_is_named() -> None:
    with pytest.raises(ValueError, match=re.escape("invalid trusted network '10.1.2.3/8'")):
        parse_networks(["10.1.2.3/8"])


# --- Helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "expected"),
    [
        ("127.0.0.1:2525", "127.0.0.1"),
        ("::1:2525", "::1"),
        ("[::1]:2525", "::1"),
        ("2001:db8::25:2525", "2001:db8::25"),
        ("::ffff:192.0.2.1:2525", "192.0.2.1"),
        ("fe80::1%eth0:2525", "fe80::1%eth0"),
        ("192.0.2.1", "192.0.2.1"),
        ("file:invoice.eml", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_peer_ip(peer: str | None, expected: str | None) -> None:
    address = parse_peer_ip(peer)

    assert address == (ipaddress.ip_address(expected) if expected else None)


@pytest.mark.parametrize(
    ("first", "second", "aligned"),
    [
        ("acme.test", "acme.test", True),
        ("ACME.test.", "acme.test", True),
        ("mail.acme.test", "acme.test", True),
        ("acme.test", "mail.acme.test", True),
        ("a.acme.test", "b.acme.test", False),
        ("notacme.test", "acme.test", False),
        ("acme.test", "", False),
    ],
)
def test_domains_aligned(first: str, second: str, aligned: bool) -> None:
    assert domains_aligned(first, second) is aligned


@dataclass
class PeerRecorder:
    peers: list[object]

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.peers.append(session.peer)
        return "250 2.0.0 Kept"


def test_aiosmtpd_ipv6_peer_parses() -> None:
    recorder = PeerRecorder([])
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("::1", 0))
        except OSError as err:
            pytest.skip(f"IPv6 loopback ::1 unavailable: {err}")
        port = probe.getsockname()[1]
    controller = Controller(recorder, hostname="::1", port=port)
    controller.start()
    try:
        with smtplib.SMTP("::1", port, timeout=10) as client:
            client.sendmail("ap@acme.test", ["intake@incasso.test"], message())
    finally:
        controller.stop()

    host, client_port = recorder.peers[0][:2]  # type: ignore[index]
    stored = f"{host}:{client_port}"  # the form the SMTP receiver stores in mail_message.peer

    assert host == "::1"
    assert parse_peer_ip(stored) == ipaddress.IPv6Address("::1")
