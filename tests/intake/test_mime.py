"""Parsing odd and broken mail: each message yields its documents and defects name the oddities."""

from __future__ import annotations

import io
import os
import struct
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from incasso.intake.mime import Attachment, ParsedMail, decode_text, parse_mail
from incasso.intake.unpack import (
    ZipLimits,
    decompress_rtf,
    is_zip_archive,
    rtf_to_text,
    unpack_tnef,
    unpack_zip,
)

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
TIFF = b"II*\x00" + b"\x00" * 60
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20


def crlf(text: str) -> bytes:
    """Join the lines of ``text`` with CRLF, as mail has them on the wire."""
    return text.strip("\n").replace("\n", "\r\n").encode("utf-8") + b"\r\n"


def base64_lines(data: bytes) -> str:
    import base64

    encoded = base64.b64encode(data).decode("ascii")
    return "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def mail_with(*files: tuple[str, str, bytes], text: str | None = "Zie bijlage.") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "boekhouding@vandamme.example"
    message["To"] = "intake@incasso.test"
    message["Subject"] = "Onbetaalde facturen"
    if text is not None:
        message.set_content(text)
    for filename, content_type, data in files:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


def names(parsed: ParsedMail) -> list[str | None]:
    return [attachment.filename for attachment in parsed.attachments]


def only(parsed: ParsedMail, filename: str) -> Attachment:
    (found,) = [a for a in parsed.attachments if a.filename == filename]
    return found


def zip_archive(*members: tuple[str, bytes], encrypted: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    result = buffer.getvalue()
    for name in encrypted:
        result = mark_encrypted(result, name)
    return result


def mark_encrypted(archive: bytes, name: str) -> bytes:
    """Set the encryption flag of member ``name``; zipfile cannot write encrypted members."""
    patched = bytearray(archive)
    for signature, flags_at, name_length_at, name_at in (
        (b"PK\x03\x04", 6, 26, 30),
        (b"PK\x01\x02", 8, 28, 46),
    ):
        start = patched.find(signature)
        while start >= 0:
            (length,) = struct.unpack_from("<H", patched, start + name_length_at)
            if patched[start + name_at : start + name_at + length] == name.encode():
                patched[start + flags_at] |= 0x1
            start = patched.find(signature, start + 4)
    return bytes(patched)


# A TNEF stream: signature, key, then attributes of (level, id, type, length, data, checksum).
TNEF_MESSAGE, TNEF_ATTACHMENT = 1, 2


def tnef_stream(*attributes: tuple[int, int, bytes]) -> bytes:
    stream = b"\x78\x9f\x3e\x22" + struct.pack("<H", 1)
    for level, attribute_id, data in attributes:
        checksum = sum(data) & 0xFFFF
        stream += struct.pack("<BHHI", level, attribute_id, 0x0006, len(data)) + data
        stream += struct.pack("<H", checksum)
    return stream


def tnef_with_file(name: str, data: bytes, body: bytes = b"") -> bytes:
    attributes = [(TNEF_MESSAGE, 0x9007, struct.pack("<II", 1252, 0))]
    if body:
        attributes.append((TNEF_MESSAGE, 0x800C, body))
    attributes += [
        (TNEF_ATTACHMENT, 0x9002, b"\x00" * 14),
        (TNEF_ATTACHMENT, 0x8010, name.encode("cp1252") + b"\x00"),
        (TNEF_ATTACHMENT, 0x800F, data),
    ]
    return tnef_stream(*attributes)


def tnef_with_rtf_body(compressed_rtf: bytes) -> bytes:
    padding = b"\x00" * (-len(compressed_rtf) % 4)
    properties = struct.pack("<IHHII", 1, 0x0102, 0x1009, 1, len(compressed_rtf))
    return tnef_stream(
        (TNEF_MESSAGE, 0x9007, struct.pack("<II", 1252, 0)),
        (TNEF_MESSAGE, 0x9003, properties + compressed_rtf + padding),
    )


def uncompressed_rtf(rtf: bytes) -> bytes:
    return struct.pack("<IIII", len(rtf) + 12, len(rtf), 0x414C454D, 0) + rtf


def lzfu_rtf(prefix_length: int, rest: bytes) -> bytes:
    """Compress RTF as the first ``prefix_length`` bytes of the dictionary, then literals."""
    tokens: list[tuple[bool, bytes]] = [(True, struct.pack(">H", prefix_length - 2))]
    tokens += [(False, bytes([byte])) for byte in rest]
    end = (207 + prefix_length + len(rest)) % 4096
    tokens.append((True, struct.pack(">H", end << 4)))

    body = bytearray()
    for start in range(0, len(tokens), 8):
        group = tokens[start : start + 8]
        body.append(sum(1 << bit for bit, (is_reference, _) in enumerate(group) if is_reference))
        for _, token in group:
            body += token
    raw_size = prefix_length + len(rest)
    return struct.pack("<IIII", len(body) + 12, raw_size, 0x75465A4C, 0) + bytes(body)


# TNEF (winmail.dat)


def test_tnef_files_become_attachments() -> None:
    winmail = tnef_with_file("Factuur 2026-118.pdf", PDF)
    message = mail_with(("winmail.dat", "application/ms-tnef", winmail))

    parsed = parse_mail(message.as_bytes())

    assert names(parsed) == ["winmail.dat", "Factuur 2026-118.pdf"]
    assert only(parsed, "winmail.dat").unpacked
    pdf = only(parsed, "Factuur 2026-118.pdf")
    assert pdf.data == PDF
    assert pdf.content_type == "application/pdf"
    assert pdf.origin == "winmail.dat"
    assert pdf.display_name == "winmail.dat > Factuur 2026-118.pdf"
    assert [a.filename for a in parsed.documents] == ["Factuur 2026-118.pdf"]


def test_tnef_rtf_body_gives_text() -> None:
    rtf = (
        b"{\\rtf1\\ansi\\ansicpg1252{\\fonttbl{\\f0 Arial;}}"
        b"Openstaand: 120,00 \\'80\\par Graag v\\'f3\\'f3r 1 mei.}"
    )
    winmail = tnef_with_rtf_body(uncompressed_rtf(rtf))
    message = mail_with(("winmail.dat", "application/ms-tnef", winmail), text=None)

    parsed = parse_mail(message.as_bytes())

    assert parsed.text == "Openstaand: 120,00 €\nGraag vóór 1 mei."


def test_tnef_damaged_is_kept_with_defect() -> None:
    # File data before the attribute that starts an attachment: tnefparse cannot place it.
    damaged = tnef_stream((TNEF_ATTACHMENT, 0x800F, PDF))

    result = unpack_tnef(damaged, "winmail.dat")
    parsed = parse_mail(mail_with(("winmail.dat", "application/ms-tnef", damaged)).as_bytes())

    assert result.files == []
    assert "could not be decoded" in result.defects[0]
    assert only(parsed, "winmail.dat").unpacked is False
    assert [a.filename for a in parsed.documents] == ["winmail.dat"]


def test_bare_tnef_input_is_unpacked() -> None:
    parsed = parse_mail(tnef_with_file("Rechnung.pdf", PDF, body=b"Siehe Anhang."))

    assert names(parsed) == ["winmail.dat", "Rechnung.pdf"]
    assert parsed.text == "Siehe Anhang."
    assert any("bare TNEF" in defect for defect in parsed.defects)


def test_lzfu_decompression_uses_dictionary() -> None:
    compressed = lzfu_rtf(6, b" Betaal nu.}")

    assert decompress_rtf(compressed) == b"{\\rtf1 Betaal nu.}"


def test_rtf_text_handles_unicode_and_hidden_groups() -> None:
    rtf = (
        b"{\\rtf1\\uc1{\\*\\generator Riched20;}Bedrag \\u8364? 5\\tab ok\\line{\\pict 0011}einde}"
    )

    assert rtf_to_text(rtf) == "Bedrag € 5\tok\neinde"


# Forwarded messages


def forwarded(inner: EmailMessage, subject: str = "Fwd: factuur") -> EmailMessage:
    outer = mail_with(text="Zie doorgestuurde mail.")
    del outer["Subject"]
    outer["Subject"] = subject
    outer.add_attachment(inner)
    return outer


def test_forwarded_message_attachments_are_taken() -> None:
    inner = mail_with(("factuur-77.pdf", "application/pdf", PDF))
    del inner["Subject"]
    inner["Subject"] = "Factuur 77"

    parsed = parse_mail(forwarded(inner).as_bytes())

    assert names(parsed) == ["attachment-1.eml", "factuur-77.pdf"]
    assert only(parsed, "attachment-1.eml").unpacked
    assert only(parsed, "attachment-1.eml").content_type == "message/rfc822"
    assert only(parsed, "factuur-77.pdf").origin == "forwarded message 'Factuur 77'"
    assert [a.filename for a in parsed.documents] == ["factuur-77.pdf"]
    assert parsed.text.startswith("Zie doorgestuurde mail.")


def test_forwarded_messages_stop_at_depth_limit() -> None:
    message = mail_with(("diep.pdf", "application/pdf", PDF))
    for level in range(4):
        message = forwarded(message, subject=f"niveau {level}")

    parsed = parse_mail(message.as_bytes())

    assert "diep.pdf" not in names(parsed)
    assert [a.unpacked for a in parsed.attachments] == [True, True, True, False]
    assert any("nested more than 3 forwards" in defect for defect in parsed.defects)


def test_eml_file_attachment_is_opened() -> None:
    inner = mail_with(("nota.pdf", "application/pdf", PDF))
    message = mail_with(("origineel.eml", "application/octet-stream", inner.as_bytes()))

    parsed = parse_mail(message.as_bytes())

    assert names(parsed) == ["origineel.eml", "nota.pdf"]
    assert only(parsed, "nota.pdf").origin is not None


# Zip archives


def test_zip_members_become_attachments() -> None:
    archive = zip_archive(("facturen/../2026/f1.pdf", PDF), ("C:\\scans\\f2.tif", TIFF))

    parsed = parse_mail(mail_with(("facturen.zip", "application/zip", archive)).as_bytes())

    assert names(parsed) == ["facturen.zip", "f1.pdf", "f2.tif"]
    assert only(parsed, "facturen.zip").unpacked
    assert only(parsed, "f1.pdf").content_type == "application/pdf"
    assert only(parsed, "f2.tif").content_type == "image/tiff"
    assert only(parsed, "f2.tif").origin == "facturen.zip"
    assert parsed.defects == []


def test_zip_high_ratio_member_rejected() -> None:
    archive = zip_archive(("nullen.bin", b"\x00" * (2 * 1024 * 1024)), ("f1.pdf", PDF))
    assert len(archive) < 20_000

    parsed = parse_mail(mail_with(("x.zip", "application/zip", archive)).as_bytes())

    assert names(parsed) == ["x.zip", "f1.pdf"]
    assert only(parsed, "x.zip").unpacked is False
    assert any("zip bomb" in defect and "nullen.bin" in defect for defect in parsed.defects)


def test_zip_encrypted_member_is_reported() -> None:
    archive = zip_archive(("open.pdf", PDF), ("geheim.pdf", PDF), encrypted=("geheim.pdf",))

    parsed = parse_mail(mail_with(("a.zip", "application/zip", archive)).as_bytes())

    assert names(parsed) == ["a.zip", "open.pdf"]
    assert any("'geheim.pdf'" in defect and "encrypted" in defect for defect in parsed.defects)
    assert [a.filename for a in parsed.documents] == ["a.zip", "open.pdf"]


def test_zip_member_count_limit() -> None:
    archive = zip_archive(*[(f"f{i}.pdf", PDF) for i in range(5)])

    result = unpack_zip(archive, "veel.zip", ZipLimits(max_members=3))

    assert [file.name for file in result.files] == ["f0.pdf", "f1.pdf", "f2.pdf"]
    assert "holds 5 files" in result.defects[0]


def test_zip_total_size_limit() -> None:
    archive = zip_archive(("a.pdf", PDF), ("b.pdf", PDF))

    result = unpack_zip(archive, "groot.zip", ZipLimits(max_total_size=len(PDF) + 1))

    assert [file.name for file in result.files] == ["a.pdf"]
    assert "'b.pdf'" in result.defects[0]


def test_nested_zip_is_not_unpacked() -> None:
    inner = zip_archive(("diep.pdf", PDF))
    outer = zip_archive(("binnen.zip", inner), ("boven.pdf", PDF))

    parsed = parse_mail(mail_with(("buiten.zip", "application/zip", outer)).as_bytes())

    assert names(parsed) == ["buiten.zip", "binnen.zip", "boven.pdf"]
    assert only(parsed, "binnen.zip").unpacked is False
    assert any("'binnen.zip' was not unpacked" in defect for defect in parsed.defects)


def test_damaged_zip_is_kept() -> None:
    damaged = zip_archive(("a.pdf", PDF))[:40]

    parsed = parse_mail(mail_with(("kapot.zip", "application/zip", damaged)).as_bytes())

    assert names(parsed) == ["kapot.zip"]
    assert parsed.documents == parsed.attachments
    assert any("'kapot.zip' could not be read" in defect for defect in parsed.defects)


def test_office_file_is_not_an_archive() -> None:
    docx = zip_archive(("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w/>"))

    assert is_zip_archive(docx) is False
    assert is_zip_archive(zip_archive(("a.pdf", PDF))) is True


# Attachments whatever their disposition


DISPOSITIONS = f"""
From: facturatie@webshop.example
To: intake@incasso.test
Subject: Rechnungen
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/related; boundary="related"

--related
Content-Type: text/html; charset=utf-8

<p>Rechnungen anbei</p><img src="cid:logo@webshop">
--related
Content-Type: image/png
Content-ID: <logo@webshop>
Content-Disposition: inline
Content-Transfer-Encoding: base64

{base64_lines(PNG)}
--related--
--outer
Content-Type: application/pdf; x-unix-mode=0644; name="Rechnung_4711.pdf"
Content-Disposition: inline; filename=Rechnung_4711.pdf
Content-Transfer-Encoding: base64

{base64_lines(PDF)}
--outer
Content-Type: application/octet-stream; name=Rechnung_4712.pdf
Content-Transfer-Encoding: base64

{base64_lines(PDF)}
--outer
Content-Type: application/octet-stream
Content-Disposition: attachment
Content-Transfer-Encoding: base64

{base64_lines(PDF)}
--outer--
"""


def test_pdfs_taken_whatever_their_disposition() -> None:
    parsed = parse_mail(crlf(DISPOSITIONS))

    assert names(parsed) == [
        "attachment-1.png",
        "Rechnung_4711.pdf",
        "Rechnung_4712.pdf",
        "attachment-4.pdf",
    ]
    assert [a.filename for a in parsed.documents] == names(parsed)[1:]
    assert only(parsed, "attachment-1.png").embedded_image
    assert only(parsed, "Rechnung_4712.pdf").content_type == "application/pdf"
    assert only(parsed, "attachment-4.pdf").content_type == "application/pdf"
    assert parsed.html is not None and "Rechnungen anbei" in parsed.html


def test_unreferenced_inline_image_is_a_document() -> None:
    raw = crlf(
        f"""
From: a@scan.example
Subject: scan
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain

scan
--b
Content-Type: image/tiff
Content-ID: <page1>
Content-Disposition: inline
Content-Transfer-Encoding: base64

{base64_lines(TIFF)}
--b--
"""
    )

    parsed = parse_mail(raw)

    assert names(parsed) == ["attachment-1.tif"]
    assert parsed.documents == parsed.attachments


# File names


FILENAMES = """
From: a@b.example
Subject: namen
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain

tekst
--b
Content-Type: application/pdf; name="=?utf-8?B?RmFjdHV1ciDigJMgbWVpLnBkZg==?="

x
--b
Content-Type: application/pdf
Content-Disposition: attachment;
 filename*0*=iso-8859-1''Re%E7u%20n%B0;
 filename*1*=%2012.pdf

x
--b
Content-Type: application/pdf; name=alleen-naam.pdf

x
--b
Content-Type: application/pdf; name="naam.pdf"
Content-Disposition: attachment; filename="bestandsnaam.pdf"

x
--b
Content-Type: application/pdf; name="..\\..\\windows\\evil.pdf"

x
--b
Content-Type: image/jpeg
Content-Location: http://example.com/scans/foto%2012.jpg

x
--b--
"""


def test_filenames_are_decoded() -> None:
    parsed = parse_mail(crlf(FILENAMES))

    assert names(parsed) == [
        "Factuur – mei.pdf",
        "Reçu n° 12.pdf",
        "alleen-naam.pdf",
        "bestandsnaam.pdf",
        "evil.pdf",
        "foto 12.jpg",
    ]


def test_conflicting_names_are_a_defect() -> None:
    parsed = parse_mail(crlf(FILENAMES))

    assert any(
        "'bestandsnaam.pdf' by Content-Disposition but 'naam.pdf'" in defect
        for defect in parsed.defects
    )


@pytest.mark.parametrize(
    ("raw_name", "expected"),
    [
        ("ciële.pdf".encode(), "ciële.pdf"),
        (b"re\xe7u.pdf", "reçu.pdf"),
        ("e\u0301tat.pdf".encode(), "état.pdf"),
    ],
    ids=["utf-8", "latin-1", "decomposed"],
)
def test_raw_8bit_filename(raw_name: bytes, expected: str) -> None:
    raw = (
        b"From: a@b.example\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nhoi\r\n"
        b'--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="'
        + raw_name
        + b'"\r\n\r\nx\r\n--b--\r\n'
    )

    parsed = parse_mail(raw)

    assert names(parsed) == [expected]


def test_filename_with_unknown_rfc2231_charset() -> None:
    raw = crlf(
        """
From: a@b.example
Subject: x
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: application/pdf
Content-Disposition: attachment; filename*=x-bogus''nota%20%E9.pdf

x
--b--
"""
    )

    parsed = parse_mail(raw)

    assert names(parsed) == ["nota é.pdf"]
    assert any("unknown charset 'x-bogus'" in defect for defect in parsed.defects)


# Charsets


def single_text(charset: str, body: bytes, subject: bytes = b"test") -> bytes:
    return (
        b"From: a@b.example\r\nSubject: " + subject + b"\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=" + charset.encode() + b"\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body + b"\r\n"
    )


def test_korean_outlook_charset() -> None:
    parsed = parse_mail(single_text("ks_c_5601-1987", "미납 청구서".encode("cp949")))

    assert parsed.text == "미납 청구서"
    assert parsed.defects == []


@pytest.mark.parametrize("charset", ["NONE", "unknown-8bit", "x-bogus"])
def test_unknown_charset_falls_back(charset: str) -> None:
    parsed = parse_mail(single_text(charset, "Openstaand: 99,00 € – Söhne".encode("cp1252")))

    assert parsed.text == "Openstaand: 99,00 € – Söhne"
    assert any(f"unknown charset {charset.lower()!r}" in defect for defect in parsed.defects)


def test_utf7_body_is_decoded() -> None:
    parsed = parse_mail(single_text("utf-7", "Bedrag: 50 € +AD4 ok".encode("utf-7")))

    assert parsed.text == "Bedrag: 50 € +AD4 ok"


def test_iso2022jp_body_is_decoded() -> None:
    raw = single_text("iso-2022-jp", "請求書".encode("iso-2022-jp"))

    parsed = parse_mail(raw.replace(b"8bit", b"7bit"))

    assert parsed.text == "請求書"


def test_non_text_codec_as_charset() -> None:
    parsed = parse_mail(single_text("base64", "Söhne".encode("cp1252")))

    assert parsed.text == "Söhne"
    assert any("unknown charset 'base64'" in defect for defect in parsed.defects)


def test_undeclared_8bit_body_and_header() -> None:
    raw = b"From: a@b.example\r\nSubject: Fax von M\xfcller\r\n\r\nBetrag 99,00 \x80 S\xf6hne\r\n"

    parsed = parse_mail(raw)

    assert parsed.subject == "Fax von Müller"
    assert parsed.text == "Betrag 99,00 € Söhne"
    assert any("header subject has 8-bit bytes" in defect for defect in parsed.defects)
    assert any("declares no charset" in defect for defect in parsed.defects)


def test_encoded_word_with_unknown_charset() -> None:
    parsed = parse_mail(b"From: a@b.example\r\nSubject: =?NONE?Q?caf=E9?=\r\n\r\nx\r\n")

    assert parsed.subject == "café"
    assert any("unknown charset 'none'" in defect for defect in parsed.defects)


def test_decode_text_never_fails() -> None:
    assert decode_text(b"caf\xc3\xa9", "utf-8") == ("café", None)
    assert decode_text(b"caf\xe9", "us-ascii")[0] == "café"
    assert decode_text(b"caf\xe9", "us-ascii")[1] is not None
    assert decode_text(b"\x81\x8d", None)[0] == "\ufffd\ufffd"


# Structure faults


def test_cr_only_line_ends() -> None:
    raw = crlf(
        f"""
From: a@b.example
Subject: cr
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain

Zie bijlage.
--b
Content-Type: application/pdf; name="f.pdf"
Content-Transfer-Encoding: base64

{base64_lines(PDF)}
--b--
"""
    ).replace(b"\r\n", b"\r")

    parsed = parse_mail(raw)

    assert names(parsed) == ["f.pdf"]
    assert only(parsed, "f.pdf").data == PDF
    assert parsed.text == "Zie bijlage."
    assert parsed.subject == "cr"
    assert any("bare CR line ends" in defect for defect in parsed.defects)


def test_declared_boundary_never_appears() -> None:
    raw = crlf(
        f"""
From: a@b.example
Subject: boundary
Content-Type: multipart/mixed; boundary="verkeerd"

--juist
Content-Type: text/plain

tekst
--juist
Content-Type: application/pdf; name="f.pdf"
Content-Transfer-Encoding: base64

{base64_lines(PDF)}
--juist--
"""
    )

    parsed = parse_mail(raw)

    assert names(parsed) == ["f.pdf"]
    assert parsed.text == "tekst"
    assert any("'verkeerd' never appears" in defect for defect in parsed.defects)


def test_body_containing_boundary_string() -> None:
    raw = crlf(
        """
From: a@b.example
Subject: x
Content-Type: multipart/mixed; boundary="grens"

--grens
Content-Type: text/plain

regel met --grens-achtig erin
 --grens
--grens
Content-Type: application/pdf; name="f.pdf"

%PDF-1.4 x
--grens--
"""
    )

    parsed = parse_mail(raw)

    assert names(parsed) == ["f.pdf"]
    assert "--grens-achtig" in parsed.text


def test_multipart_without_boundary_is_text() -> None:
    raw = crlf(
        """
From: a@b.example
Subject: geen grens
Content-Type: multipart/alternative;

Blah blah blah
"""
    )

    parsed = parse_mail(raw)

    assert parsed.text == "Blah blah blah"
    assert parsed.attachments == []
    assert any("NoBoundaryInMultipartDefect" in defect for defect in parsed.defects)


def test_nested_multipart_without_boundary_is_recovered() -> None:
    raw = crlf(
        f"""
From: a@b.example
Subject: x
Content-Type: multipart/mixed; boundary="buiten"

--buiten
Content-Type: multipart/mixed

--binnen
Content-Type: application/pdf; name="f.pdf"
Content-Transfer-Encoding: base64

{base64_lines(PDF)}
--binnen--
--buiten--
"""
    )

    parsed = parse_mail(raw)

    assert names(parsed) == ["f.pdf"]
    assert any("'binnen' that its body uses" in defect for defect in parsed.defects)


def test_part_headers_without_blank_line() -> None:
    raw = crlf(
        """
From: a@b.example
Subject: x
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain
bar
--b
Content-Type: application/pdf; name="f.pdf"

%PDF-1.4 x
--b--
"""
    )

    parsed = parse_mail(raw)

    assert names(parsed) == ["f.pdf"]
    assert any("MissingHeaderBodySeparatorDefect" in defect for defect in parsed.defects)


@pytest.mark.parametrize(
    ("raw", "defect"),
    [
        (b"", "empty (0 bytes)"),
        (b"\r\n\r\n", "empty"),
        (b"From: a@b.example\r\nSubject: alleen koppen\r\n", "headers but no body"),
        (b"This is not a valid eml.\n", "does not start with mail headers"),
    ],
    ids=["zero-bytes", "blank-lines", "headers-only", "not-a-mail"],
)
def test_degenerate_messages(raw: bytes, defect: str) -> None:
    parsed = parse_mail(raw)

    assert parsed.attachments == []
    assert any(defect in line for line in parsed.defects)


def test_pdf_file_instead_of_mail() -> None:
    parsed = parse_mail(PDF)

    assert names(parsed) == ["message.pdf"]
    assert parsed.attachments[0].content_type == "application/pdf"


def test_top_level_forwarded_message() -> None:
    inner = mail_with(("f.pdf", "application/pdf", PDF))
    raw = b"From: a@b.example\r\nSubject: doorgestuurd\r\nContent-Type: message/rfc822\r\n\r\n"

    parsed = parse_mail(raw + inner.as_bytes())

    assert names(parsed) == ["attachment-1.eml", "f.pdf"]


def test_external_body_is_reported() -> None:
    raw = crlf(
        """
From: a@b.example
Subject: x
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: message/external-body; access-type=anon-ftp; name="f.pdf"

Content-Type: application/pdf

--b--
"""
    )

    parsed = parse_mail(raw)

    assert parsed.attachments == []
    assert any("external-body (access type anon-ftp)" in defect for defect in parsed.defects)


def test_empty_named_attachment_is_kept() -> None:
    message = mail_with(("leeg.pdf", "application/pdf", b""))

    parsed = parse_mail(message.as_bytes())

    assert names(parsed) == ["leeg.pdf"]
    assert any("'leeg.pdf'" in defect and "empty" in defect for defect in parsed.defects)


# Headers the strict parser raises on


def test_exchange_message_id_keeps_attachments() -> None:
    raw = crlf(
        f"""
From: a@b.example
Message-ID: <[83c4f0e2a1b2c3d4e5f60718293a4b5c-JFBVALKQOJXWILKNK4YVA7===@microsoft.com]>
In-Reply-To: <[aa11bb22-CCDD@microsoft.com]>
Subject: factuur
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: application/pdf; name="f.pdf"
Content-Transfer-Encoding: base64

{base64_lines(PDF)}
--b--
"""
    )

    parsed = parse_mail(raw)

    assert parsed.message_id is not None and parsed.message_id.startswith("<[83c4")
    assert parsed.in_reply_to == ["<[aa11bb22-CCDD@microsoft.com]>"]
    assert names(parsed) == ["f.pdf"]


def test_bare_name_star_parameter_keeps_attachment() -> None:
    raw = crlf(
        f"""
From: a@b.example
Subject: x
Content-Type: application/pdf; name*
Content-Transfer-Encoding: base64

{base64_lines(PDF)}
"""
    )

    parsed = parse_mail(raw)

    assert names(parsed) == ["attachment-1.pdf"]
    assert parsed.attachments[0].data == PDF


def test_unterminated_quote_in_to() -> None:
    message = mail_with(("f.pdf", "application/pdf", PDF))
    raw = message.as_bytes().replace(b"To: intake@incasso.test", b'To: "')

    parsed = parse_mail(raw)

    assert parsed.to == []
    assert names(parsed) == ["f.pdf"]


# Delivery reports


DSN = """
From: MAILER-DAEMON@mx.example.net
To: herinnering@incasso.test
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type=delivery-status; boundary="r"

--r
Content-Type: text/plain

Your message could not be delivered.
--r
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; schuldenaar@example.com
Action: failed
Status: 5.1.1

--r
Content-Type: text/rfc822-headers

Message-ID: <rem-2026-00123-1@incasso.test>
Subject: Herinnering

--r--
"""


def test_report_parts_kept_apart() -> None:
    parsed = parse_mail(crlf(DSN))

    assert parsed.attachments == []
    assert [part.content_type for part in parsed.report_parts] == [
        "message/delivery-status",
        "text/rfc822-headers",
    ]
    status, headers = parsed.report_parts
    assert status.field_blocks()[1]["status"] == "5.1.1"
    assert status.field_blocks()[1]["final-recipient"] == "rfc822; schuldenaar@example.com"
    assert headers.field_blocks()[0]["message-id"] == "<rem-2026-00123-1@incasso.test>"
    assert parsed.text == "Your message could not be delivered."


def test_returned_message_in_report_is_not_a_submission() -> None:
    original = mail_with(("herinnering.pdf", "application/pdf", PDF))
    report = EmailMessage()
    report["From"] = "postmaster@example.com"
    report["Subject"] = "Undeliverable"
    report.set_content("Delivery failed.")
    report.add_attachment(original)
    report.replace_header("Content-Type", report["Content-Type"].replace("mixed", "report"))

    parsed = parse_mail(report.as_bytes())

    assert parsed.attachments == []
    assert [part.content_type for part in parsed.report_parts] == ["message/rfc822"]


# The real-world corpus


CORPUS = Path(os.environ.get("INCASSO_CORPUS", "/nonexistent"))
MAIL_SUFFIXES = {".eml", ".msg", ".dat", ".txt"}
CORPUS_MAILS = (
    sorted(
        path.relative_to(CORPUS).as_posix()
        for path in CORPUS.rglob("*")
        if path.is_file() and path.suffix.lower() in MAIL_SUFFIXES
    )
    if CORPUS.is_dir()
    else ["(INCASSO_CORPUS is not set)"]
)


@pytest.mark.corpus
@pytest.mark.parametrize("name", CORPUS_MAILS)
def test_corpus_mail_parses(name: str) -> None:
    parsed = parse_mail((CORPUS / name).read_bytes())

    assert all(attachment.filename for attachment in parsed.attachments)
    assert all(
        not attachment.content_type.startswith(("message/delivery", "text/rfc822-headers"))
        for attachment in parsed.attachments
    )
