"""Building the application's parts from the settings, once, for every command."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dns.resolver
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from incasso.app.settings import SchedulerSettings, Settings
from incasso.cases.addresses import Addresses
from incasso.i18n import normalize_language
from incasso.intake.extract.model import ExtractionResult
from incasso.intake.imap import MailboxAccount
from incasso.intake.isolation import IsolatedExtractor, Limits, extract_in_process
from incasso.intake.process import IntakeContext, SenderPolicy, process_pending
from incasso.intake.resolver import DnsResolver
from incasso.intake.submission import SubmissionPolicy
from incasso.intake.trust import parse_networks
from incasso.outbound.letters import FolderLetterSink, LetterSink
from incasso.outbound.notice import AgencyIdentity
from incasso.outbound.outbox import OutboxContext, drain
from incasso.outbound.reminders import ReminderConfig
from incasso.outbound.sms import FileSmsSink, SmsProvider
from incasso.outbound.transport import FolderTransport, SmtpTransport, Transport
from incasso.scheduler.dispatch import DispatchContext, dispatch_due
from incasso.scheduler.runner import PeriodicJob, drain_until_empty
from incasso.store.db import make_engine, make_session_factory, upgrade_schema
from incasso.store.rawstore import DatabaseRawStore, FolderRawStore, RawStore

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Application:
    """The wired parts every command uses."""

    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    rawstore: RawStore
    addresses: Addresses
    transport: Transport
    sms: SmsProvider
    letters: LetterSink
    clock: Callable[[], datetime]
    senders: SenderPolicy
    extractor: Callable[..., ExtractionResult]

    def close(self) -> None:
        """Stop the extraction worker and close the database connections."""
        if isinstance(self.extractor, IsolatedExtractor):
            self.extractor.close()
        self.engine.dispose()

    @property
    def intake(self) -> IntakeContext:
        policy = SubmissionPolicy(
            confidence_threshold=self.settings.confidence_threshold,
            first_reminder_delay=timedelta(
                minutes=self.settings.scheduler.first_reminder_delay_minutes
            ),
            default_language=normalize_language(self.settings.agency.legal_language),
        )
        return IntakeContext(
            self.factory,
            self.rawstore,
            self.addresses,
            policy,
            self.clock,
            self.senders,
            self.extractor,
        )

    @property
    def dispatch(self) -> DispatchContext:
        reminders = ReminderConfig(
            agency=agency_identity(self.settings),
            addresses=self.addresses,
            legal_language=self.settings.agency.legal_language,
        )
        return DispatchContext(self.factory, self.rawstore, reminders, self.clock)

    @property
    def outbox(self) -> OutboxContext:
        return OutboxContext(
            self.factory,
            self.rawstore,
            self.transport,
            self.clock,
            sms=self.sms,
            letters=self.letters,
        )

    def mailbox(self, name: str) -> MailboxAccount:
        """Return the configured mailbox ``name``; raise KeyError listing the configured names."""
        for account in self.settings.imap:
            if account.name == name:
                return MailboxAccount(**account.model_dump())
        configured = ", ".join(account.name for account in self.settings.imap) or "none"
        raise KeyError(f"no mailbox named {name!r} in the settings; configured: {configured}")

    @property
    def mailboxes(self) -> list[MailboxAccount]:
        return [MailboxAccount(**account.model_dump()) for account in self.settings.imap]

    @property
    def jobs(self) -> Jobs:
        return Jobs(intake=self.intake, dispatch=self.dispatch, outbox=self.outbox)


@dataclass(frozen=True)
class Jobs:
    """The periodic work, bound to its contexts; each run goes on until nothing is left."""

    intake: IntakeContext
    dispatch: DispatchContext
    outbox: OutboxContext

    def run_intake(self) -> int:
        return drain_until_empty(lambda: process_pending(self.intake))

    def run_dispatch(self) -> int:
        return drain_until_empty(lambda: dispatch_due(self.dispatch))

    def run_outbox(self) -> int:
        return drain_until_empty(lambda: drain(self.outbox))

    def run_all_once(self) -> tuple[int, int, int]:
        """Run intake, dispatch and outbox once each, in that order; return their counts."""
        return self.run_intake(), self.run_dispatch(), self.run_outbox()

    def periodic(self, intervals: SchedulerSettings) -> list[PeriodicJob]:
        """Return the jobs ``incasso serve`` runs, with their intervals from the settings."""
        return [
            PeriodicJob("intake", self.run_intake, intervals.intake_interval_seconds),
            PeriodicJob("dispatch", self.run_dispatch, intervals.dispatch_interval_seconds),
            PeriodicJob("outbox", self.run_outbox, intervals.outbox_interval_seconds),
        ]


def build_application(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now
) -> Application:
    """Create the engine (migrating the schema to the newest revision), stores and transports."""
    engine = make_engine(settings.resolved_database_url)
    upgrade_schema(engine)
    factory = make_session_factory(engine)
    agency = settings.agency
    return Application(
        settings=settings,
        engine=engine,
        factory=factory,
        rawstore=build_rawstore(settings, factory),
        addresses=Addresses(
            mail_domain=agency.mail_domain,
            reply_local_part=agency.reply_local_part,
            intake_local_part=agency.intake_local_part,
        ),
        transport=build_transport(settings),
        sms=build_sms_provider(settings),
        letters=build_letter_sink(settings),
        clock=clock,
        senders=build_sender_policy(settings),
        extractor=build_extractor(settings),
    )


def build_extractor(settings: Settings) -> Callable[..., ExtractionResult]:
    if not settings.extraction_isolated:
        return extract_in_process
    limits = Limits(
        timeout_seconds=settings.extraction_timeout_seconds,
        memory_bytes=settings.extraction_memory_mb * 1024 * 1024,
    )
    return IsolatedExtractor(limits)


def build_sender_policy(settings: Settings) -> SenderPolicy:
    """Build the sender-check policy; a bad trusted network fails here, at start-up."""
    networks = settings.smtp_receiver.trusted_networks
    parse_networks(networks)
    return SenderPolicy(
        trusted_networks=tuple(networks),
        trusted_authserv_ids=tuple(settings.trusted_authserv_ids),
        resolver=_resolver(settings.dns_nameservers),
    )


def _resolver(nameservers: list[str]) -> DnsResolver:
    if nameservers:
        return DnsResolver(nameservers)
    try:
        return DnsResolver()
    except dns.resolver.NoResolverConfiguration:
        logger.warning(
            "no system DNS configuration found; sender checks will find no DKIM or SPF "
            "records until INCASSO_DNS_NAMESERVERS is set"
        )
        return DnsResolver(["127.0.0.1"])


def build_rawstore(settings: Settings, factory: sessionmaker[Session]) -> RawStore:
    if settings.raw_store == "folder":
        return FolderRawStore(settings.raw_dir)
    return DatabaseRawStore(factory)


def build_transport(settings: Settings) -> Transport:
    outbound = settings.outbound
    if outbound.transport == "folder":
        return FolderTransport(settings.outbox_dir)
    return SmtpTransport(
        host=outbound.smtp_host,
        port=outbound.smtp_port,
        username=outbound.smtp_username,
        password=outbound.smtp_password,
        starttls=outbound.smtp_starttls,
        timeout_seconds=outbound.smtp_timeout_seconds,
    )


def build_sms_provider(settings: Settings) -> SmsProvider:
    # "file" is the only provider so far; a gateway gets its own branch here.
    return FileSmsSink(settings.sms_dir)


def build_letter_sink(settings: Settings) -> LetterSink:
    return FolderLetterSink(settings.letters_dir)


def agency_identity(settings: Settings) -> AgencyIdentity:
    agency = settings.agency
    return AgencyIdentity(
        name=agency.name,
        enterprise_number=agency.enterprise_number,
        address=agency.address,
        phone=agency.phone,
        email=agency.email,
        website=agency.website,
        iban=agency.iban,
        bic=agency.bic,
    )
