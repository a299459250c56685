"""Add staff accounts and the assignee of a review item

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 03:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import incasso.store.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", incasso.store.types.UtcDateTime(), nullable=False),
        sa.Column("signed_in_at", incasso.store.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_user")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_user_username")),
    )
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot add a constraint to a table, but it adds a column with an inline
        # reference in place. A batch copy of review_item would fail while foreign keys are on.
        op.execute("ALTER TABLE review_item ADD COLUMN assignee_id INTEGER REFERENCES staff_user(id)")
    else:
        op.add_column("review_item", sa.Column("assignee_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_review_item_assignee_id_staff_user"),
            "review_item",
            "staff_user",
            ["assignee_id"],
            ["id"],
        )
    op.create_index(op.f("ix_review_item_assignee_id"), "review_item", ["assignee_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_review_item_assignee_id"), table_name="review_item")
    with op.batch_alter_table("review_item") as batch:
        batch.drop_column("assignee_id")
    op.drop_table("staff_user")
