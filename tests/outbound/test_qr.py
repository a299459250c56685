"""The EPC payment QR code: what a banking app reads from it, and when a notice has none."""

from __future__ import annotations

import base64
import dataclasses
import io
from decimal import Decimal

import pytest
import zxingcpp
from PIL import Image

from incasso.cases.ladder import LadderStep
from incasso.cases.law import DebtorKind
from incasso.outbound.notice import MissingMentionError
from incasso.outbound.qr import (
    EpcPayment,
    epc_payment,
    make_epc_qr,
    qr_png,
    qr_svg_data_uri,
)
from tests.outbound.notices import AGENCY, BUSINESS_CHARGES, OGM, make_notice


def decode_png(png: bytes) -> list[bytes]:
    """Return the payload of every QR code zxing-cpp finds in ``png``."""
    image = Image.open(io.BytesIO(png)).convert("L")
    return [result.bytes for result in zxingcpp.read_barcodes(image)]


def test_qr_decodes_to_epc_payload() -> None:
    payment = epc_payment(make_notice())
    assert payment is not None

    payloads = decode_png(qr_png(make_epc_qr(payment)))

    assert payloads == [
        b"BCD\n002\n2\nSCT\nGKCCBEBB\nInvorderkantoor Zilvermeeuw BV\n"
        b"BE71096123456769\nEUR1300.00\n\n" + OGM.encode()
    ]


def test_qr_amount_is_the_total_due_with_charges() -> None:
    notice = make_notice(
        step=LadderStep.SECOND_REMINDER,
        debtor_kind=DebtorKind.ENTERPRISE,
        charges=BUSINESS_CHARGES,
        amount_paid=Decimal("0.30"),
    )

    payment = epc_payment(notice)

    assert payment is not None
    assert payment.amount == Decimal("1356.40")
    (payload,) = decode_png(qr_png(make_epc_qr(payment)))
    assert b"\nEUR1356.40\n" in payload


def test_qr_beneficiary_with_accents_uses_latin1() -> None:
    agency = dataclasses.replace(AGENCY, name="Bureau Sérénité SRL")
    payment = epc_payment(make_notice(agency=agency))
    assert payment is not None

    (payload,) = decode_png(qr_png(make_epc_qr(payment)))

    assert payload.split(b"\n")[2] == b"2"  # character set 2: ISO 8859-1
    assert "Bureau Sérénité SRL".encode("iso-8859-1") in payload


def test_qr_without_bic_leaves_line_empty() -> None:
    payment = epc_payment(make_notice(agency=dataclasses.replace(AGENCY, bic="")))
    assert payment is not None

    (payload,) = decode_png(qr_png(make_epc_qr(payment)))

    assert payload.split(b"\n")[4] == b""


def test_qr_none_for_other_currency() -> None:
    assert epc_payment(make_notice(currency="USD")) is None


def test_qr_none_above_epc_maximum() -> None:
    invoices = [dataclasses.replace(make_notice().invoices[0], amount=Decimal("1000000000.00"))]

    assert epc_payment(make_notice(invoices=invoices)) is None


def test_qr_smallest_amount() -> None:
    invoices = [dataclasses.replace(make_notice().invoices[0], amount=Decimal("0.01"))]

    payment = epc_payment(make_notice(invoices=invoices))

    assert payment is not None
    assert payment.amount == Decimal("0.01")


INVALID_PAYMENTS = [
    ({"iban": "BE71096123456760"}, "agency IBAN 'BE71096123456760' is invalid"),
    ({"bic": "GKCCBEB"}, "agency BIC 'GKCCBEB' is invalid"),
    ({"reference": "202600001712"}, "is not a valid structured communication"),
    ({"beneficiary": "X" * 71}, "must have 1 to 70 characters"),
    ({"beneficiary": ""}, "must have 1 to 70 characters"),
]


@pytest.mark.parametrize(("changes", "message"), INVALID_PAYMENTS)
def test_qr_rejects_invalid_fields(changes: dict[str, object], message: str) -> None:
    payment = EpcPayment(
        beneficiary=AGENCY.name,
        iban=AGENCY.iban,
        bic=AGENCY.bic,
        amount=Decimal("10.00"),
        reference=OGM,
    )

    with pytest.raises(MissingMentionError, match=message):
        make_epc_qr(dataclasses.replace(payment, **changes))  # type: ignore[arg-type]


def test_qr_svg_data_uri_draws_each_dark_module() -> None:
    payment = epc_payment(make_notice())
    assert payment is not None
    code = make_epc_qr(payment)

    uri = qr_svg_data_uri(code)

    prefix = "data:image/svg+xml;base64,"
    assert uri.startswith(prefix)
    svg = base64.b64decode(uri.removeprefix(prefix)).decode()
    side = code.width + 8
    assert f'viewBox="0 0 {side} {side}"' in svg
    dark = sum(1 for pixel in code.pixels if pixel == 0)
    assert svg.count("h1v1h-1z") == dark


def test_qr_beneficiary_outside_latin1_uses_utf8() -> None:
    agency = dataclasses.replace(AGENCY, name="Łukasz Invordering BV")
    payment = epc_payment(make_notice(agency=agency))
    assert payment is not None

    (payload,) = decode_png(qr_png(make_epc_qr(payment)))

    assert payload.split(b"\n")[2] == b"1"  # character set 1: UTF-8
    assert "Łukasz Invordering BV".encode() in payload


def test_qr_png_keeps_a_quiet_zone_of_four_modules() -> None:
    payment = epc_payment(make_notice())
    assert payment is not None
    code = make_epc_qr(payment)

    image = Image.open(io.BytesIO(qr_png(code))).convert("L")

    margin = 4 * 5  # four modules of five pixels
    assert image.width == (code.width + 8) * 5
    band = image.crop((0, 0, image.width, margin))
    assert band.getextrema() == (255, 255)
    assert image.getpixel((margin, margin)) == 0  # corner of the finder pattern
