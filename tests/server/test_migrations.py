"""The schema's migrations, on SQLite and PostgreSQL: the first revision is the schema store/tables.py
describes, a database made by the release before migrations (0.1, whose tables `create_all` made at
start) upgrades in place and serves its rows, replicas starting together migrate once, and `serve`
refuses a database that a newer ruralpost has upgraded."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, insert

from ruralpost.service.config import DEFAULT_RULES_DIR, Config
from ruralpost.service.digest import digest
from ruralpost.service.ruleset import load_ruleset
from ruralpost.service.server import running
from ruralpost.service.stations.check import registration
from ruralpost.service.store import migrate, open_store, tables
from ruralpost.service.store.sql import database_url
from ruralpost.v1 import claim_pb2, claim_pb2_grpc, common_pb2, station_pb2_grpc
from tests.backends import decisions, ledger_counts, paid_by, registration_count, station_history
from tests.releases import FIRST_VERSION, FIRST_VERSION_STATIONS, RELEASE_0_1
from tests.support import station_request, upbound_claim

RECORDED = dt.datetime(2023, 7, 15, 9, 30, tzinfo=dt.UTC)
OLD_VERSION = "0.1-rules"


def _engine(db: str) -> Engine:
    return create_engine(database_url(db))


def _revisions(db: str) -> list[str]:
    engine = _engine(db)
    try:
        with engine.connect() as conn:
            return migrate.revisions_of(conn)
    finally:
        engine.dispose()


def _differences(db: str) -> list[object]:
    """What Alembic's autogenerate finds between the database and store/tables.py (but the first
    version's `stations` table, which stays as it was, unread)."""
    engine = _engine(db)
    try:
        with engine.connect() as conn:
            found = compare_metadata(MigrationContext.configure(conn), tables.metadata)
    finally:
        engine.dispose()
    return [d for d in found if not _of_the_first_version(d)]


def _of_the_first_version(difference: Any) -> bool:
    """A table (or its index) removed: the first version's, which the database keeps."""
    if isinstance(difference, list):  # a column's changes come as a list of them
        return False
    subject = difference[1]
    return getattr(getattr(subject, "table", subject), "name", None) == "stations"


def _release_0_1(db: str) -> claim_pb2.EvaluateClaimResponse:
    """A database as 0.1 left it: a registered station (also in the first version's table, which
    0.1 had copied), a committed claim and its paid waybills, a decision-log row. Returns the
    claim's stored answer."""
    ruleset = load_ruleset(DEFAULT_RULES_DIR)
    station = station_request().station
    row = registration(ruleset, station, common_pb2.Verdict(outcome=common_pb2.OUTCOME_PASS))
    claim = upbound_claim(claim_id="OLD-CLAIM-1")
    waybills = sorted({p.waybill for p in claim.parcels})  # the example lists one twice
    answer = claim_pb2.EvaluateClaimResponse(
        claim_id=claim.claim_id, committed=True, eligible_pieces=len(waybills), ruleset_version=OLD_VERSION
    )
    engine = _engine(db)
    RELEASE_0_1.create_all(engine)
    FIRST_VERSION.create_all(engine)
    registered = {**row.__dict__, "as_of": "2023-07-15", "ruleset_version": OLD_VERSION, "registered_at": RECORDED}
    with engine.begin() as conn:
        conn.execute(insert(RELEASE_0_1.tables["station_registrations"]).values(**registered))
        conn.execute(insert(FIRST_VERSION_STATIONS).values(**registered))
        conn.execute(
            insert(RELEASE_0_1.tables["claims"]).values(
                claim_id=claim.claim_id,
                digest=digest(claim),
                programme="jingle-2023",
                operator=claim.operator,
                kind="UPBOUND_AGRICULTURAL",
                period="2023-07",
                outcome="CLAIM_OUTCOME_APPROVED",
                eligible_pieces=len(waybills),
                rejected_pieces=0,
                approved_amount_fen=100 * len(waybills),
                ruleset_version=OLD_VERSION,
                response=answer.SerializeToString(deterministic=True),
                committed_at=RECORDED,
            )
        )
        conn.execute(
            insert(RELEASE_0_1.tables["paid_waybills"]), [{"waybill": w, "claim_id": claim.claim_id} for w in waybills]
        )
        # 0.1 wrote the log through the driver: on SQLite, Python's default datetime adapter's text
        at = RECORDED.isoformat(" ") if engine.dialect.name == "sqlite" else RECORDED
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        conn.exec_driver_sql(
            "INSERT INTO decisions (at, method, subject_id, caller, input_digest, outcome, rule_ids, ruleset_version, "
            f"as_of) VALUES ({', '.join([mark] * 9)})",
            (at, "CheckStation", "KJH-XZ-01", "", "d" * 64, "OUTCOME_PASS", "", OLD_VERSION, "2023-07-15"),
        )
    engine.dispose()
    return answer


def test_the_first_revision_is_the_schema_of_tables_py(db: str) -> None:
    open_store(db).close()
    assert _revisions(db) == [migrate.head()]
    assert _differences(db) == []


def test_a_database_of_the_release_before_upgrades_in_place_and_serves_its_rows(db: str) -> None:
    answer = _release_0_1(db)
    assert _revisions(db) == []
    with running(Config(listen="127.0.0.1:0", db=db, grace_seconds=1)) as server:
        store = server.runtime.store
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
            # the registered station holds its sign code: another station showing it is a duplicate
            other = station_request(station_id="KJH-XZ-99")
            verdict = station_pb2_grpc.StationServiceStub(ch).CheckStation(other).verdict
            assert [r.rule_id for r in verdict.reasons] == ["STN-SIGN-CODE-DUPLICATE"]
            # the committed claim comes back as it was stored, byte for byte; its waybills stay paid
            subsidy = claim_pb2_grpc.SubsidyServiceStub(ch)
            again = subsidy.EvaluateClaim(
                claim_pb2.EvaluateClaimRequest(claim=upbound_claim(claim_id="OLD-CLAIM-1"), commit=True)
            )
            assert again.SerializeToString(deterministic=True) == answer.SerializeToString(deterministic=True)
            dry = subsidy.EvaluateClaim(claim_pb2.EvaluateClaimRequest(claim=upbound_claim(claim_id="NEW-CLAIM-1")))
            assert dry.eligible_pieces == 0
            assert "SUB-DUP-LEDGER" in {r for j in dry.rejections for r in j.rule_ids}
        # the first version's table was copied by 0.1 already: nothing is copied twice
        assert registration_count(store) == 1
        (first,) = station_history(store, "山西壹公里信息科技有限公司", "KJH-XZ-01")
        assert first.ruleset_version == OLD_VERSION
        assert ledger_counts(store) == (1, len(paid_by(store, "OLD-CLAIM-1"))) == (1, 4)
        logged = decisions(store)
        assert [r.method for r in logged] == ["EvaluateClaim", "EvaluateClaim:stored", "CheckStation", "CheckStation"]
        old = logged[-1]
        assert (old.ruleset_version, old.subject_id) == (OLD_VERSION, "KJH-XZ-01")
        assert (old.at.astimezone(dt.UTC) if old.at.tzinfo else old.at.replace(tzinfo=dt.UTC)) == RECORDED
        assert all(r.at.year >= 2024 for r in logged[:-1])  # the new rows' times read back as times too
    assert _revisions(db) == [migrate.head()]
    assert _differences(db) == []


@pytest.mark.slow
def test_replicas_starting_together_migrate_once(pg_db: str) -> None:
    """Four processes open one fresh PostgreSQL database at once: one migrates, the others wait for
    it and find the schema up to date."""
    opening = (
        "import sys; from ruralpost.service.store import open_store; print('ready', flush=True); "
        "sys.stdin.readline(); open_store(sys.argv[1]).close()"
    )
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", opening, pg_db],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for p in starts:  # every process imported, then all open the database at once
        assert p.stdout is not None and p.stdout.readline() == "ready\n"
    for p in starts:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    failures = [err for p in starts if (err := p.communicate(timeout=120)[1]) and p.returncode != 0]
    assert failures == []
    assert _revisions(pg_db) == [migrate.head()]


def _from_the_future(db: str) -> None:
    """The database as a newer ruralpost would leave it: at a revision this one does not know."""
    open_store(db).close()
    engine = _engine(db)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()


def test_a_database_newer_than_this_ruralpost_is_refused_and_left_alone(db: str) -> None:
    _from_the_future(db)
    with pytest.raises(migrate.DatabaseTooNew) as refused:
        open_store(db)
    assert refused.value.revisions == ["9999"] and refused.value.head == migrate.head()
    assert _revisions(db) == ["9999"]


@pytest.mark.slow
def test_serve_refuses_a_database_newer_than_itself_in_one_line(tmp_path: Path) -> None:
    db = str(tmp_path / "newer.db")
    _from_the_future(db)
    cli = Path(sys.executable).parent / "ruralpost"
    done = subprocess.run(
        [str(cli), "serve", "--listen", "127.0.0.1:0", "--db", db], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    *_logged, line = done.stderr.splitlines()  # the start's log lines, then the one line that says why
    assert line.startswith("ruralpost: 数据库结构版本 9999 比本程序新"), done.stderr
    assert "ruralpost:" not in "".join(_logged)
    assert f"the database schema is at revision 9999, newer than this ruralpost knows (up to {migrate.head()})" in line
    assert _revisions(db) == ["9999"]
