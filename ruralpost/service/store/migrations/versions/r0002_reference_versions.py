"""Every decision records the reference data it was decided on; a claim, whether its approver accepted
provisional rates.

Revision ID: 0002
Revises: 0001

`decisions.reference_version` and `claims.reference_version`: the version of the operator roster,
products, platforms and rates a claim was decided on (empty for decisions that read none, and for
rows written before this revision). `claims.provisional_rates_accepted`: the approver committed an
amount that rests on rates still marked provisional, knowingly (false for earlier rows, which were
committed before acceptance was asked for).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as table:
        table.add_column(sa.Column("reference_version", sa.String(32), nullable=False, server_default=""))
    with op.batch_alter_table("claims") as table:
        table.add_column(sa.Column("reference_version", sa.String(32), nullable=False, server_default=""))
        table.add_column(sa.Column("provisional_rates_accepted", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("claims") as table:
        table.drop_column("provisional_rates_accepted")
        table.drop_column("reference_version")
    with op.batch_alter_table("decisions") as table:
        table.drop_column("reference_version")
