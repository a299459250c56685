"""Remember a debtor's e-mail address that bounced for good

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 01:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import incasso.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs: SQLite adds them in place, without copying the table.
    op.add_column(
        "debtor", sa.Column("email_failed_at", incasso.store.types.UtcDateTime(), nullable=True)
    )
    op.add_column("debtor", sa.Column("email_failure", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("debtor") as batch:
        batch.drop_column("email_failure")
        batch.drop_column("email_failed_at")
