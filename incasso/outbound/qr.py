"""The EPC payment QR code ("SEPA QR", "GiroCode") printed beside a notice's payment details.

A banking app that scans it fills in a SEPA credit transfer: the agency as
beneficiary, the IBAN and BIC of its third-party account, the total due in
euros and the structured communication. The 12 digits of the Belgian
structured communication (OGM) go in the structured-reference line of the
payload, without ``+++`` or slashes, and the notice prints the same
communication in clear next to the code.

The EPC format carries euros only, from 0.01 to 999 999 999.99, so a notice in
another currency or with an amount outside that range gets no QR code. The
IBAN, BIC, reference and name length are validated before encoding, since a
banking app rejects a code with any of them wrong. The code itself comes from
zxing-cpp's encoder (C++), about ten times faster than a pure-Python one, which
matters when a dispatch run renders thousands of notices.
"""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass
from decimal import Decimal

import zxingcpp
from PIL import Image, ImageOps
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban

from incasso.cases.law import is_valid_ogm
from incasso.outbound.mentions import is_valid_bic, is_valid_iban
from incasso.outbound.notice import MissingMentionError, Notice

logger = logging.getLogger(__name__)

EPC_CURRENCY = "EUR"
EPC_MIN_AMOUNT = Decimal("0.01")
EPC_MAX_AMOUNT = Decimal("999999999.99")
# Maximum length of the beneficiary name in an EPC payload.
EPC_MAX_NAME_LENGTH = 70
CENT = Decimal("0.01")

# Size of one QR module in pixels (PNG for e-mail) and in SVG user units (letter);
# the border is the quiet zone of four modules that scanners need.
PNG_MODULE_PIXELS = 5
SVG_MODULE_UNITS = 4
QUIET_ZONE_MODULES = 4
WHITE = 255
# EPC character set codes: ISO 8859-1 where the text fits, else UTF-8.
EPC_LATIN1 = "2"
EPC_UTF8 = "1"


@dataclass(frozen=True)
class QrMatrix:
    """The modules of a QR code without quiet zone, one byte per module: 0 dark, 255 light."""

    width: int
    height: int
    pixels: bytes


@dataclass(frozen=True)
class EpcPayment:
    """The fields of one EPC credit transfer, validated."""

    beneficiary: str
    iban: str
    bic: str | None
    amount: Decimal
    # The 12 digits of the structured communication.
    reference: str


def epc_payment(notice: Notice) -> EpcPayment | None:
    """Return the transfer that pays ``notice``, or None when the EPC format cannot carry it.

    Raises MissingMentionError when the IBAN, BIC, structured communication or
    beneficiary name is invalid.
    """
    amount = notice.total_due.quantize(CENT)
    if notice.currency != EPC_CURRENCY:
        logger.info(
            "no EPC QR code for case %s: currency %s is not EUR",
            notice.case_reference,
            notice.currency,
        )
        return None
    if not EPC_MIN_AMOUNT <= amount <= EPC_MAX_AMOUNT:
        logger.info(
            "no EPC QR code for case %s: amount %s is outside %s to %s",
            notice.case_reference,
            amount,
            EPC_MIN_AMOUNT,
            EPC_MAX_AMOUNT,
        )
        return None

    agency = notice.agency
    payment = EpcPayment(
        beneficiary=agency.name.strip(),
        iban=stdnum_iban.compact(agency.iban),
        bic=stdnum_bic.compact(agency.bic) if agency.bic else None,
        amount=amount,
        reference=notice.payment_reference,
    )
    validate_payment(payment)
    return payment


def validate_payment(payment: EpcPayment) -> None:
    """Raise MissingMentionError naming the first field of ``payment`` a bank would reject."""
    if not payment.beneficiary or len(payment.beneficiary) > EPC_MAX_NAME_LENGTH:
        raise MissingMentionError(
            f"agency name {payment.beneficiary!r} cannot be the beneficiary of a QR code: "
            f"it must have 1 to {EPC_MAX_NAME_LENGTH} characters; shorten INCASSO_AGENCY__NAME"
        )
    if not is_valid_iban(payment.iban):
        raise MissingMentionError(
            f"agency IBAN {payment.iban!r} is invalid; set INCASSO_AGENCY__IBAN to a valid IBAN"
        )
    if payment.bic is not None and not is_valid_bic(payment.bic):
        raise MissingMentionError(
            f"agency BIC {payment.bic!r} is invalid; set INCASSO_AGENCY__BIC to a valid BIC"
        )
    if not is_valid_ogm(payment.reference):
        raise MissingMentionError(
            f"payment reference {payment.reference!r} is not a valid structured communication; "
            "expected 12 digits as made by make_ogm()"
        )


def epc_payload(payment: EpcPayment) -> bytes:
    """Return the EPC payload of ``payment``: version 002 lines, ISO 8859-1 when it fits."""
    lines = [
        "BCD",
        "002",
        "",  # the character set, filled in below
        "SCT",
        payment.bic or "",
        payment.beneficiary,
        payment.iban,
        f"{EPC_CURRENCY}{payment.amount.quantize(CENT)}",
        "",  # purpose code
        payment.reference,
    ]
    lines[2] = EPC_LATIN1
    try:
        return "\n".join(lines).encode("iso-8859-1")
    except UnicodeEncodeError:
        lines[2] = EPC_UTF8
        return "\n".join(lines).encode("utf-8")


def make_epc_qr(payment: EpcPayment) -> QrMatrix:
    """Encode ``payment`` as an EPC QR code (version 002, error correction level M)."""
    validate_payment(payment)
    barcode = zxingcpp.create_barcode(
        epc_payload(payment), zxingcpp.BarcodeFormat.QRCode, ec_level="M"
    )
    image = zxingcpp.write_barcode_to_image(barcode, scale=1, add_quiet_zones=False)
    height, width = image.shape
    # zxing-cpp's Image offers the buffer protocol, which its type stubs leave out.
    return QrMatrix(width, height, bytes(image))  # type: ignore[call-overload]


def qr_png(code: QrMatrix) -> bytes:
    """Return ``code`` as a black-and-white PNG image, for an inline image of an e-mail."""
    # Convert to one bit before scaling: the conversion dithers pixel by pixel, and the
    # unscaled code has 25 times fewer pixels.
    image = Image.frombytes("L", (code.width, code.height), code.pixels).convert("1")
    image = ImageOps.expand(image, border=QUIET_ZONE_MODULES, fill=WHITE)
    size = (image.width * PNG_MODULE_PIXELS, image.height * PNG_MODULE_PIXELS)
    image = image.resize(size, Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg_data_uri(code: QrMatrix) -> str:
    """Return ``code`` as an SVG ``data:`` URI, for the image of a PDF letter."""
    side = code.width + 2 * QUIET_ZONE_MODULES
    squares = "".join(
        f"M{column + QUIET_ZONE_MODULES} {row + QUIET_ZONE_MODULES}h1v1h-1z"
        for row in range(code.height)
        for column in range(code.width)
        if code.pixels[row * code.width + column] < WHITE
    )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" '
        f'width="{side * SVG_MODULE_UNITS}" height="{side * SVG_MODULE_UNITS}" '
        'shape-rendering="crispEdges">'
        f'<rect width="{side}" height="{side}" fill="#fff"/><path d="{squares}" fill="#000"/></svg>'
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("ascii")).decode("ascii")
