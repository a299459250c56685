"""The data classes of a parsed mail, and the state of one walk over its MIME parts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message

from incasso.intake.mime_decode import read_header_block


@dataclass(frozen=True)
class Attachment:
    """A file carried by a message.

    ``origin`` names the containers it was taken out of, outermost first (``"scan.zip"``,
    ``"forwarded message 'Factuur' > winmail.dat"``), or is None for a file of the
    message itself. ``unpacked`` marks a container whose files all follow as
    attachments of their own. ``embedded_image`` marks an image that the HTML body
    shows through a ``cid:`` reference, such as a logo.
    """

    filename: str | None
    content_type: str
    data: bytes
    origin: str | None = None
    unpacked: bool = False
    embedded_image: bool = False

    @property
    def display_name(self) -> str:
        """Return the file name with the containers it came from, for reviewers and logs."""
        name = self.filename or self.content_type
        return f"{self.origin} > {name}" if self.origin else name


@dataclass(frozen=True)
class ReportPart:
    """A machine-readable part of a delivery or read report (RFC 3464, RFC 8098), as text."""

    content_type: str
    text: str

    def field_blocks(self) -> list[dict[str, str]]:
        """Split the text into blocks of header fields: lower-case names, unfolded values."""
        blocks: list[dict[str, str]] = []
        for chunk in re.split(r"\r?\n[ \t]*\r?\n", self.text):
            fields = read_header_block(chunk.encode("utf-8"))
            if fields:
                blocks.append({name: values[0] for name, values in fields.items()})
        return blocks


@dataclass
class ParsedMail:
    """The parts of one message that intake uses."""

    message_id: str | None = None
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    subject: str = ""
    from_address: str | None = None
    from_name: str | None = None
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    delivered_to: list[str] = field(default_factory=list)
    # Every header by lower-case name, raw values in order of appearance.
    headers: dict[str, list[str]] = field(default_factory=dict)
    content_type: str = "text/plain"
    text: str = ""
    html: str | None = None
    # Every file of the message, including unpacked containers and embedded images.
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    report_parts: list[ReportPart] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """Return the first raw value of header ``name``, or None."""
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def documents(self) -> list[Attachment]:
        """Return the attachments to extract invoices from: no unpacked containers or logos."""
        return [a for a in self.attachments if not a.unpacked and not a.embedded_image]


@dataclass(frozen=True)
class Context:
    """Position of a part: the containers around it and how deeply they nest."""

    origin: str | None = None
    forward_depth: int = 0
    archive_depth: int = 0
    container_depth: int = 0

    def inside(self, label: str, *, forward: bool = False, archive: bool = False) -> Context:
        return Context(
            origin=f"{self.origin} > {label}" if self.origin else label,
            forward_depth=self.forward_depth + forward,
            archive_depth=self.archive_depth + archive,
            container_depth=self.container_depth + 1,
        )


@dataclass
class Walk:
    """State of one walk over a message tree."""

    parsed: ParsedMail
    content_ids: set[str] = field(default_factory=set)
    body_parts: list[tuple[Message, str]] = field(default_factory=list)
    tnef_texts: list[str] = field(default_factory=list)
    unpacked_bytes: int = 0
