"""Reading a stored message on the web: escaped text, cleaned HTML, files only as downloads."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any
from urllib.parse import quote

import pytest
from lxml import html as lxml_html

from incasso.app.context import Application
from incasso.review.pages.messages import content_disposition
from tests.builders import active_case
from tests.intake.test_process import take_in
from tests.review.conftest import StaffClient

HOSTILE_HTML = """<html><head><title>Factuur</title>
<style>body { display: none }</style></head>
<body onload="steal()">
<p onclick="alert('klik')">Beste, zie <b>hieronder</b>.</p>
<script>alert('script')</script>
<a href="javascript:alert('link')">bekijk de betaling</a>
<a href="https://bank.example/betaling">bankbewijs</a>
<img src="https://tracker.example/pixel.gif?who=els" alt="">
<iframe src="https://tracker.example/frame"></iframe>
<form action="https://tracker.example/form"><input name="pw"></form>
</body></html>"""
PDF = b"%PDF-1.4\n% a stand-in for a payment proof\n%%EOF\n"


def html_mail() -> bytes:
    message = EmailMessage()
    message["From"] = "Jan Peeters <jan.peeters@home.example>"
    message["To"] = "dossiers@incasso.test"
    message["Subject"] = "Betaling factuur"
    message["Date"] = "Mon, 16 Nov 2026 09:15:00 +0100"
    message.set_content(HOSTILE_HTML, subtype="html")
    return message.as_bytes()


def mail_with_files() -> bytes:
    message = EmailMessage()
    message["From"] = "jan.peeters@home.example"
    message["To"] = "dossiers@incasso.test"
    message["Subject"] = "Bewijs van betaling"
    message.set_content("Zie de bijlagen.")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="bewijs été.pdf")
    message.add_attachment(
        b"<script>alert(1)</script>", maintype="text", subtype="html", filename="uitleg.html"
    )
    return message.as_bytes()


def by_class(element: Any, name: str) -> list[Any]:
    """The elements under ``element`` that carry CSS class ``name``."""
    found = element.xpath(f".//*[contains(concat(' ', normalize-space(@class), ' '), ' {name} ')]")
    return list(found)


@pytest.fixture
def two_cases(app: Application) -> None:
    # Two open cases of the sender keep the mail unmatched: intake cannot tell which one.
    active_case(app, email="jan.peeters@home.example", debtor_name="Jan Peeters")
    active_case(app, email="jan.peeters@home.example", debtor_name="Jan Peeters")


def test_hostile_html_body_is_cleaned(
    app: Application, two_cases: None, client: StaffClient
) -> None:
    row_id = take_in(app, html_mail())

    response = client.get(f"/messages/{row_id}")

    assert response.status_code == 200
    page = lxml_html.fromstring(response.text)
    (body,) = by_class(page, "mail-html")
    assert body.text_content().count("hieronder") == 1
    dangerous = ".//script | .//style | .//img | .//iframe | .//form | .//input | .//title"
    assert body.xpath(dangerous) == []
    links = body.xpath(".//a")
    assert [a.get("href") for a in links] == [None, "https://bank.example/betaling"]
    assert {a.get("rel") for a in links} == {"noopener noreferrer"}
    for element in body.iter():
        assert not [name for name in element.attrib if name.startswith("on")]
        assert "style" not in element.attrib
    for needle in ("tracker.example", "alert(", "javascript:", "onclick", "steal()"):
        assert needle not in response.text
    assert "img-src 'self'" in response.headers["content-security-policy"]


def test_headers_and_attachments_are_listed(
    app: Application, two_cases: None, client: StaffClient
) -> None:
    row_id = take_in(app, mail_with_files())

    page = lxml_html.fromstring(client.get(f"/messages/{row_id}").text)

    assert by_class(page, "message-from")[0].text_content() == "jan.peeters@home.example"
    assert by_class(page, "message-subject")[0].text_content() == "Bewijs van betaling"
    (table,) = by_class(page, "attachments")
    rows = [
        [cell.text_content().split("(")[0].strip() for cell in row.xpath("./td")]
        for row in table.xpath("./tbody/tr")
    ]
    assert rows == [
        ["bewijs été.pdf", "application/pdf", f"{len(PDF)} bytes"],
        ["uitleg.html", "text/html", "25 bytes"],
    ]


def test_attachment_is_a_download_that_is_never_sniffed(
    app: Application, two_cases: None, client: StaffClient
) -> None:
    row_id = take_in(app, mail_with_files())

    pdf = client.get(f"/messages/{row_id}/attachments/0")
    page = client.get(f"/messages/{row_id}/attachments/1")

    assert pdf.content == PDF
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == (
        "attachment; filename=\"bewijs _t_.pdf\"; filename*=UTF-8''" + quote("bewijs été.pdf")
    )
    for response in (pdf, page):
        assert response.headers["content-disposition"].startswith("attachment;")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"] == "sandbox"
    assert page.headers["content-type"].startswith("text/html")


def test_original_message_downloads_as_eml(
    app: Application, two_cases: None, client: StaffClient
) -> None:
    raw = mail_with_files()
    row_id = take_in(app, raw)

    response = client.get(f"/messages/{row_id}/raw")

    assert response.content == raw
    assert response.headers["content-type"] == "message/rfc822"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert f"message-{row_id}.eml" in response.headers["content-disposition"]
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path", ["/messages/{id}", "/messages/{id}/attachments/0", "/messages/{id}/raw"]
)
def test_signed_out_gets_no_bytes(
    app: Application, two_cases: None, anonymous: StaffClient, path: str
) -> None:
    row_id = take_in(app, mail_with_files())

    response = anonymous.get(path.format(id=row_id), follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?next=")
    assert PDF not in response.content
    assert b"Bewijs van betaling" not in response.content


@pytest.mark.parametrize(
    "path",
    ["/messages/4242", "/messages/4242/raw", "/messages/4242/attachments/0", "/unmatched/4242"],
)
def test_unknown_message_is_not_found(client: StaffClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_missing_attachment_number_is_not_found(
    app: Application, two_cases: None, client: StaffClient
) -> None:
    row_id = take_in(app, mail_with_files())

    assert client.get(f"/messages/{row_id}/attachments/2").status_code == 404
    assert client.get(f"/messages/{row_id}/attachments/-1").status_code == 404


def test_odd_file_name_stays_inside_the_header() -> None:
    header = content_disposition('../../rapport"; x=1\r\n.pdf')

    assert "\r" not in header
    assert "\n" not in header
    assert header.startswith('attachment; filename="rapport__ x_1__.pdf"; ')


def test_message_of_a_case_leads_back_to_the_case(app: Application, client: StaffClient) -> None:
    reference = active_case(app, email="jan.peeters@home.example", debtor_name="Jan Peeters")
    row_id = take_in(app, mail_with_files())  # the sender's only open case takes it

    page = client.get(f"/messages/{row_id}").text

    assert f'<a href="/cases/{reference}">' in page
