"""A template that drops a mandatory mention cannot send a notice, whatever the step or medium."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import ChoiceLoader, DictLoader, PackageLoader

import incasso
from incasso.cases.ladder import NOTICE_STEPS, LadderStep
from incasso.cases.law import Channel
from incasso.outbound.letter_pdf import render_letter
from incasso.outbound.render import MissingMentionError, render_letter_page, render_message
from tests.outbound.notices import BUSINESS_CHARGES, make_notice

TEMPLATES = Path(incasso.__file__).parent / "templates"
WRITTEN_STEPS = sorted(NOTICE_STEPS)


def loader_with(overrides: dict[str, str]) -> ChoiceLoader:
    """Return a loader serving ``overrides`` by name, and the packaged templates otherwise."""
    return ChoiceLoader([DictLoader(overrides), PackageLoader("incasso", "templates")])


def without_lines(name: str, marker: str) -> str:
    """Return the packaged template ``name`` without the lines that contain ``marker``."""
    source = (TEMPLATES / name).read_text(encoding="utf-8")
    broken = "\n".join(line for line in source.splitlines() if marker not in line)
    assert broken != source, f"{marker!r} not found in {name}"
    return broken


def replaced(name: str, old: str, new: str) -> str:
    """Return the packaged template ``name`` with ``old`` replaced by ``new``, if it has any."""
    return (TEMPLATES / name).read_text(encoding="utf-8").replace(old, new)


@pytest.mark.parametrize("step", WRITTEN_STEPS)
def test_packaged_step_templates_pass(step: LadderStep) -> None:
    message = render_message(make_notice(step=step), loader=loader_with({}))

    assert message.subject == "Dossier 2026-00017 – Bakkerij De Kruimel"


@pytest.mark.parametrize("step", WRITTEN_STEPS)
def test_step_html_without_layout_is_caught(step: LadderStep) -> None:
    broken = {f"mail/{step}.html.j2": "<html><body>{{ total_due }} {{ payment.ogm }}</body></html>"}

    with pytest.raises(MissingMentionError) as raised:
        render_message(make_notice(step=step), loader=loader_with(broken))

    assert "HTML part lacks the mandatory mention creditor name" in str(raised.value)
    assert f"mail/{step}.html.j2" in str(raised.value)


@pytest.mark.parametrize("step", WRITTEN_STEPS)
def test_step_text_without_layout_is_caught(step: LadderStep) -> None:
    broken = {f"mail/{step}.txt.j2": "{{ reference }}: {{ total_due }}"}

    with pytest.raises(MissingMentionError, match="plain-text part lacks the mandatory mention"):
        render_message(make_notice(step=step), loader=loader_with(broken))


@pytest.mark.parametrize("step", WRITTEN_STEPS)
def test_step_subject_without_reference_is_caught(step: LadderStep) -> None:
    broken = {f"mail/{step}_subject.txt.j2": "{{ creditor.name }}"}

    with pytest.raises(MissingMentionError, match="lacks the case reference 2026-00017"):
        render_message(make_notice(step=step), loader=loader_with(broken))


@pytest.mark.parametrize("step", WRITTEN_STEPS)
def test_step_without_term_end_is_caught(step: LadderStep) -> None:
    broken = {
        name: replaced(name, "end=term_end", 'end=""')
        for name in ("mail/notice_blocks.html.j2", f"mail/{step}.html.j2")
    }

    with pytest.raises(MissingMentionError, match="HTML part lacks the mandatory mention term end"):
        render_message(make_notice(step=step), loader=loader_with(broken))


@pytest.mark.parametrize("step", WRITTEN_STEPS)
def test_step_without_charge_lines_is_caught(step: LadderStep) -> None:
    name = "mail/notice_blocks.txt.j2"
    broken = {name: replaced(name, "{{ field(charge.label, charge.amount) }}", "")}
    notice = make_notice(step=step, debtor_kind="enterprise", charges=BUSINESS_CHARGES)

    with pytest.raises(MissingMentionError, match="charge Forfaitaire vergoeding voor factuur"):
        render_message(notice, loader=loader_with(broken))


def test_missing_qr_image_is_caught() -> None:
    broken = {"mail/notice_blocks.html.j2": without_lines("mail/notice_blocks.html.j2", "<img ")}

    with pytest.raises(MissingMentionError, match="lacks the payment QR code image"):
        render_message(make_notice(), loader=loader_with(broken), qr_src="cid:qr.1@x.test")


@pytest.mark.parametrize("step", WRITTEN_STEPS)
def test_letter_without_address_is_caught(step: LadderStep) -> None:
    broken = {"letter/notice.html.j2": without_lines("letter/notice.html.j2", "{{ line }}")}
    notice = make_notice(step=step, channel=Channel.POST)

    with pytest.raises(MissingMentionError, match="letter lacks the mandatory mention debtor"):
        render_letter_page(notice, loader=loader_with(broken))


@pytest.mark.parametrize("step", WRITTEN_STEPS)
def test_letter_without_supervisor_is_caught(step: LadderStep) -> None:
    broken = {"letter/notice.html.j2": without_lines("letter/notice.html.j2", "blocks.legal()")}
    notice = make_notice(step=step, channel=Channel.POST, language="de")

    with pytest.raises(MissingMentionError) as raised:
        render_letter(notice, "nl", loader=loader_with(broken))

    assert "letter lacks the mandatory mention creditor enterprise number" in str(raised.value)
    assert "letter/notice.html.j2" in str(raised.value)


def test_letter_without_debtor_address_raises() -> None:
    notice = make_notice(
        step=LadderStep.REGISTERED_LETTER, channel=Channel.POST, debtor_address=" "
    )

    with pytest.raises(MissingMentionError, match="debtor postal address of case 2026-00017"):
        render_letter(notice, "nl")
