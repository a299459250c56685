"""The ``incasso user`` commands: staff accounts of the web queue.

``incasso user add NAME`` asks for the password twice without showing it,
or reads one line from standard input with ``--password-stdin`` (for
scripts). A password never appears on the command line, where other users
of the machine could read it in the process list.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import partial

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperCommand, TyperGroup

from incasso.app.context import Application
from incasso.review.accounts import (
    AccountError,
    NewStaff,
    add_staff,
    change_password,
    list_staff,
    set_active,
)
from incasso.store.db import read_transaction, transaction
from incasso.store.models import StaffRole

logger = logging.getLogger(__name__)

Gettext = Callable[[str], str]


def add_user_commands(
    cli: typer.Typer,
    *,
    _: Gettext,
    console: Console,
    application: Callable[[], Application],
    group_class: type[TyperGroup],
    command_class: type[TyperCommand],
) -> None:
    """Add the ``user`` group to ``cli``."""
    user_cli = typer.Typer(
        cls=group_class, help=_("Manage the staff accounts of the web queue."), no_args_is_help=True
    )
    cli.add_typer(user_cli, name="user")
    username_argument = typer.Argument(..., help=_("User name of the account."))
    stdin_option = typer.Option(
        False, "--password-stdin", help=_("Read the password from standard input.")
    )

    @user_cli.command("add", cls=command_class, help=_("Create a staff account."))
    def user_add(
        username: str = typer.Argument(..., help=_("User name to sign in with, e.g. els.")),
        name: str = typer.Option(..., "--name", help=_("Full name shown on screens and events.")),
        role: StaffRole = typer.Option(
            StaffRole.STAFF, "--role", help=_("staff, or admin (may also hand cases over).")
        ),
        language: str = typer.Option("nl", "--language", help=_("Screen language: nl or fr.")),
        password_stdin: bool = stdin_option,
    ) -> None:
        password = _read_password(_, password_stdin)
        app = application()
        new = NewStaff(username, name, password, role, language)
        try:
            with transaction(app.factory) as session:
                add_staff(session, new, now=app.clock())
        except AccountError as err:
            console.print(err.translated(_))
            raise typer.Exit(2) from err
        console.print(_("Account {username} created.").format(username=username.lower()))

    @user_cli.command("password", cls=command_class, help=_("Set a new password."))
    def user_password(
        username: str = username_argument,
        password_stdin: bool = stdin_option,
    ) -> None:
        password = _read_password(_, password_stdin)
        change = partial(change_password, username=username, password=password)
        _change(application, console, _, change)
        console.print(_("Password of {username} changed.").format(username=username))

    @user_cli.command("close", cls=command_class, help=_("Stop an account from signing in."))
    def user_close(username: str = username_argument) -> None:
        _change(application, console, _, partial(set_active, username=username, active=False))
        console.print(_("Account {username} closed.").format(username=username))

    @user_cli.command("list", cls=command_class, help=_("List the staff accounts."))
    def user_list() -> None:
        app = application()
        with read_transaction(app.factory) as session:
            rows = [
                (user.username, user.display_name, user.role, user.language, user.active)
                for user in list_staff(session)
            ]
        table = Table(_("User name"), _("Name"), _("Role"), _("Language"), _("Open"))
        for username, display_name, role, language, active in rows:
            table.add_row(username, display_name, role, language, _("yes") if active else _("no"))
        console.print(table)


def _change(
    application: Callable[[], Application],
    console: Console,
    _: Gettext,
    change: Callable[..., None],
) -> None:
    app = application()
    try:
        with transaction(app.factory) as session:
            change(session)
    except AccountError as err:
        console.print(err.translated(_))
        raise typer.Exit(2) from err


def _read_password(_: Gettext, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt(_("Password"), hide_input=True, confirmation_prompt=True))
