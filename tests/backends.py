"""Database backends for store tests: a SQLite file always, PostgreSQL when reachable.

PostgreSQL runs get a schema of their own (dropped afterwards), so parallel test runs on one
database never see each other's rows. Set RURALPOST_TEST_PG to point elsewhere (a URL without
query string); the default is the local trust-auth server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

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
