"""The registry keeps every registration of a station (history appended, never overwritten, each with
the time recorded); the latest one is current. SQLite and PostgreSQL, and a database of the first
version, whose one-row-per-station `stations` table is copied into the history once."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, insert

from ruralpost.service.store import DecisionRow, RegisteredStation, open_store
from ruralpost.service.store.sql import database_url
from ruralpost.v1 import station_pb2
from tests.backends import registration_count, station_history
from tests.releases import FIRST_VERSION, FIRST_VERSION_STATIONS


def _row(station_id: str, code: str, township: str = "康家会镇", outcome: str = "OUTCOME_PASS") -> RegisteredStation:
    station = station_pb2.Station(station_id=station_id, township=township)
    station.signage.code = code
    return RegisteredStation(
        operator="山西壹公里信息科技有限公司",
        station_id=station_id,
        county="140926",
        sign_code=code,
        kind="VILLAGE_POINT",
        township=township,
        outcome=outcome,
        station=station.SerializeToString(),
        verdict=b"",
    )


def test_registrations_are_appended_and_the_latest_is_current(db: str) -> None:
    store = open_store(db)
    try:
        store.register_station(_row("P-1", "C0001"), "v1", "2023-06-01")
        store.register_station(_row("P-2", "C0002"), "v1", "2023-06-01")
        store.register_station(_row("P-1", "C0003", township="鹅城镇", outcome="OUTCOME_FAIL"), "v2", "2023-07-01")
        history = station_history(store, "山西壹公里信息科技有限公司", "P-1")
        assert [(h.station.sign_code, h.station.township, h.as_of, h.ruleset_version) for h in history] == [
            ("C0001", "康家会镇", "2023-06-01", "v1"),
            ("C0003", "鹅城镇", "2023-07-01", "v2"),
        ]
        assert history[0].registered_at <= history[1].registered_at
        assert registration_count(store) == 3
        current = {(r.station_id, r.sign_code, r.outcome) for r in store.stations()}
        assert current == {("P-1", "C0003", "OUTCOME_FAIL"), ("P-2", "C0002", "OUTCOME_PASS")}
        # the code P-1 showed before is free again; only current registrations hold codes
        assert store.sign_code_holders("140926", "C0001") == []
        assert store.sign_code_holders("140926", "C0003") == [("山西壹公里信息科技有限公司", "P-1")]
        found = store.stations_with_codes("140926", ["C0001", "C0002", "C0003", "C9999"])
        assert {code: [r.station_id for r in rows] for code, rows in found.items()} == {
            "C0002": ["P-2"],
            "C0003": ["P-1"],
        }
        assert store.stations_with_codes("140900", ["C0002"]) == {}
    finally:
        store.close()


def test_a_database_of_the_first_version_keeps_its_stations(db: str) -> None:
    engine = create_engine(database_url(db))
    FIRST_VERSION.create_all(engine)
    recorded = dt.datetime(2023, 6, 1, 8, 0, tzinfo=dt.UTC)
    with engine.begin() as conn:
        for station_id, code in (("OLD-1", "C0007"), ("OLD-2", "XZ0002")):
            row = _row(station_id, code)
            conn.execute(
                insert(FIRST_VERSION_STATIONS).values(
                    operator=row.operator,
                    station_id=row.station_id,
                    county=row.county,
                    sign_code=row.sign_code,
                    kind=row.kind,
                    township=row.township,
                    outcome=row.outcome,
                    as_of="2023-06-01",
                    ruleset_version="old",
                    station=row.station,
                    verdict=row.verdict,
                    registered_at=recorded,
                )
            )
    engine.dispose()
    for _ in range(2):  # a restart copies nothing twice
        store = open_store(db)
        try:
            assert [(r.station_id, r.sign_code) for r in store.stations()] == [("OLD-1", "C0007"), ("OLD-2", "XZ0002")]
            assert registration_count(store) == 2
            (first,) = station_history(store, "山西壹公里信息科技有限公司", "OLD-1")
            assert (first.ruleset_version, first.as_of) == ("old", "2023-06-01")
            at = first.registered_at  # SQLite gives it back without a zone
            assert (at.astimezone(dt.UTC) if at.tzinfo else at.replace(tzinfo=dt.UTC)) == recorded
            assert store.sign_code_holders("140926", "C0007") == [("山西壹公里信息科技有限公司", "OLD-1")]
        finally:
            store.close()
    store = open_store(db)
    try:
        store.register_station(_row("OLD-1", "C0008"), "new", "2023-07-01")
        assert [h.station.sign_code for h in station_history(store, "山西壹公里信息科技有限公司", "OLD-1")] == [
            "C0007",
            "C0008",
        ]
    finally:
        store.close()


_REGISTER_ELSEWHERE = """
import sys
from ruralpost.service.store import open_store
from tests.stations.test_registry import _row
db, station_id, code = sys.argv[1:]
store = open_store(db)
try:
    store.register_station(_row(station_id, code), "v1", "2023-06-01")
finally:
    store.close()
"""
ROOT = Path(__file__).resolve().parents[2]  # where the subprocess imports this module from


def test_the_sign_codes_follow_what_another_process_registers(db: str) -> None:
    """On SQLite the look-up answers from memory: each registration made by another process (a
    worker, another server on the file) shows at once, a station moving to another code too."""
    operator = "山西壹公里信息科技有限公司"
    store = open_store(db)
    try:
        store.log_decision(_decision())  # the decision log commits beside the registrations
        assert store.sign_code_holders("140926", "C0011") == []
        expected = [
            (("P-1", "C0011"), {"C0011": [(operator, "P-1")], "C0012": []}),
            (("P-2", "C0011"), {"C0011": [(operator, "P-1"), (operator, "P-2")], "C0012": []}),
            (("P-1", "C0012"), {"C0011": [(operator, "P-2")], "C0012": [(operator, "P-1")]}),
        ]
        for (station_id, code), holders in expected:
            subprocess.run([sys.executable, "-c", _REGISTER_ELSEWHERE, db, station_id, code], check=True, cwd=ROOT)
            assert {c: store.sign_code_holders("140926", c) for c in holders} == holders
            store.log_decision(_decision())
            store.flush()
            assert store.sign_code_holders("140926", "C0011") == holders["C0011"]
    finally:
        store.close()


_AWARD_ELSEWHERE = """
import sys
from ruralpost.service.store import open_store
db, code, operator = sys.argv[1:]
store = open_store(db)
try:
    store.award_sign_code("140926", code, operator, "admin", "县局裁定")
finally:
    store.close()
"""


def test_the_awards_follow_what_another_process_decides(db: str) -> None:
    """A disputed code's award is read from memory on SQLite too: the county's decision recorded by
    another process shows on the next read, a later decision replacing it, other codes untouched."""
    store = open_store(db)
    try:
        assert store.sign_code_award("140926", "C0021") == ""
        for operator in ("山西壹公里信息科技有限公司", "中国邮政集团有限公司静乐县分公司"):
            subprocess.run([sys.executable, "-c", _AWARD_ELSEWHERE, db, "C0021", operator], check=True, cwd=ROOT)
            assert store.sign_code_award("140926", "C0021") == operator
            assert store.sign_code_award("140926", "C0022") == ""
            assert store.sign_code_award("140900", "C0021") == ""
            store.log_decision(_decision())  # a commit that decides nothing
            store.flush()
            assert store.sign_code_award("140926", "C0021") == operator
        assert [a.operator for a in store.sign_code_awards("140926", "C0021")] == [
            "山西壹公里信息科技有限公司",
            "中国邮政集团有限公司静乐县分公司",
        ]
    finally:
        store.close()


def _decision() -> DecisionRow:
    return DecisionRow(
        "CheckStation", "P-1", "test", "0" * 64, "OUTCOME_PASS", "", "v1", "2023-06-01", dt.datetime.now(dt.UTC)
    )
