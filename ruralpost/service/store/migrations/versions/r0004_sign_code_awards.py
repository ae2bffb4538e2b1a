"""The county's decisions on disputed sign codes.

Revision ID: 0004
Revises: 0003

`sign_code_awards`: one row per decision an admin records (ResolveSignCode): the county, the sign
code, the operator awarded it, who, when and why. Never updated or deleted; the latest row of a
(county, sign code) is in force, so every decision stays readable.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_code_awards",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("county", sa.String(256), nullable=False),
        sa.Column("sign_code", sa.String(32), nullable=False),
        sa.Column("operator", sa.String(256), nullable=False),
        sa.Column("author", sa.String(256), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("awarded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("sign_code_awards_code", "sign_code_awards", ["county", "sign_code", "id"])


def downgrade() -> None:
    op.drop_index("sign_code_awards_code", table_name="sign_code_awards")
    op.drop_table("sign_code_awards")
