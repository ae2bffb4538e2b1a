"""GetProgress through a real server: the registry filled by CheckStation, or stations in the request."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from ruralpost.service.golden import plans
from ruralpost.service.rulebook.programme import Programme
from ruralpost.service.server import Running
from ruralpost.v1 import (
    common_pb2,
    progress_pb2,
    progress_pb2_grpc,
    station_pb2,
    station_pb2_grpc,
)
from tests.backends import decisions
from tests.support import EXAMPLES

PASS, FAIL = common_pb2.OUTCOME_PASS, common_pb2.OUTCOME_FAIL
INFO, ERROR = common_pb2.SEVERITY_INFO, common_pb2.SEVERITY_ERROR
OTHER_OPERATOR = "忻州某快递有限公司"


@pytest.fixture
def quota(channel: grpc.Channel) -> progress_pb2_grpc.QuotaServiceStub:
    return progress_pb2_grpc.QuotaServiceStub(channel)


@pytest.fixture
def programme(server: Running) -> Programme:
    return server.runtime.rules.current.book.programme


@pytest.fixture
def register(channel: grpc.Channel) -> Iterator[Any]:
    stub = station_pb2_grpc.StationServiceStub(channel)

    def register(stations: Sequence[station_pb2.Station], as_of: str = "2023-06-15") -> None:
        for s in stations:
            stub.CheckStation(station_pb2.CheckStationRequest(station=s, as_of=as_of, register=True))

    yield register


def ids(reasons: Sequence[common_pb2.Reason]) -> list[str]:
    return [r.rule_id for r in reasons]


def township(report: progress_pb2.ProgressReport, name: str) -> progress_pb2.TownshipProgress:
    return next(t for t in report.townships if t.township == name)


def get(quota: progress_pb2_grpc.QuotaServiceStub, as_of: str, **kw: Any) -> progress_pb2.ProgressReport:
    return quota.GetProgress(progress_pb2.GetProgressRequest(as_of=as_of, **kw)).report


def bad_fields(call: Any) -> list[str]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(info.value)
    assert status is not None
    detail = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(detail)
    return [v.field for v in detail.field_violations]


def test_empty_registry_in_july_is_behind_everywhere(quota: progress_pb2_grpc.QuotaServiceStub) -> None:
    report = get(quota, "2023-07-15")
    assert report.programme == "jingle-2023" and report.as_of == "2023-07-15"
    assert len(report.townships) == 12
    for t in report.townships:
        assert t.outcome == FAIL
        assert ids(t.reasons) == ["QTA-TOWNSHIP-STATION", "QTA-TOWNSHIP-POINTS"]
        assert {r.severity for r in t.reasons} == {ERROR}
        assert t.reasons[0].message.startswith(f"{t.township}快递综合服务站已建成0个")  # not 鹅城镇乡镇快递…
    assert township(report, "康家会镇").village_points_target == 8
    assert sum(t.village_points_target for t in report.townships) == 52
    assert (report.township_stations_goal, report.village_points_goal) == (12, 48)
    assert report.required_fraction == 0.5
    assert report.verdict.outcome == FAIL
    # after 06-30 the townships' own ERRORs carry the start; the June note until 10-31
    assert ids(report.verdict.reasons) == ["QTA-COUNTY-PACE", "QTA-NOTE-52", "QTA-NOTE-JUNE"]
    assert report.hub.outcome == common_pb2.OUTCOME_INCOMPLETE
    assert ids(report.hub.reasons) == ["HUB-MISSING"]


def test_empty_registry_in_may_is_a_start_warning(quota: progress_pb2_grpc.QuotaServiceStub) -> None:
    report = get(quota, "2023-05-15")
    assert report.verdict.outcome == common_pb2.OUTCOME_PASS_WITH_WARNINGS
    assert ids(report.verdict.reasons) == ["QTA-COUNTY-START", "QTA-NOTE-52", "QTA-NOTE-JUNE"]
    start = report.verdict.reasons[0]
    assert start.severity == common_pb2.SEVERITY_WARNING and "鹅城镇" in start.message
    assert start.citation.basis == common_pb2.RULE_BASIS_INFERRED
    assert all(t.outcome == PASS for t in report.townships)  # before 06-30: progress notes only
    before = get(quota, "2023-04-05")  # the programme was issued on 2023-04-11
    assert before.verdict.outcome == PASS
    assert ids(before.verdict.reasons) == ["QTA-NOTE-52", "QTA-NOTE-JUNE"]


def test_full_registry_of_64_registered_stations(
    quota: progress_pb2_grpc.QuotaServiceStub, programme: Programme, register: Any, server: Running
) -> None:
    register(plans.stations(programme, {}))
    report = get(quota, "2023-07-31")
    assert [
        (t.township_stations_done, t.village_points_filed, t.village_points_compliant, t.outcome)
        for t in report.townships
    ] == [(1, t.village_points, t.village_points, PASS) for t in programme.townships]
    assert (report.township_stations_done, report.village_points_filed) == (12, 52)
    assert report.verdict.outcome == PASS
    assert ids(report.verdict.reasons) == ["QTA-NOTE-52", "QTA-NOTE-JUNE"]
    note = report.verdict.reasons[0]
    assert note.severity == common_pb2.SEVERITY_INFO and "52" in note.message and "48" in note.message
    assert report.verdict.ruleset_version == server.runtime.rules.current.version
    rows = decisions(server.runtime.store, limit=1)
    assert (rows[0].method, rows[0].subject_id, rows[0].outcome, rows[0].as_of) == (
        "GetProgress",
        "jingle-2023",
        "OUTCOME_PASS",
        "2023-07-31",
    )


def test_july_and_november_inspections(
    quota: progress_pb2_grpc.QuotaServiceStub, programme: Programme, register: Any
) -> None:
    register(plans.stations(programme, {"康家会镇": {"points": 4}}))
    july = get(quota, "2023-07-20")
    kjh = township(july, "康家会镇")
    assert (kjh.village_points_filed, kjh.village_points_target, kjh.outcome) == (4, 8, PASS)
    assert [(r.rule_id, r.severity) for r in kjh.reasons] == [("QTA-TOWNSHIP-POINTS", INFO)]
    november = get(quota, "2023-11-20")
    kjh = township(november, "康家会镇")
    assert kjh.outcome == FAIL
    assert [(r.rule_id, r.severity) for r in kjh.reasons] == [("QTA-TOWNSHIP-POINTS", ERROR)]
    assert "4" in kjh.reasons[0].remedy  # 再完成4个
    # the county goal of 48 is met (11 x 4 + 4) although 康家会镇 is behind its table target
    assert (november.village_points_filed, november.required_fraction) == (48, 1.0)
    assert november.verdict.outcome == PASS
    assert "QTA-TOWNSHIP-POINTS" not in ids(november.verdict.reasons)


def test_request_stations_replace_the_registry(
    quota: progress_pb2_grpc.QuotaServiceStub, programme: Programme, register: Any
) -> None:
    register(plans.stations(programme, {}))
    only = plans.stations(
        programme, {"all": {"station": None, "points": 0}, "鹅城镇": {"station": "2023-05-02", "points": 4}}
    )
    report = get(quota, "2023-07-15", stations=only)
    assert (report.township_stations_done, report.village_points_filed) == (1, 4)
    assert township(report, "鹅城镇").outcome == PASS
    assert township(report, "丰润镇").outcome == FAIL


def test_excluded_stations_are_named_with_why(quota: progress_pb2_grpc.QuotaServiceStub, programme: Programme) -> None:
    stations = plans.stations(
        programme,
        {},
        [
            {"kind": "village_point", "township": "康家会镇", "operator": OTHER_OPERATOR, "stationId": "X-1"},
            {"kind": "township_station", "township": "中庄乡", "stationId": "X-2"},
        ],
    )
    report = get(quota, "2023-07-15", stations=stations)
    excluded = [r for r in report.verdict.reasons if r.rule_id == "QTA-EXCLUDED"]
    assert [r.field for r in excluded] == ["stations[64].operator", "stations[65].township"]
    assert "X-1" in excluded[0].message and OTHER_OPERATOR in excluded[0].message
    assert "X-1" in excluded[0].message_en and "request station #65" in excluded[0].message_en
    assert "中庄乡已撤并" in excluded[1].remedy
    assert excluded[0].severity == common_pb2.SEVERITY_WARNING
    assert report.verdict.outcome == common_pb2.OUTCOME_PASS_WITH_WARNINGS
    assert township(report, "康家会镇").village_points_filed == 8  # the other operator's point is not counted


def test_registry_is_rechecked_at_the_report_date(
    quota: progress_pb2_grpc.QuotaServiceStub, programme: Programme, register: Any, server: Running
) -> None:
    """鹅城镇's station passed when registered; a later one showing its sign code makes both fail."""
    stations = plans.stations(programme, {"杜家村镇": {"station": None}})
    twin = plans.stations(
        programme,
        {"all": {"station": None, "points": 0}},
        [{"kind": "township_station", "township": "杜家村镇", "signage": {"code": "XZ0001"}}],
    )
    register(stations[:1])  # 鹅城镇's township station, XZ0001
    register(twin)
    register(stations[1:])
    stored = {row.station_id: row.outcome for row in server.runtime.store.stations()}
    assert stored[stations[0].station_id] == "OUTCOME_PASS"
    report = get(quota, "2023-07-15")
    assert township(report, "鹅城镇").township_stations_done == 0
    assert township(report, "杜家村镇").township_stations_done == 0
    assert ids(township(report, "鹅城镇").reasons) == ["QTA-TOWNSHIP-STATION"]


def test_alias_and_other_operator_in_the_registry(
    quota: progress_pb2_grpc.QuotaServiceStub, programme: Programme, register: Any
) -> None:
    register(
        plans.stations(
            programme,
            {"all": {"station": None, "points": 0}},
            [
                {"kind": "township_station", "township": "赤泥窊乡"},
                {"kind": "township_station", "township": "鹅城镇", "operator": OTHER_OPERATOR, "stationId": "O-1"},
            ],
        )
    )
    report = get(quota, "2023-07-15")
    assert township(report, "赤泥洼乡").township_stations_done == 1
    assert township(report, "鹅城镇").township_stations_done == 0
    excluded = [r for r in report.verdict.reasons if r.rule_id == "QTA-EXCLUDED"]
    assert [r.field for r in excluded] == [f"registry[{OTHER_OPERATOR}/O-1].operator"]
    assert "登记库" in excluded[0].message


def test_hub_reasons_stay_in_the_hub_verdict(quota: progress_pb2_grpc.QuotaServiceStub) -> None:
    hub = progress_pb2.CountyHub(
        name="统仓共配中心",
        brands=["中国邮政"],
        unified_warehousing=True,
        sorting=True,
        delivery=True,
        established_on="2023-07-10",
    )
    report = get(quota, "2023-07-15", hub=hub)
    assert report.hub.subject_id == "统仓共配中心"
    assert report.hub.outcome == FAIL
    assert ids(report.hub.reasons) == ["HUB-BRANDS", "HUB-DEADLINE"]
    assert "中国邮政" in report.hub.reasons[0].message
    assert not any(r.rule_id.startswith("HUB-") for r in report.verdict.reasons)


def test_same_request_same_report(quota: progress_pb2_grpc.QuotaServiceStub, programme: Programme) -> None:
    stations = plans.stations(
        programme,
        {"鹅城镇": {"points": 1}},
        [{"kind": "village_point", "township": "康家会镇", "signage": {"code": "C0070"}}],
    )
    first = get(quota, "2023-10-15", stations=stations)
    assert first.SerializeToString(deterministic=True) == get(quota, "2023-10-15", stations=stations).SerializeToString(
        deterministic=True
    )
    gaps = next(r for r in first.verdict.reasons if r.rule_id == "QTA-CODE-GAPS")
    assert "20个空号：C0050–C0069" in gaps.message  # 49 points numbered in order, then C0070


def test_as_of_defaults_to_today(quota: progress_pb2_grpc.QuotaServiceStub) -> None:
    assert get(quota, "").as_of == dt.date.today().isoformat()


def test_malformed_requests_name_every_bad_field(
    quota: progress_pb2_grpc.QuotaServiceStub, programme: Programme
) -> None:
    good = plans.stations(
        programme, {"all": {"station": None, "points": 0}, "鹅城镇": {"station": "2023-05-02", "points": 1}}
    )
    nameless = station_pb2.Station()
    nameless.CopyFrom(good[0])
    nameless.station_id = ""
    odd_kind = station_pb2.Station()
    odd_kind.CopyFrom(good[1])
    odd_kind.kind = 7  # type: ignore[assignment]
    request = progress_pb2.GetProgressRequest(
        programme="beijing-2023",
        as_of="2023-13-01",
        stations=[good[0], good[0], nameless, odd_kind],
        hub=progress_pb2.CountyHub(established_on="June"),
    )
    assert bad_fields(lambda: quota.GetProgress(request)) == [
        "programme",
        "as_of",
        "stations[1].station_id",
        "stations[2].station_id",
        "stations[3].kind",
        "hub.established_on",
    ]


@pytest.mark.slow
def test_the_documented_inspection_report_example(server: Running, programme: Programme, register: Any) -> None:
    register(plans.stations(programme, {"康家会镇": {"points": 4}}))
    command = [
        sys.executable,
        str(EXAMPLES / "inspection_report.py"),
        "--target",
        f"127.0.0.1:{server.port}",
        "--as-of",
        "2023-11-30",
    ]
    out = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout
    assert "截至 2023-11-30（进度要求 100%）" in out
    assert "康家会镇已备案村级快递便民服务点4个，任务8个" in out
    assert "全县：综合服务站 12/12，村级点备案 48/48，结论 PASS" in out
