"""The reference data's versions live in the database: replicas on one database share them.

Revision ID: 0003
Revises: 0002

`reference_data`: one row per version of a programme's reference data (operator roster, products,
platforms, brands, rates), numbered from 1 per programme, never updated or deleted, so every
version a decision was made on stays readable. `content_hash` is the version the answers record
(the hash of the tables); `tables` their JSON form; who changed them, when and why.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reference_data",
        sa.Column("programme", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("content_hash", sa.String(32), nullable=False),
        sa.Column("tables", sa.Text, nullable=False),
        sa.Column("author", sa.String(256), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("reference_data")
