"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

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
