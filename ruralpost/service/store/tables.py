"""The tables as this release has them. Same schema on SQLite and PostgreSQL.

The database gets them through the migrations (migrations/versions/, run at start by migrate.py):
a change here comes with a new revision, and a test compares the two.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData()

# The station registry: every registration of a station, appended, never overwritten, each with
# the time it was recorded. A station is (operator, station_id); its
# latest registration (the highest `id`, the order the database recorded them in) holds its current
# facts. Sign codes are unique per county by rule (STN-SIGN-CODE-DUPLICATE within an operator; a
# dispute between operators until the county decides, sign_code_awards), so every registration is
# stored with its verdict rather than refused by the database.
station_registrations = Table(
    "station_registrations",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("operator", String(256), nullable=False),
    Column("station_id", String(128), nullable=False),
    Column("county", String(256), nullable=False),
    Column("sign_code", String(32), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("township", String(256), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("as_of", String(10), nullable=False),
    Column("ruleset_version", String(32), nullable=False),
    Column("station", LargeBinary, nullable=False),  # ruralpost.v1.Station, serialized
    Column("verdict", LargeBinary, nullable=False),  # ruralpost.v1.Verdict, serialized
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Index("station_registrations_station", "operator", "station_id", "id"),
    Index("station_registrations_sign_code", "county", "sign_code"),
)

# The county's decisions on disputed sign codes (STN-SIGN-CODE-DISPUTED, -AWARDED): appended by an
# admin (ResolveSignCode), never updated; the latest row of a (county, sign code) is in force. Who,
# when and why are kept with each.
sign_code_awards = Table(
    "sign_code_awards",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("county", String(256), nullable=False),
    Column("sign_code", String(32), nullable=False),
    Column("operator", String(256), nullable=False),  # the operator awarded the code, as a company
    Column("author", String(256), nullable=False),
    Column("reason", Text, nullable=False),
    Column("awarded_at", DateTime(timezone=True), nullable=False),
    Index("sign_code_awards_code", "county", "sign_code", "id"),
)

# Append-only: every evaluation, what, when, who, input digest, outcome, rules, version.
decisions = Table(
    "decisions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("method", String(64), nullable=False),
    Column("subject_id", String(256), nullable=False),
    Column("caller", String(256), nullable=False),
    Column("input_digest", String(64), nullable=False),
    Column("outcome", String(48), nullable=False),
    Column("rule_ids", Text, nullable=False),
    Column("ruleset_version", String(32), nullable=False),
    Column("as_of", String(10), nullable=False),
    # the reference data's version (empty for what decides on none: stations)
    Column("reference_version", String(32), nullable=False, server_default=""),
)

# The claim ledger (方案 五, 六(三)): one row per committed claim, with the content digest of the
# claim and the answer given, returned again byte for byte when the same claim comes again.
claims = Table(
    "claims",
    metadata,
    Column("claim_id", String(128), primary_key=True),
    Column("digest", String(64), nullable=False),  # sha256 of the deterministic serialization
    Column("programme", String(64), nullable=False),
    Column("operator", String(256), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("period", String(7), nullable=False),
    Column("outcome", String(48), nullable=False),
    Column("eligible_pieces", BigInteger, nullable=False),
    Column("rejected_pieces", BigInteger, nullable=False),
    Column("approved_amount_fen", BigInteger, nullable=False),
    Column("ruleset_version", String(32), nullable=False),
    # the reference data (roster, products, platforms, rates) the claim was decided on, and whether
    # the approver accepted provisional rates its amount rests on (EvaluateClaimRequest)
    Column("reference_version", String(32), nullable=False, server_default=""),
    Column("provisional_rates_accepted", Boolean, nullable=False, server_default=false()),
    Column("response", LargeBinary, nullable=False),  # ruralpost.v1.EvaluateClaimResponse, serialized
    Column("committed_at", DateTime(timezone=True), nullable=False),
)

# Paid waybills: the primary key is what pays a waybill once, whatever the claims and replicas.
paid_waybills = Table(
    "paid_waybills",
    metadata,
    Column("waybill", String(128), primary_key=True),
    Column("claim_id", String(128), nullable=False),
    Index("paid_waybills_claim", "claim_id"),
)

# The reference data's versions (roster, products, platforms, brands, rates), per programme:
# appended, never overwritten; the newest is the one decisions use (store/reference.py).
reference_data = Table(
    "reference_data",
    metadata,
    Column("programme", String(64), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("content_hash", String(32), nullable=False),  # the version answers record
    Column("tables", Text, nullable=False),  # the JSON form of the tables
    Column("author", String(256), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
