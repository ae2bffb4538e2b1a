"""The schema of ruralpost 0.1, the release before migrations, and its first-version registry copied.

Revision ID: 0001
Revises:

0.1 created its tables at start (`create_all`: each table and its indexes where absent), so a
database it made may hold all of them; this revision creates the ones that are absent, the same
way, and takes the others as they are. The tables are written out here as 0.1 had them: later
revisions change them, this one stays.

The first version kept one row per station in a table named `stations`, overwritten on each
registration. Its rows are copied into `station_registrations` as each station's first
registration, with the time it was recorded, while the history is empty (0.1 copied them at
start the same way); the old table is left as it was, unread. An old table of another shape is
left alone.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")  # SQLite's rowid alias autoincrements
OLD_STATIONS = "stations"
OLD_STATION_COLUMNS = (
    "operator",
    "station_id",
    "county",
    "sign_code",
    "kind",
    "township",
    "outcome",
    "as_of",
    "ruleset_version",
    "station",
    "verdict",
    "registered_at",
)


def _station_registrations() -> None:
    op.create_table(
        "station_registrations",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("operator", sa.String(256), nullable=False),
        sa.Column("station_id", sa.String(128), nullable=False),
        sa.Column("county", sa.String(256), nullable=False),
        sa.Column("sign_code", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("township", sa.String(256), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("as_of", sa.String(10), nullable=False),
        sa.Column("ruleset_version", sa.String(32), nullable=False),
        sa.Column("station", sa.LargeBinary, nullable=False),
        sa.Column("verdict", sa.LargeBinary, nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("station_registrations_station", "station_registrations", ["operator", "station_id", "id"])
    op.create_index("station_registrations_sign_code", "station_registrations", ["county", "sign_code"])


def _decisions() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(256), nullable=False),
        sa.Column("caller", sa.String(256), nullable=False),
        sa.Column("input_digest", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(48), nullable=False),
        sa.Column("rule_ids", sa.Text, nullable=False),
        sa.Column("ruleset_version", sa.String(32), nullable=False),
        sa.Column("as_of", sa.String(10), nullable=False),
    )


def _claims() -> None:
    op.create_table(
        "claims",
        sa.Column("claim_id", sa.String(128), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("programme", sa.String(64), nullable=False),
        sa.Column("operator", sa.String(256), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("outcome", sa.String(48), nullable=False),
        sa.Column("eligible_pieces", sa.BigInteger, nullable=False),
        sa.Column("rejected_pieces", sa.BigInteger, nullable=False),
        sa.Column("approved_amount_fen", sa.BigInteger, nullable=False),
        sa.Column("ruleset_version", sa.String(32), nullable=False),
        sa.Column("response", sa.LargeBinary, nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=False),
    )


def _paid_waybills() -> None:
    op.create_table(
        "paid_waybills",
        sa.Column("waybill", sa.String(128), primary_key=True),
        sa.Column("claim_id", sa.String(128), nullable=False),
    )
    op.create_index("paid_waybills_claim", "paid_waybills", ["claim_id"])


TABLES = {
    "station_registrations": _station_registrations,
    "decisions": _decisions,
    "claims": _claims,
    "paid_waybills": _paid_waybills,
}


def _copy_first_version_registry(present: set[str]) -> None:
    if OLD_STATIONS not in present:
        return
    bind = op.get_bind()
    columns = {c["name"] for c in sa.inspect(bind).get_columns(OLD_STATIONS)}
    if not set(OLD_STATION_COLUMNS) <= columns:
        log.warning("table %s has not the first version's columns; not copied", OLD_STATIONS)
        return
    names = ", ".join(OLD_STATION_COLUMNS)
    copied = bind.exec_driver_sql(
        f"INSERT INTO station_registrations ({names}) SELECT {names} FROM {OLD_STATIONS} "
        "WHERE NOT EXISTS (SELECT 1 FROM station_registrations) ORDER BY registered_at, operator, station_id"
    ).rowcount
    if copied:
        log.info("registry: %d stations copied from the old table %s", copied, OLD_STATIONS)


def upgrade() -> None:
    present = set(sa.inspect(op.get_bind()).get_table_names())
    for name, create in TABLES.items():
        if name not in present:
            create()
    _copy_first_version_registry(present)


def downgrade() -> None:
    raise NotImplementedError("ruralpost upgrades only: to go back, restore the backup taken before upgrading")
