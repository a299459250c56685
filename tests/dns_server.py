"""A small authoritative DNS server on 127.0.0.1 for tests, answering over UDP from a dict.

It serves whatever records a test adds, in any zone, with the AA flag set.
A name without records gives NXDOMAIN, and a name with records of other
types gives an empty NOERROR answer. Records of one name and type go out in
the order they were added, not shuffled. Every question is logged in
``queries`` so a test can see which lookups reached it. There is no TCP, so
a response too large for the client's UDP size goes out truncated (TC).
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

# Maximum length in bytes of one character-string in a TXT record (RFC 1035 3.3.14).
TXT_STRING_MAX = 255


class LoopbackDnsServer:
    """An authoritative DNS server for the records a test adds, on 127.0.0.1 and a free UDP port."""

    def __init__(self, ttl: int = 60) -> None:
        self.ttl = ttl
        self.queries: list[tuple[str, str]] = []
        self._records: dict[tuple[str, str], list[str]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.05)
        self.port: int = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="loopback-dns", daemon=True)

    def add(self, name: str, rdtype: str, rdata: str) -> None:
        """Publish one record, ``rdata`` in zone-file syntax (``192.0.2.1``, ``"text"``)."""
        with self._lock:
            self._records.setdefault((_key(name), rdtype.upper()), []).append(rdata)

    def add_txt(self, name: str, text: str) -> None:
        """Publish a TXT record, split into 255-byte strings as DNS requires for long text."""
        data = text.encode("ascii")
        pieces = [
            data[start : start + TXT_STRING_MAX] for start in range(0, len(data), TXT_STRING_MAX)
        ]
        quoted = " ".join(_quote(piece) for piece in pieces or [b""])
        self.add(name, "TXT", quoted)

    def start(self) -> LoopbackDnsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._socket.close()

    def __enter__(self) -> LoopbackDnsServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                wire, client = self._socket.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = self._reply(wire)
            if reply is not None:
                self._socket.sendto(reply, client)

    def _reply(self, wire: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None

        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        for question in query.question:
            name = _key(question.name.to_text())
            rdtype = dns.rdatatype.to_text(question.rdtype)
            with self._lock:
                self.queries.append((name, rdtype))
                values = list(self._records.get((name, rdtype), []))
                name_exists = any(known == name for known, _type in self._records)
            if values:
                rrset = dns.rrset.from_text(question.name, self.ttl, "IN", rdtype, *values)
                response.answer.append(rrset)
            elif not name_exists:
                response.set_rcode(dns.rcode.NXDOMAIN)

        try:
            return response.to_wire(want_shuffle=False)
        except dns.exception.TooBig:
            response.answer.clear()
            response.flags |= dns.flags.TC
            return response.to_wire()


def _key(name: str) -> str:
    return name.rstrip(".").lower()


def _quote(piece: bytes) -> str:
    escaped = piece.decode("ascii").replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
