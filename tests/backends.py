"""Database backends for store tests: a SQLite file always, PostgreSQL when reachable; and the
readers tests check a store's rows with.

PostgreSQL runs get a schema of their own (dropped afterwards), so parallel test runs on one
database never see each other's rows. Set RURALPOST_TEST_PG to point elsewhere (a URL without
query string); the default is the local trust-auth server.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Table, func, select

from ruralpost.service.store import DecisionRow, RegisteredStation, Store, tables

PG_URL = os.environ.get("RURALPOST_TEST_PG", "")
PG_CANDIDATES = (
    [PG_URL]
    if PG_URL
    else [
        "postgresql://postgres@127.0.0.1:5432/test",
        "postgresql://root@127.0.0.1:5432/test",
    ]
)
BACKENDS = ["sqlite", "postgresql"]


def _reachable_pg() -> tuple[str, str]:
    """(url, "") for the first server that answers, or ("", why none did)."""
    errors = []
    for url in PG_CANDIDATES:
        try:
            with psycopg.connect(url, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            return url, ""
        except psycopg.Error as e:
            errors.append(f"{url}: {str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}")
    return "", "; ".join(errors)


_PG: tuple[str, str] | None = None


def pg_url() -> str:
    """The reachable PostgreSQL URL, or pytest.skip saying why there is none."""
    global _PG
    if _PG is None:
        _PG = _reachable_pg()
    url, why = _PG
    if not url:
        pytest.skip(f"PostgreSQL not reachable, PostgreSQL store tests skipped ({why})")
    return url


@contextmanager
def pg_schema(base: str = "") -> Iterator[str]:
    """A PostgreSQL `--db` URL whose tables live in a fresh schema, dropped afterwards.

    Without `base`, the reachable test server (or a skip saying why there is none).
    """
    base = base or pg_url()
    schema = f"rp_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A `--db` value on a fresh database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield str(tmp_path / "ruralpost.db")
        return
    with pg_schema() as url:
        yield url


@pytest.fixture
def pg_db() -> Iterator[str]:
    """PostgreSQL only (skipped, saying why, where none is reachable)."""
    with pg_schema() as url:
        yield url


# ---- reading a store: what the tests check the service wrote (the service itself never reads these)
@dataclass(frozen=True)
class Registration:
    """One registration of a station, as recorded: the registry's history of a station is a list of them."""

    station: RegisteredStation
    as_of: str  # the evaluation date of the verdict stored with it
    ruleset_version: str
    registered_at: dt.datetime  # when the registry recorded it


def station_history(store: Store, operator: str, station_id: str) -> list[Registration]:
    """Every registration of one station, oldest first (the last one is current)."""
    t = tables.station_registrations
    query = (
        select(*(t.c[f.name] for f in fields(RegisteredStation)), t.c.as_of, t.c.ruleset_version, t.c.registered_at)
        .where(t.c.operator == operator, t.c.station_id == station_id)
        .order_by(t.c.id)
    )
    with store.engine.connect() as conn:
        return [Registration(RegisteredStation(*r[:-3]), *r[-3:]) for r in conn.execute(query)]


def _count(store: Store, table: Table) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def registration_count(store: Store) -> int:
    """Registrations recorded, all stations and all times."""
    return _count(store, tables.station_registrations)


def ledger_counts(store: Store) -> tuple[int, int]:
    """(committed claims, paid waybills)."""
    return _count(store, tables.claims), _count(store, tables.paid_waybills)


def paid_by(store: Store, claim_id: str) -> list[str]:
    p = tables.paid_waybills
    with store.engine.connect() as conn:
        return [r[0] for r in conn.execute(select(p.c.waybill).where(p.c.claim_id == claim_id).order_by(p.c.waybill))]


def payer_of(store: Store, waybill: str) -> str | None:
    p = tables.paid_waybills
    with store.engine.connect() as conn:
        row = conn.execute(select(p.c.claim_id).where(p.c.waybill == waybill)).first()
    return str(row[0]) if row else None


def decision_count(store: Store) -> int:
    """Decision-log rows, once the queued ones are written."""
    store.flush()
    return _count(store, tables.decisions)


def decisions(store: Store, limit: int = 100) -> list[DecisionRow]:
    """The latest decision-log rows, newest first, once the queued ones are written."""
    store.flush()
    d = tables.decisions
    query = select(*(d.c[name] for name in DecisionRow._fields)).order_by(d.c.id.desc()).limit(limit)
    with store.engine.connect() as conn:
        return [DecisionRow(*r) for r in conn.execute(query)]
