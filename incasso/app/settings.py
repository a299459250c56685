"""One typed settings object, built once at start-up and passed down.

Values come, highest priority first, from ``INCASSO_`` environment variables
(nested fields with ``__``, e.g. ``INCASSO_SMTP_RECEIVER__PORT=2526``), from a
TOML file named by ``INCASSO_CONFIG`` (or ``./incasso.toml`` when it exists),
and from the defaults below. Relative paths are resolved against the working
directory, so every command keeps its state under ``./var/`` by default.

The agency identity defaults describe a demo agency on reserved ``.test``
domains; a real deployment must set its own (``incasso serve`` warns).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEMO_AGENCY_NAME = "Incasso Demo BV"


class AgencySettings(BaseModel):
    """The collection agency: its legal identity and its mail addresses."""

    name: str = DEMO_AGENCY_NAME
    enterprise_number: str = "0456.789.133"
    address: str = "Voorbeeldlaan 10, 9000 Gent"
    phone: str = "+32 9 000 00 00"
    email: str = "dossiers@incasso.test"
    website: str | None = None
    # Third-party account (derdenrekening) that debtors pay into.
    iban: str = "BE71096123456769"
    bic: str = "GKCCBEBB"
    # Language of legally required notices: the language of the agency's seat.
    legal_language: Literal["nl", "fr", "de"] = "nl"
    # Domain of our own addresses: intake, per-case reply addresses, Message-IDs.
    mail_domain: str = "incasso.test"
    # Local part of the per-case reply address: dossier+2026-00017@mail_domain.
    reply_local_part: str = "dossier"
    # Local part of the creditors' submission address: intake@ or intake+CODE@.
    intake_local_part: str = "intake"


class SmtpReceiverSettings(BaseModel):
    """Our own SMTP receiver for creditor submissions and debtor replies."""

    host: str = "127.0.0.1"
    port: int = 2525
    # Recipient domains we accept mail for; empty means the agency's mail_domain only.
    accept_domains: list[str] = Field(default_factory=list)
    # Largest message accepted, in bytes; larger DATA gets 552 while streaming.
    max_message_bytes: int = 32 * 1024 * 1024
    # Recipients accepted per message; more get 452 (RFC 5321 allows 100 as a minimum).
    max_recipients: int = 100
    # Seconds a client may stay silent before the connection is closed.
    timeout_seconds: float = 300.0
    # PEM files for STARTTLS; without both, the receiver offers no TLS.
    tls_certificate_file: Path | None = None
    tls_key_file: Path | None = None
    # Networks whose mail was already checked by our own mail server (it adds an
    # Authentication-Results header); mail from anywhere else is checked here.
    trusted_networks: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])


class ImapAccountSettings(BaseModel):
    """One mailbox that intake reads submissions and replies from."""

    # Short name used in logs, in `incasso intake --imap NAME` and in the store.
    name: str
    host: str
    # 993 for tls, 143 for starttls and plain.
    port: int = 993
    # "plain" sends the password unencrypted and is accepted for loopback hosts only.
    security: Literal["tls", "starttls", "plain"] = "tls"
    username: str
    password: str | None = Field(default=None, repr=False)
    # An OAuth2 access token for XOAUTH2, used instead of the password when set.
    oauth2_token: str | None = Field(default=None, repr=False)
    folders: list[str] = Field(default_factory=lambda: ["INBOX"])
    # Where a stored message is moved; None or "" keeps it in place with a \Seen flag
    # and the keyword $IncassoStored.
    processed_folder: str | None = "Processed"
    # Seconds between polls when the server has no IDLE, or IDLE is off.
    poll_seconds: float = 60.0
    idle: bool = True
    # Messages fetched per FETCH command.
    batch_size: int = 25
    # Messages larger than this, in bytes, stay on the server and are listed for review.
    max_message_bytes: int = 32 * 1024 * 1024
    # Seconds a command may take before the connection counts as dead.
    timeout_seconds: float = 60.0

    @field_validator("processed_folder")
    @classmethod
    def _no_empty_folder(cls, value: str | None) -> str | None:
        # TOML has no null, so an empty name is how a config file asks for flagging.
        return value or None


class OutboundSettings(BaseModel):
    """Transport of messages to debtors: a folder of .eml files, or an SMTP relay."""

    transport: Literal["folder", "smtp"] = "folder"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 30.0


class SmsSettings(BaseModel):
    """Delivery of the ladder's text messages."""

    # "file" appends each SMS as one JSON line to <folder>/outbox.jsonl and sends nothing.
    provider: Literal["file"] = "file"
    # Folder of the file provider; empty means data_dir/sms.
    folder: Path | None = None


class LetterSettings(BaseModel):
    """Delivery of the ladder's letters (PDF), which staff post by registered mail."""

    # "folder" writes each letter as <folder>/<case reference>-<step>.pdf for staff to print.
    sink: Literal["folder"] = "folder"
    # Folder of the letters; empty means data_dir/letters.
    folder: Path | None = None


class SchedulerSettings(BaseModel):
    """Intervals of the periodic jobs and the ladder's first delay."""

    intake_interval_seconds: float = 5.0
    dispatch_interval_seconds: float = 30.0
    outbox_interval_seconds: float = 10.0
    # Delay between a case becoming active and its first reminder; at most 24 hours.
    first_reminder_delay_minutes: int = Field(default=0, ge=0, le=24 * 60)


class WebSettings(BaseModel):
    """The staff web view."""

    host: str = "127.0.0.1"
    port: int = 8000
    # Signs the session cookies; empty means a random secret kept in data_dir/web-secret.
    secret: str = ""
    # Send the session cookie over HTTPS only; set it when a TLS proxy serves the app.
    secure_cookies: bool = False


class Settings(BaseSettings):
    """Everything incasso reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="INCASSO_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    # Folder of all local state: database, raw messages, outbox, SMS file, letters.
    data_dir: Path = Path("var")
    # SQLAlchemy URL; empty means SQLite at data_dir/incasso.db.
    database_url: str = ""
    # Where raw mail and documents are kept: in the database (one commit stores the
    # bytes and their rows; needed when several workers share PostgreSQL), or as
    # files under data_dir/raw.
    raw_store: Literal["database", "folder"] = "database"
    # Language of command-line output and of the web screens.
    language: Literal["nl", "fr"] = "nl"
    # Extracted fields below this confidence make a draft that waits for review.
    confidence_threshold: float = Field(default=0.8, ge=0.0, le=1.0)
    # Limits per document for invoice extraction, which runs in a worker process
    # (off only for tests that need speed over isolation).
    extraction_timeout_seconds: float = Field(default=60.0, gt=0)
    extraction_memory_mb: int = Field(default=1024, ge=128)
    extraction_isolated: bool = True

    agency: AgencySettings = Field(default_factory=AgencySettings)
    smtp_receiver: SmtpReceiverSettings = Field(default_factory=SmtpReceiverSettings)
    imap: list[ImapAccountSettings] = Field(default_factory=list)
    # authserv-ids of our own mail servers, whose Authentication-Results headers we trust.
    trusted_authserv_ids: list[str] = Field(default_factory=list)
    # Nameservers for the DKIM and SPF checks; empty means the system's resolver.
    dns_nameservers: list[str] = Field(default_factory=list)
    outbound: OutboundSettings = Field(default_factory=OutboundSettings)
    sms: SmsSettings = Field(default_factory=SmsSettings)
    letters: LetterSettings = Field(default_factory=LetterSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    web: WebSettings = Field(default_factory=WebSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = _config_file()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir / 'incasso.db'}"

    @property
    def raw_dir(self) -> Path:
        return self.resolved_data_dir / "raw"

    @property
    def outbox_dir(self) -> Path:
        return self.resolved_data_dir / "outbox"

    @property
    def sms_dir(self) -> Path:
        return _resolve(self.sms.folder) if self.sms.folder else self.resolved_data_dir / "sms"

    @property
    def letters_dir(self) -> Path:
        if self.letters.folder:
            return _resolve(self.letters.folder)
        return self.resolved_data_dir / "letters"

    @property
    def accepted_domains(self) -> list[str]:
        domains = self.smtp_receiver.accept_domains or [self.agency.mail_domain]
        return [domain.lower() for domain in domains]

    @property
    def uses_demo_identity(self) -> bool:
        return self.agency.name == DEMO_AGENCY_NAME


def _resolve(path: Path) -> Path:
    return path.expanduser().resolve()


def _config_file() -> Path | None:
    named = os.environ.get("INCASSO_CONFIG")
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"INCASSO_CONFIG names {path}, which does not exist; "
                "create it or unset INCASSO_CONFIG"
            )
        return path
    local = Path("incasso.toml")
    return local if local.is_file() else None


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, the config file and ``overrides``."""
    return Settings(**overrides)  # type: ignore[arg-type]
