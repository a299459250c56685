"""The ``incasso`` command line.

The commands are built inside ``build_cli`` after the settings are read, so
every help text and message comes out in the configured language
(``INCASSO_LANGUAGE``, Dutch by default). Each command works from any folder
and keeps its state under ``./var/`` unless the settings name another folder.
"""

from __future__ import annotations

import getpass
import logging
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from sqlalchemy import select

from incasso.app.cli_ladder import add_ladder_commands
from incasso.app.cli_rates import add_rate_commands
from incasso.app.cli_users import add_user_commands
from incasso.app.context import Application, build_application, utc_now
from incasso.app.help import HELP_OPTION_NAMES, localize_help
from incasso.app.output import (
    creditor_form,
    print_case,
    print_case_list,
    print_creditors,
    print_json,
    print_review,
    review_form,
)
from incasso.app.settings import Settings, load_settings
from incasso.cases.brake import release_brake
from incasso.cases.creditors import CreditorError, NewCreditor, list_creditors, register_creditor
from incasso.cases.review_items import ReviewItemError, ReviewItemMissing, resolve_review_item
from incasso.cases.summary import case_form, case_list_form, find_case, list_cases
from incasso.i18n import format_local_time, translations
from incasso.intake.drop import intake_paths
from incasso.intake.evaluation import Report, evaluate, extract_text_layer, render_report
from incasso.intake.imap import poll_account
from incasso.intake.xml_labels import labels_from_xml as labels_from_xml_of
from incasso.scheduler.calendar import is_contact_time, next_contact_time
from incasso.store.db import transaction
from incasso.store.models import CaseStatus, Creditor, ReviewItem, ReviewStatus

logger = logging.getLogger(__name__)

Gettext = Callable[[str], str]


def main() -> None:
    """Entry point of the ``incasso`` console script."""
    try:
        settings = load_settings()
    except Exception as err:  # a bad setting must be reported, not shown as a traceback
        sys.stderr.write(f"incasso: invalid settings: {err}\n")
        raise SystemExit(2) from err
    build_cli(settings)()


# Libraries that log every oddity of a real-world PDF or mail as a warning. Their
# notes appear with --verbose only, because the outcome is in the review list anyway.
CHATTY_LIBRARIES = ("pdfminer", "mailparser")


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING if verbose else logging.ERROR)


def build_cli(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> typer.Typer:
    """Build the command tree with texts in the language of ``settings``.

    ``clock`` tells every command the time; tests pass a fixed one.
    """
    _ = translations(settings.language).gettext
    console = Console()
    group_class, command_class = localize_help(_)
    cli = typer.Typer(
        cls=group_class,
        help=_("incasso: intake, reminders and follow-up of collection cases."),
        no_args_is_help=True,
        add_completion=False,
        context_settings={"help_option_names": HELP_OPTION_NAMES},
    )
    creditor_cli = typer.Typer(
        cls=group_class, help=_("Register and list creditors."), no_args_is_help=True
    )
    cli.add_typer(creditor_cli, name="creditor")
    outbox_cli = typer.Typer(
        cls=group_class, help=_("Control the sending of e-mail."), no_args_is_help=True
    )
    cli.add_typer(outbox_cli, name="outbox")

    def application() -> Application:
        return build_application(settings, clock=clock)

    @cli.callback()
    def configure(
        verbose: bool = typer.Option(False, "--verbose", "-v", help=_("Log progress to stderr.")),
    ) -> None:
        configure_logging(verbose)

    @cli.command(
        cls=command_class,
        help=_("Run the whole path once on shipped example mails, without network."),
    )
    def demo() -> None:
        from incasso.app.demo import run_demo

        now = clock()
        moment = next_contact_time(now)
        if moment != now:
            console.print(
                _(
                    "It is outside the hours in which debtors may be contacted, so the demo "
                    "acts as if it were {moment}."
                ).format(moment=format_local_time(moment))
            )
        run_demo(build_application(settings, clock=lambda: moment), console, _)

    @cli.command(
        cls=command_class,
        help=_("Run the SMTP receiver, the scheduler and the web view in one process."),
    )
    def serve() -> None:
        from incasso.app.serve import run_server

        configure_logging(verbose=True)
        run_server(application(), console, _)

    @cli.command(
        cls=command_class,
        help=_(
            "Take in .eml files, or invoice files as uploads, from files or folders; "
            "or read a configured mailbox once with --imap."
        ),
    )
    def intake(
        paths: list[Path] | None = typer.Argument(None, help=_("Files or folders to take in.")),
        creditor: str | None = typer.Option(
            None, "--creditor", help=_("Creditor code for files that are not e-mails.")
        ),
        imap: str | None = typer.Option(
            None, "--imap", help=_("Name of a configured mailbox to read once.")
        ),
    ) -> None:
        app = application()
        if imap is not None:
            _poll_mailbox(app, imap, console, _)
            return
        if not paths:
            console.print(_("Name files or folders to take in, or a mailbox with --imap."))
            raise typer.Exit(2)
        missing = [path for path in paths if not path.exists()]
        if missing:
            for path in missing:
                console.print(_("{path} does not exist; check the path.").format(path=path))
            raise typer.Exit(2)
        if creditor is not None and not _creditor_exists(app, creditor):
            console.print(
                _("Creditor {code} is not registered; see incasso creditor list.").format(
                    code=creditor
                )
            )
            raise typer.Exit(2)
        report = intake_paths(app.factory, app.rawstore, app.addresses, paths, creditor)
        app.jobs.run_intake()
        console.print(
            _("Taken in: {new} new, {duplicate} already known, {skipped} skipped.").format(
                new=report.new, duplicate=report.duplicate, skipped=len(report.skipped)
            )
        )
        for path, reason in report.skipped:
            console.print(_("Skipped {path}: {reason}").format(path=path, reason=reason))

    @cli.command(
        "run-jobs",
        cls=command_class,
        help=_("Run intake, due reminders and the outbox once, then stop."),
    )
    def run_jobs() -> None:
        app = application()
        received, dispatched, sent = app.jobs.run_all_once()
        console.print(
            _(
                "Messages processed: {received}. Ladder steps performed: {dispatched}. "
                "Sent: {sent}."
            ).format(received=received, dispatched=dispatched, sent=sent)
        )
        now = app.clock()
        if not is_contact_time(now):
            console.print(
                _(
                    "Debtors may not be contacted now (only 08:00 to 22:00, not on Sundays or "
                    "public holidays): due steps wait until {moment}."
                ).format(moment=format_local_time(next_contact_time(now)))
            )

    @cli.command(
        "eval-extraction",
        cls=command_class,
        help=_("Measure invoice extraction on a folder of documents with an expected.json."),
    )
    def eval_extraction(
        folder: Path = typer.Argument(..., help=_("Folder with the documents and expected.json.")),
        labels_from_xml: bool = typer.Option(
            False,
            "--labels-from-xml",
            help=_(
                "Take the labels from the XML of each e-invoice in the folder (XML files and "
                "PDFs with embedded XML) instead of expected.json."
            ),
        ),
        text_layer: bool = typer.Option(
            False,
            "--text-layer",
            help=_(
                "With --labels-from-xml: read the PDFs from their text layer, as if they "
                "carried no XML."
            ),
        ),
        as_json: bool = typer.Option(False, "--json", help=_("Print the JSON form.")),
    ) -> None:
        if text_layer and not labels_from_xml:
            console.print(_("--text-layer only works together with --labels-from-xml."))
            raise typer.Exit(2)
        try:
            report, skipped = _evaluate_folder(folder, labels_from_xml, text_layer)
        except ValueError as err:
            console.print(_("The labelled set cannot be used: {error}").format(error=err))
            raise typer.Exit(2) from err
        if as_json:
            print_json(report.as_json() | {"skipped": skipped})
            return
        for line in render_report(report, _, settings.language):
            console.print(line, markup=False, highlight=False)
        for name, reason in sorted(skipped.items()):
            console.print(
                _("Left out {name}: {reason}").format(name=name, reason=_(reason)),
                markup=False,
                highlight=False,
            )

    def _evaluate_folder(
        folder: Path, labels_from_xml: bool, text_layer: bool
    ) -> tuple[Report, dict[str, str]]:
        threshold = settings.confidence_threshold
        if not labels_from_xml:
            return evaluate(folder, threshold=threshold), {}
        if not folder.is_dir():
            raise ValueError(f"{folder} is not a folder")
        derived = labels_from_xml_of(folder, text_layer=text_layer)
        if not derived.documents:
            raise ValueError(f"{folder} holds no e-invoice whose XML gives labels")
        extractor = extract_text_layer if text_layer else None
        labels = derived.documents
        report = evaluate(folder, threshold=threshold, extractor=extractor, labels=labels)
        return report, derived.skipped

    @cli.command(cls=command_class, help=_("List cases, newest first."))
    def cases(
        status: CaseStatus | None = typer.Option(
            None, "--status", help=_("Only cases with this status.")
        ),
        as_json: bool = typer.Option(False, "--json", help=_("Print the JSON form.")),
    ) -> None:
        app = application()
        with transaction(app.factory) as session:
            form = case_list_form(list_cases(session, status=status))
        if as_json:
            print_json(form)
        else:
            print_case_list(console, form["cases"], _, settings.language)

    @cli.command(cls=command_class, help=_("Show one case with its invoices and timeline."))
    def case(
        reference: str = typer.Argument(..., help=_("Case reference, e.g. 2026-00017.")),
        as_json: bool = typer.Option(False, "--json", help=_("Print the JSON form.")),
    ) -> None:
        app = application()
        with transaction(app.factory) as session:
            found = find_case(session, reference)
            if found is None:
                console.print(_("Case {reference} not found.").format(reference=reference))
                raise typer.Exit(1)
            form = case_form(session, found)
        if as_json:
            print_json(form)
        else:
            print_case(console, form, _, settings.language)

    @cli.command(cls=command_class, help=_("List what waits for a person."))
    def review(
        as_json: bool = typer.Option(False, "--json", help=_("Print the JSON form.")),
    ) -> None:
        app = application()
        with transaction(app.factory) as session:
            items = session.scalars(
                select(ReviewItem)
                .where(ReviewItem.status == ReviewStatus.OPEN)
                .order_by(ReviewItem.id)
            )
            forms = [review_form(item) for item in items]
        if as_json:
            print_json({"schema": "incasso.review/1", "items": forms})
        else:
            print_review(console, forms, _)

    @cli.command(
        cls=command_class,
        help=_(
            "Mark a review item as handled; incasso review lists the open items with their numbers."
        ),
    )
    def resolve(
        item_id: int = typer.Argument(..., help=_("Number of the review item.")),
        note: str | None = typer.Option(
            None, "--note", help=_("A short note on how the item was handled.")
        ),
        by: str = typer.Option(
            getpass.getuser(), "--by", help=_("Who handled the item; shown in the timeline.")
        ),
    ) -> None:
        app = application()
        try:
            with transaction(app.factory) as session:
                resolved = resolve_review_item(
                    session, item_id, actor=by, now=app.clock(), note=note
                )
        except ReviewItemMissing as err:
            console.print(err.translated(_), markup=False, highlight=False)
            raise typer.Exit(1) from err
        except ReviewItemError as err:
            console.print(err.translated(_), markup=False, highlight=False)
            raise typer.Exit(2) from err
        if resolved:
            console.print(_("Review item {id} marked as handled.").format(id=item_id))
        else:
            console.print(
                _("Review item {id} was handled already; nothing changed.").format(id=item_id)
            )

    @creditor_cli.command("add", cls=command_class, help=_("Register a creditor."))
    def creditor_add(
        code: str = typer.Option(..., help=_("Short code, e.g. ACME; also intake+ACME@ address.")),
        name: str = typer.Option(..., help=_("Legal name.")),
        enterprise_number: str = typer.Option(..., help=_("Enterprise (KBO) number.")),
        address: str = typer.Option(..., help=_("Postal address on one line.")),
        phone: str = typer.Option(..., help=_("Phone number printed on notices.")),
        email: str | None = typer.Option(None, help=_("E-mail address printed on notices.")),
        language: str = typer.Option("nl", help=_("Language: nl, fr, de or en.")),
        sender: list[str] = typer.Option(
            [], "--sender", help=_("Address or domain the creditor mails from; repeat for more.")
        ),
        fax: list[str] = typer.Option(
            [], "--fax", help=_("Number the creditor faxes from; repeat for more.")
        ),
    ) -> None:
        app = application()
        new = NewCreditor(
            code,
            name,
            enterprise_number,
            language,
            address,
            phone,
            email,
            tuple(sender),
            tuple(fax),
        )
        try:
            with transaction(app.factory) as session:
                created = register_creditor(session, new)
                form = creditor_form(created)
        except CreditorError as err:
            console.print(_(err.template).format(**err.values))
            raise typer.Exit(2) from err
        console.print(_("Creditor {code} registered.").format(code=form["code"]))

    @creditor_cli.command("list", cls=command_class, help=_("List registered creditors."))
    def creditor_list(
        as_json: bool = typer.Option(False, "--json", help=_("Print the JSON form.")),
    ) -> None:
        app = application()
        with transaction(app.factory) as session:
            forms = [creditor_form(creditor) for creditor in list_creditors(session)]
        if as_json:
            print_json({"schema": "incasso.creditors/1", "creditors": forms})
        else:
            print_creditors(console, forms, _)

    @outbox_cli.command(
        "resume",
        cls=command_class,
        help=_("Send e-mail again after the mass-bounce brake stopped it."),
    )
    def outbox_resume() -> None:
        app = application()
        with transaction(app.factory) as session:
            released = release_brake(session, app.clock())
        if released:
            console.print(_("E-mail is sent again."))
        else:
            console.print(_("The brake was not applied; e-mail is being sent."))

    add_ladder_commands(
        cli,
        creditor_cli,
        settings=settings,
        _=_,
        console=console,
        application=application,
        command_class=command_class,
    )
    add_user_commands(
        cli,
        _=_,
        console=console,
        application=application,
        group_class=group_class,
        command_class=command_class,
    )
    add_rate_commands(
        cli,
        settings=settings,
        _=_,
        console=console,
        application=application,
        group_class=group_class,
        command_class=command_class,
    )
    return cli


def _poll_mailbox(app: Application, name: str, console: Console, _: Gettext) -> None:
    try:
        account = app.mailbox(name)
    except KeyError:
        names = ", ".join(account.name for account in app.settings.imap) or "—"
        console.print(
            _("Mailbox {name} is not configured; configured mailboxes: {names}.").format(
                name=name, names=names
            )
        )
        raise typer.Exit(2) from None
    report = poll_account(app.factory, app.rawstore, account, clock=app.clock)
    app.jobs.run_intake()
    console.print(
        _(
            "Mailbox {name}: {stored} new, {duplicates} already known, {too_large} too large, "
            "{errors} errors."
        ).format(
            name=name,
            stored=report.stored,
            duplicates=report.duplicates + report.resynced,
            too_large=report.too_large,
            errors=report.errors,
        )
    )
    if report.errors:
        raise typer.Exit(1)


def _creditor_exists(app: Application, code: str) -> bool:
    with transaction(app.factory) as session:
        found = session.scalar(select(Creditor.id).where(Creditor.code == code.strip().upper()))
    return found is not None
