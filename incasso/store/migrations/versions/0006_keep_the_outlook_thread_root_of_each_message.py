"""Keep the Outlook Thread-Index root of each message

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite adds it in place, without copying the table.
    op.add_column("mail_message", sa.Column("thread_root", sa.String(length=44), nullable=True))
    op.create_index("ix_mail_message_thread_root", "mail_message", ["thread_root"])


def downgrade() -> None:
    op.drop_index("ix_mail_message_thread_root", table_name="mail_message")
    with op.batch_alter_table("mail_message") as batch:
        batch.drop_column("thread_root")
