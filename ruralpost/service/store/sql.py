"""The store over SQLAlchemy Core: SQLite file or PostgreSQL URL, same behaviour."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import queue
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ruralpost.service.store import schema
from ruralpost.service.store.ledger import Ledger
from ruralpost.service.store.outage import StoreUnavailable, available

log = logging.getLogger(__name__)
LOG_BATCH_SECONDS = 0.05
LOG_BATCH_ROWS = 2000
LOG_QUEUE_ROWS = 100_000


@dataclass(frozen=True)
class RegisteredStation:
    operator: str
    station_id: str
    county: str
    sign_code: str
    kind: str
    township: str
    outcome: str
    station: bytes
    verdict: bytes


@dataclass(frozen=True)
class DecisionRow:
    method: str
    subject_id: str
    caller: str
    input_digest: str
    outcome: str
    rule_ids: str
    ruleset_version: str
    as_of: str
    at: dt.datetime


def database_url(db: str) -> str:
    """`--db` takes a SQLite file path or a SQLAlchemy/PostgreSQL URL."""
    if "://" in db:
        if db.startswith(("postgresql://", "postgres://")):
            return "postgresql+psycopg://" + db.split("://", 1)[1]
        return db
    path = Path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Store:
    """Registry, ledger and decision log over one database.

    Decision-log rows are queued and written in batches by one thread, so logging costs the
    request path a queue put; `flush()` and `close()` wait for them.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._insert = sqlite_insert if self.is_sqlite else pg_insert
        self._local = threading.local()
        self._sqlite_path = engine.url.database or ""
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._holders_sql = (
            f"SELECT operator, station_id FROM stations WHERE county = {mark} "
            f"AND sign_code = {mark} ORDER BY operator, station_id"
        )
        self._decisions_sql = (
            "INSERT INTO decisions (at, method, subject_id, caller, input_digest, outcome, "
            f"rule_ids, ruleset_version, as_of) VALUES ({', '.join([mark] * 9)})"
        )
        schema.metadata.create_all(engine)
        self.ledger = Ledger(engine)  # claims and paid waybills
        # bounded: a database that cannot keep up slows the callers down rather than losing rows
        self._log_queue: queue.Queue[DecisionRow | None] = queue.Queue(maxsize=LOG_QUEUE_ROWS)
        self._closing = threading.Event()
        self._writer = threading.Thread(target=self._write_decisions, name="decision-log", daemon=True)
        self._writer.start()

    # ---- station registry
    def register_station(self, row: RegisteredStation, ruleset_version: str, as_of: str) -> None:
        values = dict(
            county=row.county,
            sign_code=row.sign_code,
            kind=row.kind,
            township=row.township,
            outcome=row.outcome,
            as_of=as_of,
            ruleset_version=ruleset_version,
            station=row.station,
            verdict=row.verdict,
            registered_at=dt.datetime.now(dt.UTC),
        )
        upsert = self._insert(schema.stations).values(operator=row.operator, station_id=row.station_id, **values)
        upsert = upsert.on_conflict_do_update(index_elements=["operator", "station_id"], set_=values)
        with available(), self.engine.begin() as conn:
            conn.execute(upsert)

    def sign_code_holders(self, county: str, sign_code: str) -> list[tuple[str, str]]:
        """(operator, station_id) of registered stations of the county showing this code.

        On every CheckStation: plain driver SQL, as SQLAlchemy's statement building costs more
        than the query itself.
        """
        if self.is_sqlite:
            return self._sqlite_holders(county, sign_code)
        with available(), self.engine.connect() as conn:
            rows = conn.exec_driver_sql(self._holders_sql, (county, sign_code))
            return [(r[0], r[1]) for r in rows]

    def _sqlite_holders(self, county: str, sign_code: str) -> list[tuple[str, str]]:
        """SQLite: a long-lived read connection per thread (WAL readers see every commit)."""
        conn = getattr(self._local, "reader", None)
        try:
            if conn is None:
                conn = self._local.reader = sqlite3.connect(self._sqlite_path, timeout=30, check_same_thread=False)
            return [(r[0], r[1]) for r in conn.execute(self._holders_sql, (county, sign_code))]
        except sqlite3.Error as e:
            self._local.reader = None
            raise StoreUnavailable(f"数据库暂不可用 (database unavailable): {e}") from e

    def stations(self) -> list[RegisteredStation]:
        t = schema.stations
        query = select(
            t.c.operator,
            t.c.station_id,
            t.c.county,
            t.c.sign_code,
            t.c.kind,
            t.c.township,
            t.c.outcome,
            t.c.station,
            t.c.verdict,
        ).order_by(t.c.operator, t.c.station_id)
        with available(), self.engine.connect() as conn:
            return [RegisteredStation(*r) for r in conn.execute(query)]

    # ---- decision log
    def log_decision(self, row: DecisionRow) -> None:
        self._log_queue.put(row)

    def _write_decisions(self) -> None:
        """Writes queued rows in batches gathered over LOG_BATCH_SECONDS: one transaction for
        hundreds of evaluations. The writer sleeps while a batch gathers instead of waking for
        every row: a wake-up per call is a GIL hand-off per call, which the request threads pay."""
        while True:
            batch: list[DecisionRow | None] = [self._log_queue.get()]
            if batch[0] is not None:
                self._closing.wait(LOG_BATCH_SECONDS)
                with contextlib.suppress(queue.Empty):
                    while len(batch) < LOG_BATCH_ROWS and batch[-1] is not None:
                        batch.append(self._log_queue.get_nowait())
            rows = [r for r in batch if r is not None]
            try:
                if rows:
                    self._insert_decisions(rows)
            except Exception:  # the log must never take the service down; say so loudly
                log.exception("decision log: %d rows not written", len(rows))
            finally:
                for _ in batch:
                    self._log_queue.task_done()
            if batch[-1] is None:
                return

    def _insert_decisions(self, rows: Iterable[DecisionRow]) -> None:
        # driver-level executemany: the log is written off the request path, but shares its GIL
        with self.engine.begin() as conn:
            conn.exec_driver_sql(
                self._decisions_sql,
                [
                    (
                        r.at,
                        r.method,
                        r.subject_id,
                        r.caller,
                        r.input_digest,
                        r.outcome,
                        r.rule_ids,
                        r.ruleset_version,
                        r.as_of,
                    )
                    for r in rows
                ],
            )

    def flush(self) -> None:
        """Waits until every queued decision-log row is written."""
        self._log_queue.join()

    def decision_count(self) -> int:
        self.flush()
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(schema.decisions)).scalar_one())

    def decisions(self, limit: int = 100) -> list[DecisionRow]:
        self.flush()
        d = schema.decisions
        query = (
            select(
                d.c.method,
                d.c.subject_id,
                d.c.caller,
                d.c.input_digest,
                d.c.outcome,
                d.c.rule_ids,
                d.c.ruleset_version,
                d.c.as_of,
                d.c.at,
            )
            .order_by(d.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [DecisionRow(*r) for r in conn.execute(query)]

    def close(self) -> None:
        if self._writer.is_alive():
            self._closing.set()
            self._log_queue.put(None)
            self._writer.join(timeout=30)
        self.engine.dispose()


def open_store(db: str) -> Store:
    """Opens (and creates or migrates) the store named by `--db`."""
    url = database_url(db)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8, max_overflow=8
        )
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_size=8, max_overflow=8, pool_pre_ping=True)
    return Store(engine)
