"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from incasso.store.db import alembic_config, make_engine, upgrade_schema
from incasso.store.models import Base


def test_migrations_match_models(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade_schema(engine)

    # Raises when autogenerate would find a difference between models and database.
    command.check(alembic_config(engine))

    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    engine.dispose()


def test_upgrade_twice_is_harmless(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade_schema(engine)
    upgrade_schema(engine)

    assert "collection_case" in inspect(engine).get_table_names()
    engine.dispose()


def test_ladder_migration_keeps_queued_reminders(database_url: str) -> None:
    # A store from before the ladder: one case that sent its first reminder.
    engine = make_engine(database_url)
    config = alembic_config(engine)
    command.upgrade(config, "0002")
    queued_at = "2026-11-16 09:00:00"
    with engine.begin() as connection:
        for statement in (
            "INSERT INTO document (id, sha256, size, content_type, created_at) "
            f"VALUES (1, '{'a' * 64}', 3, 'message/rfc822', '{queued_at}')",
            "INSERT INTO collection_case (id, reference, ogm, status, language, currency, "
            "next_step, created_at, updated_at) VALUES (1, '2026-00001', '202600000197', "
            f"'active', 'nl', 'EUR', 'second_reminder', '{queued_at}', '{queued_at}')",
            "INSERT INTO mail_message (id, dedupe_key, direction, channel, status, "
            "raw_document_id, case_id, step, attempts, created_at) VALUES (1, "
            "'out:1:first_reminder', 'out', 'outbox', 'sent', 1, 1, 'first_reminder', 1, "
            f"'{queued_at}')",
        ):
            connection.execute(text(statement))

    command.upgrade(config, "head")

    with engine.connect() as connection:
        key, medium = connection.execute(
            text("SELECT dedupe_key, medium FROM mail_message WHERE id = 1")
        ).one()
        last_step = connection.execute(
            text("SELECT last_step FROM collection_case WHERE id = 1")
        ).scalar_one()
        rates = connection.execute(
            text("SELECT COUNT(*) FROM interest_rate WHERE kind = 'b2b'")
        ).scalar_one()
    assert (key, medium) == ("out:1:first_reminder:email", "email")
    assert last_step == "first_reminder"
    assert rates >= 7
    engine.dispose()


def test_debtor_migration_keeps_cases_of_debtors(database_url: str) -> None:
    # A store with a debtor that a case points to: the new column must not disturb the link.
    engine = make_engine(database_url)
    config = alembic_config(engine)
    command.upgrade(config, "0003")
    created = "2026-11-16 09:00:00"
    with engine.begin() as connection:
        for statement in (
            "INSERT INTO debtor (id, name, kind, language, created_at) "
            f"VALUES (1, 'An Janssens', 'consumer', 'fr', '{created}')",
            "INSERT INTO collection_case (id, reference, ogm, status, debtor_id, language, "
            "currency, amount_paid, created_at, updated_at) VALUES (1, '2026-00001', "
            f"'202600000197', 'active', 1, 'fr', 'EUR', 0, '{created}', '{created}')",
        ):
            connection.execute(text(statement))

    command.upgrade(config, "head")

    with engine.connect() as connection:
        chosen, language = connection.execute(
            text("SELECT language_chosen, language FROM debtor WHERE id = 1")
        ).one()
        debtor_id = connection.execute(
            text("SELECT debtor_id FROM collection_case WHERE id = 1")
        ).scalar_one()
    assert not chosen
    assert language == "fr"
    assert debtor_id == 1
    engine.dispose()
