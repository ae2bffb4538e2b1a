"""The store over SQLAlchemy Core: SQLite file or PostgreSQL URL, same behaviour."""

from __future__ import annotations

import collections
import datetime as dt
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Engine, Select, and_, create_engine, event, func, insert, select

from ruralpost.limits import LOG_BATCH_ROWS, LOG_BATCH_SECONDS, LOG_INSERT_ROWS, LOG_QUEUE_ROWS
from ruralpost.service.store import migrate, tables
from ruralpost.service.store.codes import SignCodeIndex
from ruralpost.service.store.ledger import Ledger
from ruralpost.service.store.outage import StoreUnavailable, available
from ruralpost.service.store.reference import ReferenceVersions

log = logging.getLogger(__name__)
T = TypeVar("T")


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
class SignCodeAward:
    """The county's decision on a disputed sign code: whose it is, who recorded it, when and why."""

    county: str
    sign_code: str
    operator: str
    author: str
    reason: str
    awarded_at: dt.datetime


class DecisionRow(NamedTuple):  # a tuple: built on every call, cheaper than a frozen dataclass
    method: str
    subject_id: str
    caller: str
    input_digest: str
    outcome: str
    rule_ids: str
    ruleset_version: str
    as_of: str
    at: dt.datetime
    reference_version: str = ""  # the reference data a claim was decided on


def database_url(db: str) -> str:
    """`--db` takes a SQLite file path or a SQLAlchemy/PostgreSQL URL."""
    if "://" in db:
        if db.startswith(("postgresql://", "postgres://")):
            return "postgresql+psycopg://" + db.split("://", 1)[1]
        return db
    path = Path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _same(value: dt.datetime) -> object:
    return value


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
        self._codes = SignCodeIndex(engine.url.database or "")
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        # the stations of a county whose current (latest) registration shows a code
        self._holders_sql = (
            f"SELECT r.operator, r.station_id FROM station_registrations r WHERE r.county = {mark} "
            f"AND r.sign_code = {mark} AND r.id = (SELECT max(l.id) FROM station_registrations l "
            "WHERE l.operator = r.operator AND l.station_id = r.station_id) ORDER BY r.operator, r.station_id"
        )
        self._award_sql = (
            f"SELECT operator FROM sign_code_awards WHERE county = {mark} AND sign_code = {mark} "
            "ORDER BY id DESC LIMIT 1"
        )
        row = f"({', '.join([mark] * 10)})"
        # SQLite: the time as SQLAlchemy writes it in every other column (Python's default sqlite3
        # adapter for datetimes is deprecated from 3.12 on); PostgreSQL: the datetime itself
        at = tables.decisions.c.at.type.dialect_impl(engine.dialect)
        self._at: Callable[[dt.datetime], object] = at.bind_processor(engine.dialect) or _same
        self._decisions_sql = [  # by the number of rows inserted
            "INSERT INTO decisions (at, method, subject_id, caller, input_digest, outcome, "
            f"rule_ids, ruleset_version, as_of, reference_version) VALUES {', '.join([row] * n)}"
            for n in range(LOG_INSERT_ROWS + 1)
        ]
        try:
            migrate.upgrade(engine)
        except BaseException:  # no start: nothing left open
            engine.dispose()
            raise
        self.ledger = Ledger(engine)  # claims and paid waybills
        self.reference = ReferenceVersions(engine)  # the reference data's versions
        self._log_rows: collections.deque[DecisionRow | threading.Event] = collections.deque()
        self._closing = threading.Event()
        self._writer = threading.Thread(target=self._write_decisions, name="decision-log", daemon=True)
        self._writer.start()

    # ---- station registry: every registration appended, the latest one current
    def register_station(self, row: RegisteredStation, ruleset_version: str, as_of: str) -> None:
        """Appends a registration; the station's earlier ones stay as they were."""
        with available(), self.engine.begin() as conn:
            conn.execute(
                insert(tables.station_registrations).values(
                    operator=row.operator,
                    station_id=row.station_id,
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
            )

    def sign_code_holders(self, county: str, sign_code: str) -> list[tuple[str, str]]:
        """(operator, station_id) of stations of the county whose current registration shows this code.

        On every CheckStation: plain driver SQL, as SQLAlchemy's statement building costs more
        than the query itself.
        """
        if self.is_sqlite:
            return self._indexed(self._codes.holders, county, sign_code)
        with available(), self.engine.connect() as conn:
            rows = conn.exec_driver_sql(self._holders_sql, (county, sign_code))
            return [(r[0], r[1]) for r in rows]

    @staticmethod
    def _indexed(read: Callable[[str, str], T], county: str, sign_code: str) -> T:
        """SQLite: from the index in memory, which reads what was appended since (store/codes.py)."""
        try:
            return read(county, sign_code)
        except sqlite3.Error as e:
            raise StoreUnavailable(f"数据库暂不可用 (database unavailable): {e}") from e

    # ---- the county's decisions on disputed sign codes: appended, the latest one in force
    def award_sign_code(self, county: str, sign_code: str, operator: str, author: str, reason: str) -> SignCodeAward:
        """Records that the county awards the code to `operator`; earlier decisions stay as they were."""
        award = SignCodeAward(county, sign_code, operator, author, reason, dt.datetime.now(dt.UTC))
        with available(), self.engine.begin() as conn:
            conn.execute(
                insert(tables.sign_code_awards).values(
                    county=county,
                    sign_code=sign_code,
                    operator=operator,
                    author=author,
                    reason=reason,
                    awarded_at=award.awarded_at,
                )
            )
        return award

    def sign_code_awards(self, county: str | None = None, sign_code: str | None = None) -> list[SignCodeAward]:
        """Every decision recorded (of one county and code when given), oldest first."""
        a = tables.sign_code_awards
        query = select(a.c.county, a.c.sign_code, a.c.operator, a.c.author, a.c.reason, a.c.awarded_at)
        if county is not None:
            query = query.where(a.c.county == county)
        if sign_code is not None:
            query = query.where(a.c.sign_code == sign_code)
        with available(), self.engine.connect() as conn:
            return [SignCodeAward(*r) for r in conn.execute(query.order_by(a.c.id))]

    def sign_code_award(self, county: str, sign_code: str) -> str:
        """The operator the county awarded the code to, "" when it has not decided. Read for every
        station whose code another operator shows (stations/check.py): on SQLite from the index in
        memory, on PostgreSQL plain driver SQL, like `sign_code_holders`."""
        if self.is_sqlite:
            return self._indexed(self._codes.award, county, sign_code)
        with available(), self.engine.connect() as conn:
            found = conn.exec_driver_sql(self._award_sql, (county, sign_code)).first()
            return str(found[0]) if found else ""

    def awards_in_force(self) -> dict[tuple[str, str], str]:
        """(county, sign code) -> the operator awarded it, for every code decided (the progress report)."""
        return {(a.county, a.sign_code): a.operator for a in self.sign_code_awards()}

    @staticmethod
    def _current(query: Select[Any]) -> Select[Any]:
        """Only each station's latest registration."""
        t = tables.station_registrations
        every = t.alias("every_registration")
        latest = select(func.max(every.c.id)).group_by(every.c.operator, every.c.station_id)
        return query.where(t.c.id.in_(latest))

    @staticmethod
    def _registered() -> Select[Any]:
        t = tables.station_registrations
        return select(
            t.c.operator,
            t.c.station_id,
            t.c.county,
            t.c.sign_code,
            t.c.kind,
            t.c.township,
            t.c.outcome,
            t.c.station,
            t.c.verdict,
        )

    def stations(self) -> list[RegisteredStation]:
        """Every registered station as its latest registration holds it, by operator and station id."""
        t = tables.station_registrations
        query = self._current(self._registered()).order_by(t.c.operator, t.c.station_id)
        with available(), self.engine.connect() as conn:
            return [RegisteredStation(*r) for r in conn.execute(query)]

    def stations_with_codes(self, county: str, sign_codes: Collection[str]) -> dict[str, list[RegisteredStation]]:
        """Sign code -> the stations of the county whose current registration shows it (SUB-DOWN-STATION)."""
        t = tables.station_registrations
        codes = sorted(set(sign_codes))
        found: dict[str, list[RegisteredStation]] = {}
        with available(), self.engine.connect() as conn:
            for start in range(0, len(codes), 1000):
                chunk = codes[start : start + 1000]
                query = self._current(
                    self._registered().where(and_(t.c.county == county, t.c.sign_code.in_(chunk)))
                ).order_by(t.c.sign_code, t.c.operator, t.c.station_id)
                for r in conn.execute(query):
                    row = RegisteredStation(*r)
                    found.setdefault(row.sign_code, []).append(row)
        return found

    # ---- decision log
    def log_decision(self, row: DecisionRow) -> None:
        """Queues the row for the writer: a deque append, no lock and no wake-up on the request
        path. A database that cannot keep up slows the callers down rather than losing rows."""
        while len(self._log_rows) >= LOG_QUEUE_ROWS and self._writer.is_alive():
            time.sleep(LOG_BATCH_SECONDS / 5)
        self._log_rows.append(row)

    def _write_decisions(self) -> None:
        """Writes the queued rows every LOG_BATCH_SECONDS (sooner while a backlog remains): one
        transaction for hundreds of evaluations. The writer polls rather than being woken: a
        wake-up per call is a GIL hand-off per call, which the request threads pay."""
        rows = self._log_rows
        while True:
            closing = self._closing.is_set()
            if len(rows) < LOG_BATCH_ROWS and not closing:
                closing = self._closing.wait(LOG_BATCH_SECONDS)
            batch: list[DecisionRow] = []
            flushed: list[threading.Event] = []  # flush() marks: set once the rows before them are written
            while rows and len(batch) < LOG_BATCH_ROWS:
                item = rows.popleft()
                if isinstance(item, threading.Event):
                    flushed.append(item)
                else:
                    batch.append(item)
            try:
                if batch:
                    self._insert_decisions(batch)
            except Exception:  # the log must never take the service down; say so loudly
                log.exception("decision log: %d rows not written", len(batch))
            for mark in flushed:
                mark.set()
            if closing and not rows:
                return

    def _insert_decisions(self, rows: list[DecisionRow]) -> None:
        """Up to LOG_INSERT_ROWS rows per statement, in one transaction.

        A statement per row cost the request path more than the insert itself: the driver lets
        go of the GIL around every row's step, and each time a request thread and the writer
        hand it over (in process, 250 µs per check with the log against 180 without)."""
        with self.engine.begin() as conn:
            for start in range(0, len(rows), LOG_INSERT_ROWS):
                chunk = rows[start : start + LOG_INSERT_ROWS]
                values = tuple(
                    v
                    for r in chunk
                    for v in (self._at(r.at), r.method, r.subject_id, r.caller, r.input_digest, r.outcome,
                              r.rule_ids, r.ruleset_version, r.as_of, r.reference_version)
                )  # fmt: skip
                conn.exec_driver_sql(self._decisions_sql[len(chunk)], values)

    def flush(self) -> None:
        """Waits until every decision-log row queued before the call is written."""
        if self._writer.is_alive():
            written = threading.Event()
            self._log_rows.append(written)
            while not written.wait(1) and self._writer.is_alive():
                pass

    def close(self) -> None:
        if self._writer.is_alive():
            self._closing.set()
            self._writer.join(timeout=30)
        self._codes.close()
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
