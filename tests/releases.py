"""The schemas of earlier releases, exactly as they made their databases: the migration tests
start from them (a database of the release before must upgrade in place)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

# 0.1, the release before migrations: its tables as its create_all made them at start.
RELEASE_0_1 = MetaData()
ID = BigInteger().with_variant(Integer, "sqlite")
Table(
    "station_registrations",
    RELEASE_0_1,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("operator", String(256), nullable=False),
    Column("station_id", String(128), nullable=False),
    Column("county", String(256), nullable=False),
    Column("sign_code", String(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("township", String(256), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("as_of", String(10), nullable=False),
    Column("ruleset_version", String(32), nullable=False),
    Column("station", LargeBinary, nullable=False),
    Column("verdict", LargeBinary, nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Index("station_registrations_station", "operator", "station_id", "id"),
    Index("station_registrations_sign_code", "county", "sign_code"),
)
Table(
    "decisions",
    RELEASE_0_1,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("method", String(64), nullable=False),
    Column("subject_id", String(256), nullable=False),
    Column("caller", String(256), nullable=False),
    Column("input_digest", String(64), nullable=False),
    Column("outcome", String(48), nullable=False),
    Column("rule_ids", Text, nullable=False),
    Column("ruleset_version", String(32), nullable=False),
    Column("as_of", String(10), nullable=False),
)
Table(
    "claims",
    RELEASE_0_1,
    Column("claim_id", String(128), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("programme", String(64), nullable=False),
    Column("operator", String(256), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("period", String(7), nullable=False),
    Column("outcome", String(48), nullable=False),
    Column("eligible_pieces", BigInteger, nullable=False),
    Column("rejected_pieces", BigInteger, nullable=False),
    Column("approved_amount_fen", BigInteger, nullable=False),
    Column("ruleset_version", String(32), nullable=False),
    Column("response", LargeBinary, nullable=False),
    Column("committed_at", DateTime(timezone=True), nullable=False),
)
Table(
    "paid_waybills",
    RELEASE_0_1,
    Column("waybill", String(128), primary_key=True),
    Column("claim_id", String(128), nullable=False),
    Index("paid_waybills_claim", "claim_id"),
)
# The first version's registry table (one row per station, overwritten on each registration), as
# it created it; 0.1 copied its rows into station_registrations once.
FIRST_VERSION = MetaData()
FIRST_VERSION_STATIONS = Table(
    "stations",
    FIRST_VERSION,
    *(Column(c.name, c.type, nullable=False) for c in RELEASE_0_1.tables["station_registrations"].c if c.name != "id"),
    PrimaryKeyConstraint("operator", "station_id"),
    Index("stations_sign_code", "county", "sign_code"),
)
