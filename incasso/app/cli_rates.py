"""The ``incasso rate`` commands: list the stored interest rates and add a published one.

Twice a year the late-payment rate of the law of 2 August 2002 is published
for the next half-year, and once a year the legal interest rate. Staff enter
each with ``incasso rate add``. A stored rate is never changed, because
computed charges refer to it.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import typer
from babel.numbers import format_decimal
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperCommand, TyperGroup

from incasso.app.context import Application
from incasso.app.output import print_json
from incasso.app.settings import Settings
from incasso.cases.rates import (
    MAX_ACTOR_LENGTH,
    RateError,
    RateKind,
    add_rate,
    list_rates,
    parse_percent,
    parse_valid_from,
    percent_text,
)
from incasso.i18n import LOCALES, format_local_time
from incasso.store.db import read_transaction, transaction
from incasso.store.models import InterestRate

logger = logging.getLogger(__name__)

Gettext = Callable[[str], str]

RATES_SCHEMA = "incasso.rates/1"


def add_rate_commands(
    cli: typer.Typer,
    *,
    settings: Settings,
    _: Gettext,
    console: Console,
    application: Callable[[], Application],
    group_class: type[TyperGroup],
    command_class: type[TyperCommand],
) -> None:
    """Add the ``rate`` group with its ``list`` and ``add`` commands to ``cli``."""
    rate_cli = typer.Typer(
        cls=group_class,
        help=_("List the stored interest rates and add newly published ones."),
        no_args_is_help=True,
    )
    cli.add_typer(rate_cli, name="rate")

    # Options are built here, where the translated help is known, and passed as defaults.
    kind_filter = typer.Option(None, "--kind", help=_("Only rates of this kind."))
    kind_option = typer.Option(
        ...,
        "--kind",
        help=_(
            "Kind of rate: b2b (late-payment rate for business debts, per half-year) or legal "
            "(legal interest rate, per year)."
        ),
    )
    from_option = typer.Option(
        ...,
        "--from",
        help=_("First day the rate applies, as YYYY-MM-DD: 1 January, or 1 July for b2b."),
    )
    percent_option = typer.Option(..., "--percent", help=_("Rate in percent per year, e.g. 10.50."))
    source_option = typer.Option(
        ..., "--source", help=_("Where the rate was published, e.g. the Belgian Official Gazette.")
    )
    json_option = typer.Option(False, "--json", help=_("Print the JSON form."))
    by_option = typer.Option(None, "--by", help=_("Who adds the rate; stored with it."))

    @rate_cli.command("list", cls=command_class, help=_("List the stored interest rates."))
    def rate_list(kind: RateKind | None = kind_filter, as_json: bool = json_option) -> None:
        app = application()
        with read_transaction(app.factory) as session:
            forms = [rate_form(rate) for rate in list_rates(session, kind)]
        if as_json:
            print_json({"schema": RATES_SCHEMA, "rates": forms})
        else:
            print_rates(console, forms, _, settings.language)

    @rate_cli.command("add", cls=command_class, help=_("Add a newly published interest rate."))
    def rate_add(
        kind: RateKind = kind_option,
        valid_from: str = from_option,
        percent: str = percent_option,
        source: str = source_option,
        by: str | None = by_option,
    ) -> None:
        app = application()
        try:
            start = parse_valid_from(valid_from)
            value = parse_percent(percent)
            with transaction(app.factory) as session:
                rate = add_rate(session, kind, start, value, source, _actor(by))
                form = rate_form(rate)
        except RateError as err:
            console.print(_(err.template).format(**err.values), markup=False, highlight=False)
            raise typer.Exit(2) from err

        console.print(
            _("Added the {kind} rate of {percent}% from {date}.").format(
                kind=form["kind"],
                percent=_format_percent(form["percent"], settings.language),
                date=form["valid_from"],
            ),
            markup=False,
            highlight=False,
        )


def rate_form(rate: InterestRate) -> dict[str, Any]:
    """Return the JSON form of a stored rate, with the percentage as an exact decimal string."""
    return {
        "id": rate.id,
        "kind": rate.kind,
        "valid_from": rate.valid_from.isoformat(),
        "percent": percent_text(Decimal(rate.percent)),
        "source": rate.source,
        "created_by": rate.created_by,
        "created_at": rate.created_at.isoformat(),
    }


def print_rates(console: Console, forms: list[dict[str, Any]], _: Gettext, language: str) -> None:
    """Print the rates as a table, the percentages written the Belgian way for ``language``."""
    if not forms:
        console.print(_("No interest rates stored yet."))
        return

    table = Table(title=_("Interest rates"))
    for heading in (_("Kind"), _("Valid from"), _("Percent")):
        table.add_column(heading, no_wrap=True)
    for heading in (_("Source"), _("Added by"), _("Added at")):
        table.add_column(heading)
    for form in forms:
        values = (
            form["kind"],
            form["valid_from"],
            _format_percent(form["percent"], language),
            form["source"],
            form["created_by"],
            format_local_time(form["created_at"]),
        )
        table.add_row(*(Text(value) for value in values))
    console.print(table)


def _format_percent(text: str, language: str) -> str:
    return format_decimal(Decimal(text), format="0.00#", locale=LOCALES[language])


def _actor(by: str | None) -> str:
    """Name who adds the rate: ``--by``, else the login of who runs the command."""
    if by:
        return by.strip()[:MAX_ACTOR_LENGTH]
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return f"cli:{login}"[:MAX_ACTOR_LENGTH]
