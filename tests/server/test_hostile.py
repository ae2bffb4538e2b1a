"""Hostile and arbitrary messages at every method: the server never crashes and answers a verdict
(or report) or INVALID_ARGUMENT, never INTERNAL; garbage bytes do not take it down either."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ruralpost.service.config import Config
from ruralpost.service.server import Running, running
from ruralpost.v1 import (
    claim_pb2,
    claim_pb2_grpc,
    progress_pb2,
    progress_pb2_grpc,
    rules_pb2,
    rules_pb2_grpc,
    station_pb2,
    station_pb2_grpc,
)

ALLOWED = {grpc.StatusCode.INVALID_ARGUMENT}
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "静乐县",
            "康家会镇",
            "赤泥窊乡",
            "北门村委会",
            "XZ0001",
            "C0000",
            "0000-00-00",
            "2023-02-29",
            "2024-02-29",
            "9999-12-31",
            "1e-05",
            "NaN",
            "' OR 1=1 --",
            "\x00",
            "${operator}",
            "{area_m2}",
            "%d%d",
            "[[[",
            "山西壹公里信息科技有限公司",
        ]
    ),
    st.text(min_size=200, max_size=600),
)
dates = st.one_of(hostile_text, st.dates().map(str))
floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([5e-324, -0.0, 1e-05, 1e308, 10.0, 9.99])
enums = st.integers(-(2**31), 2**31 - 1) | st.integers(0, 5)
int32s = st.integers(-(2**31), 2**31 - 1)


@st.composite
def stations(draw: st.DrawFn) -> station_pb2.Station:
    s = station_pb2.Station(
        station_id=draw(hostile_text),
        kind=draw(enums),
        county=draw(hostile_text),
        township=draw(hostile_text),
        village=draw(hostile_text),
        operator=draw(hostile_text),
        mode=draw(enums),
        filed_name=draw(hostile_text),
        business_hours=draw(hostile_text),
        opened_on=draw(dates),
        status=draw(enums),
        status_since=draw(dates),
    )
    s.services.extend(draw(st.lists(enums, max_size=40)))
    s.equipment.extend(draw(st.lists(enums, max_size=40)))
    s.zones.extend(draw(st.lists(hostile_text, max_size=40)))
    for name in ("fixed_premises", "hours_sign_posted"):
        if draw(st.booleans()):
            setattr(s, name, draw(st.booleans()))
    if draw(st.booleans()):
        s.area_m2 = draw(floats)
    if draw(st.booleans()):
        s.cctv_retention_days = draw(int32s)
    if draw(st.booleans()):
        s.daily_parcels = draw(int32s)
    g = s.signage
    g.placement, g.text, g.code = draw(enums), draw(hostile_text), draw(hostile_text)
    for name in ("present", "unified_design", "obstructed", "fixed"):
        if draw(st.booleans()):
            setattr(g, name, draw(st.booleans()))
    if draw(st.booleans()):
        s.filing.filed = draw(st.booleans())
    s.filing.record_number, s.filing.filed_on = draw(hostile_text), draw(dates)
    s.filing.changed_on, s.filing.refiled_on = draw(dates), draw(dates)
    return s


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, grpc.Channel]]:
    db = Path(tmp_path_factory.mktemp("hostile")) / "h.db"
    with (
        running(Config(listen="127.0.0.1:0", db=str(db), grace_seconds=1)) as r,
        grpc.insecure_channel(f"127.0.0.1:{r.port}") as ch,
    ):
        yield r, ch


def _answer(call: Any) -> object:
    try:
        return call()
    except grpc.RpcError as e:
        assert e.code() in ALLOWED, f"{e.code()}: {e.details()}"
        return None


@SETTINGS
@given(station=stations(), as_of=dates, register=st.booleans())
@pytest.mark.slow
def test_check_station(
    live: tuple[Running, grpc.Channel], station: station_pb2.Station, as_of: str, register: bool
) -> None:
    stub = station_pb2_grpc.StationServiceStub(live[1])
    answer = _answer(
        lambda: stub.CheckStation(station_pb2.CheckStationRequest(station=station, as_of=as_of, register=register))
    )
    if answer is not None:
        assert answer.verdict.outcome != 0  # type: ignore[attr-defined]


@SETTINGS
@given(items=st.lists(st.tuples(stations(), dates), min_size=1, max_size=6))
@pytest.mark.slow
def test_check_stations(live: tuple[Running, grpc.Channel], items: list[tuple[station_pb2.Station, str]]) -> None:
    stub = station_pb2_grpc.StationServiceStub(live[1])
    answers = list(stub.CheckStations(iter(station_pb2.CheckStationsRequest(station=s, as_of=d) for s, d in items)))
    assert [a.index for a in answers] == list(range(len(items)))
    for a in answers:
        assert a.HasField("verdict") != a.HasField("error")
        if a.HasField("error"):
            assert a.error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]


@SETTINGS
@given(
    programme=hostile_text | st.just("jingle-2023"),
    as_of=dates,
    members=st.lists(stations(), max_size=5),
    brands=st.lists(hostile_text, max_size=5),
    established=dates,
)
@pytest.mark.slow
def test_get_progress(
    live: tuple[Running, grpc.Channel],
    programme: str,
    as_of: str,
    members: list[station_pb2.Station],
    brands: list[str],
    established: str,
) -> None:
    stub = progress_pb2_grpc.QuotaServiceStub(live[1])
    hub = progress_pb2.CountyHub(name="hub", brands=brands, established_on=established)
    answer = _answer(
        lambda: stub.GetProgress(
            progress_pb2.GetProgressRequest(programme=programme, as_of=as_of, stations=members, hub=hub)
        )
    )
    if answer is not None:
        assert answer.report.verdict.outcome != 0  # type: ignore[attr-defined]


@SETTINGS
@given(subject=hostile_text)
def test_list_rules(live: tuple[Running, grpc.Channel], subject: str) -> None:
    answer = rules_pb2_grpc.RulesServiceStub(live[1]).ListRules(rules_pb2.ListRulesRequest(subject=subject))
    assert answer.ruleset_version


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.binary(max_size=300))
def test_garbage_bytes_do_not_take_the_server_down(live: tuple[Running, grpc.Channel], garbage: bytes) -> None:
    raw = live[1].unary_unary("/ruralpost.v1.StationService/CheckStation")
    try:
        raw(garbage, timeout=5)
    except grpc.RpcError as e:
        # bytes that are no message, or a message with bad fields: INVALID_ARGUMENT, never UNKNOWN
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
    health = rules_pb2_grpc.RulesServiceStub(live[1]).ListRules(rules_pb2.ListRulesRequest())
    assert health.ruleset_version


@st.composite
def claims(draw: st.DrawFn) -> claim_pb2.Claim:
    claim = claim_pb2.Claim(
        claim_id=draw(hostile_text),
        programme=draw(hostile_text | st.just("jingle-2023")),
        operator=draw(hostile_text),
        kind=draw(enums),
        period=draw(hostile_text | st.just("2023-07")),
        township=draw(hostile_text),
        declared_pieces=draw(st.integers(-(2**63), 2**63 - 1)),
        requested_amount_fen=draw(st.integers(-(2**63), 2**63 - 1)),
    )
    for _ in range(draw(st.integers(0, 8))):
        parcel = claim.parcels.add(
            waybill=draw(hostile_text),
            shipped_on=draw(dates),
            product_category=draw(hostile_text),
            platform=draw(hostile_text),
            origin_county=draw(hostile_text),
            destination_county=draw(hostile_text),
            destination_township=draw(hostile_text),
            destination_village=draw(hostile_text),
            station_code=draw(hostile_text),
            fee_charged_fen=draw(st.integers(-(2**63), 2**63 - 1)),
        )
        if draw(st.booleans()):
            parcel.delivered_to_address = draw(st.booleans())
    return claim


@SETTINGS
@given(claim=claims(), commit=st.booleans())
def test_evaluate_claim(live: tuple[Running, grpc.Channel], claim: claim_pb2.Claim, commit: bool) -> None:
    stub = claim_pb2_grpc.SubsidyServiceStub(live[1])
    try:
        answer = stub.EvaluateClaim(claim_pb2.EvaluateClaimRequest(claim=claim, commit=commit))
    except grpc.RpcError as e:
        # the same hostile id drawn twice with other contents is ALREADY_EXISTS, as it should be
        assert e.code() in ALLOWED | {grpc.StatusCode.ALREADY_EXISTS}, f"{e.code()}: {e.details()}"
        return
    assert answer.outcome != 0
    assert answer.eligible_pieces + answer.rejected_pieces == len(claim.parcels)
    assert answer.approved_amount_fen >= 0


@SETTINGS
@given(items=st.lists(claims(), min_size=1, max_size=4))
@pytest.mark.slow
def test_evaluate_claims(live: tuple[Running, grpc.Channel], items: list[claim_pb2.Claim]) -> None:
    stub = claim_pb2_grpc.SubsidyServiceStub(live[1])
    answers = list(stub.EvaluateClaims(iter(claim_pb2.EvaluateClaimsRequest(claim=c) for c in items)))
    assert [a.index for a in answers] == list(range(len(items)))
    for a in answers:
        assert a.HasField("result") != a.HasField("error")
        if a.HasField("error"):
            assert a.error.code in (grpc.StatusCode.INVALID_ARGUMENT.value[0], grpc.StatusCode.ALREADY_EXISTS.value[0])
