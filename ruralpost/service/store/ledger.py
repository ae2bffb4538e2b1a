"""The claim ledger: committed claims and paid waybills, on SQLite or PostgreSQL.

Paying a waybill twice is prevented by the database, not by a check beforehand: a commit inserts
the claim row (claim_id unique) and its eligible waybills (waybill unique) in one transaction. When
a racing commit (another thread or replica) got there first, the transaction rolls back and the
caller learns which: the claim id is taken (`CLAIM_EXISTS`), or a waybill is (`WAYBILL_TAKEN`:
evaluate again against the ledger and retry). Waybills are inserted in sorted order, so two
PostgreSQL commits sharing waybills wait for each other instead of deadlocking.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Collection
from dataclasses import dataclass

import psycopg
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from ruralpost.service.store import tables
from ruralpost.service.store.outage import available

SQLITE_CHUNK = 5_000  # host parameters per look-up (SQLite's limit is 32,766 since 3.32)


@dataclass(frozen=True)
class StoredClaim:
    digest: str
    response: bytes
    operator: str = ""  # as the claim wrote it


@dataclass(frozen=True)
class ClaimRecord:
    """What a commit writes: the claim's identity, its verdict, the answer and the waybills paid."""

    claim_id: str
    digest: str
    programme: str
    operator: str
    kind: str
    period: str
    outcome: str
    eligible_pieces: int
    rejected_pieces: int
    approved_amount_fen: int
    ruleset_version: str
    reference_version: str  # the reference data (roster, products, platforms, rates) decided on
    provisional_rates_accepted: bool  # the approver accepted provisional rates the amount rests on
    response: bytes
    waybills: list[str]  # normalised, unique, sorted


class Commit(enum.Enum):
    COMMITTED = "committed"
    CLAIM_EXISTS = "claim_exists"  # the claim id was committed meanwhile: read it back
    WAYBILL_TAKEN = "waybill_taken"  # a waybill was paid meanwhile: evaluate again


def _retryable(error: BaseException) -> bool:
    """A unique violation, or PostgreSQL giving up on lock order or serialization."""
    cause = error.orig if isinstance(error, DBAPIError) else error
    return isinstance(error, IntegrityError) or isinstance(
        cause, (psycopg.errors.IntegrityError, psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
    )


class Ledger:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"

    def stored_claim(self, claim_id: str) -> StoredClaim | None:
        c = tables.claims
        with available(), self.engine.connect() as conn:
            row = conn.execute(select(c.c.digest, c.c.response, c.c.operator).where(c.c.claim_id == claim_id)).first()
        return StoredClaim(row[0], bytes(row[1]), row[2]) if row else None

    def paid_among(self, waybills: Collection[str]) -> set[str]:
        """The given waybills that a committed claim has already been paid for."""
        return set(self._paid(waybills, "SELECT waybill, '' FROM paid_waybills WHERE waybill"))

    def paid_to(self, waybills: Collection[str]) -> dict[str, str]:
        """The given waybills a committed claim has been paid for -> that claim's operator (for an
        operator's own view of the ledger: its own paid waybills only)."""
        return self._paid(
            waybills,
            "SELECT w.waybill, coalesce(c.operator, '') FROM paid_waybills w "
            "LEFT JOIN claims c ON c.claim_id = w.claim_id WHERE w.waybill",
        )

    def _paid(self, waybills: Collection[str], select_where: str) -> dict[str, str]:
        """`select_where` (two columns, ending at the waybill column) over the given waybills."""
        items = list(waybills)
        paid: dict[str, str] = {}
        with available(), self.engine.connect() as conn:
            if self.is_sqlite:
                for start in range(0, len(items), SQLITE_CHUNK):
                    chunk = items[start : start + SQLITE_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    paid.update(
                        (r[0], r[1]) for r in conn.exec_driver_sql(f"{select_where} IN ({marks})", tuple(chunk))
                    )
            elif items:
                paid.update((r[0], r[1]) for r in conn.exec_driver_sql(f"{select_where} = ANY(%s)", (items,)))
        return paid

    def commit(self, record: ClaimRecord) -> Commit:
        """Records the claim and its waybills atomically, or nothing."""
        with available():  # outside the retry decision: a lost race is not an outage
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(tables.claims).values(
                            claim_id=record.claim_id,
                            digest=record.digest,
                            programme=record.programme,
                            operator=record.operator,
                            kind=record.kind,
                            period=record.period,
                            outcome=record.outcome,
                            eligible_pieces=record.eligible_pieces,
                            rejected_pieces=record.rejected_pieces,
                            approved_amount_fen=record.approved_amount_fen,
                            ruleset_version=record.ruleset_version,
                            reference_version=record.reference_version,
                            provisional_rates_accepted=record.provisional_rates_accepted,
                            response=record.response,
                            committed_at=dt.datetime.now(dt.UTC),
                        )
                    )
                    if record.waybills:
                        self._insert_waybills(conn, record.claim_id, record.waybills)
            except Exception as e:
                if not _retryable(e):
                    raise
                return Commit.CLAIM_EXISTS if self.stored_claim(record.claim_id) else Commit.WAYBILL_TAKEN
        return Commit.COMMITTED

    def _insert_waybills(self, conn: Connection, claim_id: str, waybills: list[str]) -> None:
        if self.is_sqlite:
            conn.exec_driver_sql(
                "INSERT INTO paid_waybills (waybill, claim_id) VALUES (?, ?)", [(w, claim_id) for w in waybills]
            )
            return
        driver = conn.connection.driver_connection
        assert isinstance(driver, psycopg.Connection)
        statement = "COPY paid_waybills (waybill, claim_id) FROM STDIN"
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for waybill in waybills:
                copy.write_row((waybill, claim_id))
