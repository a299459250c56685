"""Inserts that do nothing when the unique key exists, for SQLite and PostgreSQL alike."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from incasso.store.models import Base


def insert_if_absent(
    session: Session, model: type[Base], values: dict[str, Any], key: str, *, returning: str = "id"
) -> Any:
    """Insert a row unless one with the same unique ``key`` exists; return its new ``returning``
    column, or None when the row existed.

    One ``INSERT … ON CONFLICT DO NOTHING RETURNING`` statement, so two sessions
    inserting the same key at once never fail: one gets the value, the other None.
    """
    connection = session.connection()
    columns = tuple(sorted(values))
    statement = _insert_statement(connection.dialect.name, model, columns, key, returning)
    return connection.execute(statement, values).scalar()


@cache
def _insert_statement(
    dialect: str, model: type[Base], columns: tuple[str, ...], key: str, returning: str
) -> Any:
    """Build the statement once per shape; building it per row costs more than running it."""
    if dialect == "postgresql":
        statement: Any = postgresql.insert(model)
    elif dialect == "sqlite":
        statement = sqlite.insert(model)
    else:
        raise NotImplementedError(
            f"database {dialect!r} is not supported; use SQLite or PostgreSQL"
        )
    table = model.__table__
    return (
        statement.values(
            {column: bindparam(column, type_=table.c[column].type) for column in columns}
        )
        .on_conflict_do_nothing(index_elements=[key])
        .returning(table.c[returning])
    )
