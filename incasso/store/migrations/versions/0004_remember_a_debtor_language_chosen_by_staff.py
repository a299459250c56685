"""Remember whether staff chose a debtor's language

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 00:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite does it in place, where a batch copy of the table
    # would trip over the foreign keys that point to it.
    op.add_column(
        "debtor",
        sa.Column("language_chosen", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("debtor") as batch:
        batch.drop_column("language_chosen")
