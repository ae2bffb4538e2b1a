"""StationService against a real server: verdicts, outcome precedence, bad input, streams, registry."""

from __future__ import annotations

import hashlib
import math

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2
from grpc_status import rpc_status

from ruralpost.service.server import Running
from ruralpost.v1 import common_pb2, station_pb2, station_pb2_grpc
from tests.backends import decision_count, decisions
from tests.support import station_request

pb = common_pb2


def stub(channel: grpc.Channel) -> station_pb2_grpc.StationServiceStub:
    return station_pb2_grpc.StationServiceStub(channel)


def violations(error: grpc.RpcError) -> dict[str, str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "INVALID_ARGUMENT must carry a google.rpc.Status with details"
    bad = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad)
    return {v.field: v.description for v in bad.field_violations}


def test_example_station_passes_with_version_and_date(channel: grpc.Channel, server: Running) -> None:
    verdict = stub(channel).CheckStation(station_request()).verdict
    assert verdict.outcome == pb.OUTCOME_PASS
    assert list(verdict.reasons) == []
    assert verdict.subject_id == "KJH-XZ-01"
    assert verdict.evaluated_as_of == "2023-07-15"
    assert verdict.ruleset_version == server.runtime.rules.current.version


def test_reason_carries_message_citation_field_expected_actual_remedy(channel: grpc.Channel) -> None:
    verdict = stub(channel).CheckStation(station_request(area_m2=8.5)).verdict
    assert verdict.outcome == pb.OUTCOME_FAIL
    (reason,) = verdict.reasons
    assert reason.rule_id == "STN-AREA-TOWNSHIP"
    assert reason.severity == pb.SEVERITY_ERROR
    assert "8.5" in reason.message and "10平方米" in reason.message
    assert "8.5" in reason.message_en
    assert reason.field == "station.area_m2"
    assert (reason.expected, reason.actual) == (">= 10", "8.5")
    assert "10平方米" in reason.remedy
    assert "建设标准" in reason.citation.document and reason.citation.clause == "四(1)"


def test_outcome_precedence_error_then_missing_then_warning(channel: grpc.Channel) -> None:
    s = stub(channel)
    warning = s.CheckStation(station_request(zones=[])).verdict
    assert warning.outcome == pb.OUTCOME_PASS_WITH_WARNINGS
    incomplete = station_request(zones=[])
    incomplete.station.ClearField("area_m2")
    v = s.CheckStation(incomplete).verdict
    assert v.outcome == pb.OUTCOME_INCOMPLETE
    assert [r.rule_id for r in v.reasons] == ["STN-ZONES", "STN-AREA-MISSING"]
    missing = v.reasons[1]
    assert missing.field == "station.area_m2" and "面积" in missing.message
    failing = station_request(zones=[], hours_sign_posted=False)
    failing.station.ClearField("area_m2")
    v = s.CheckStation(failing).verdict
    assert v.outcome == pb.OUTCOME_FAIL
    # ERRORs first, then WARNINGs (the missing fact among them), catalogue order within
    assert [r.rule_id for r in v.reasons] == ["STN-HOURS-SIGN", "STN-ZONES", "STN-AREA-MISSING"]


def test_fact_needed_only_where_an_applicable_rule_reads_it(channel: grpc.Channel) -> None:
    # a station without CCTV needs no retention days: the CCTV rule fires, nothing is missing
    req = station_request(
        equipment=[
            "EQUIPMENT_RECEPTION_DESK",
            "EQUIPMENT_SHELVES",
            "EQUIPMENT_BARCODE_SCANNER",
            "EQUIPMENT_FIRE_EXTINGUISHER",
        ]
    )
    req.station.ClearField("cctv_retention_days")
    v = stub(channel).CheckStation(req).verdict
    assert [r.rule_id for r in v.reasons] == ["STN-SAFETY-CCTV"]


def test_a_station_without_kind_is_incomplete_not_invalid(channel: grpc.Channel) -> None:
    req = station_request()
    req.station.ClearField("kind")
    v = stub(channel).CheckStation(req).verdict
    assert v.outcome == pb.OUTCOME_INCOMPLETE
    assert [(r.rule_id, r.field) for r in v.reasons] == [("STN-KIND-MISSING", "station.kind")]


def test_as_of_defaults_to_today(channel: grpc.Channel) -> None:
    import datetime as dt

    req = station_request()
    req.as_of = ""
    v = stub(channel).CheckStation(req).verdict
    assert v.evaluated_as_of == dt.date.today().isoformat()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r.ClearField("station"), "station"),
        (lambda r: setattr(r, "as_of", "2023-13-01"), "as_of"),
        (lambda r: setattr(r, "as_of", "15/07/2023"), "as_of"),
        (lambda r: setattr(r.station, "area_m2", math.nan), "station.area_m2"),
        (lambda r: setattr(r.station, "area_m2", math.inf), "station.area_m2"),
        (lambda r: setattr(r.station, "area_m2", -3.0), "station.area_m2"),
        (lambda r: setattr(r.station, "area_m2", 1e9), "station.area_m2"),
        (lambda r: setattr(r.station, "kind", 9), "station.kind"),
        (lambda r: setattr(r.station, "mode", 7), "station.mode"),
        (lambda r: r.station.equipment.append(42), "station.equipment[5]"),
        (lambda r: setattr(r.station.signage, "placement", 99), "station.signage.placement"),
        (lambda r: setattr(r.station, "township", "镇" * 300), "station.township"),
        (lambda r: setattr(r.station.signage, "text", "康家会\x00镇"), "station.signage.text"),
        (lambda r: setattr(r.station, "opened_on", "2023-02-30"), "station.opened_on"),
        (lambda r: setattr(r.station.filing, "filed_on", "yesterday"), "station.filing.filed_on"),
        (lambda r: setattr(r.station, "cctv_retention_days", -1), "station.cctv_retention_days"),
        (lambda r: setattr(r.station, "status", 4), "station.status"),
        (lambda r: setattr(r.station, "status_since", "2023-06-31"), "station.status_since"),
        (lambda r: setattr(r.station, "daily_parcels", -1), "station.daily_parcels"),
        (lambda r: setattr(r.station, "daily_parcels", 2_000_000), "station.daily_parcels"),
        (lambda r: setattr(r.station.filing, "changed_on", "6月1日"), "station.filing.changed_on"),
        (lambda r: setattr(r.station.filing, "refiled_on", "2023-6-11"), "station.filing.refiled_on"),
        # every text, list and enum field, each alone: a clean request skips naming them (validate.py)
        (lambda r: setattr(r.station, "station_id", "S" * 200), "station.station_id"),
        (lambda r: setattr(r.station, "county", "静乐\x01县"), "station.county"),
        (lambda r: setattr(r.station, "village", "村" * 300), "station.village"),
        (lambda r: setattr(r.station, "operator", "邮政\x1f"), "station.operator"),
        (lambda r: setattr(r.station, "filed_name", "名" * 257), "station.filed_name"),
        (lambda r: setattr(r.station, "business_hours", "8:00\n-18:00"), "station.business_hours"),
        (lambda r: (r.station.ClearField("zones"), r.station.zones.extend(["收发区", "a\x07"])), "station.zones[1]"),
        (lambda r: r.station.zones.extend(["区"] * 40), "station.zones"),
        (lambda r: setattr(r.station.signage, "code", "XZ" * 20), "station.signage.code"),
        (lambda r: setattr(r.station.filing, "record_number", "R" * 70), "station.filing.record_number"),
        (lambda r: (r.station.ClearField("services"), r.station.services.append(42)), "station.services[0]"),
        (lambda r: r.station.services.extend([1] * 40), "station.services"),
        (lambda r: r.station.equipment.extend([1] * 40), "station.equipment"),
    ],
)
def test_bad_input_is_invalid_argument_naming_the_field(channel: grpc.Channel, change, field) -> None:  # type: ignore[no-untyped-def]
    req = station_request()
    change(req)
    with pytest.raises(grpc.RpcError) as info:
        stub(channel).CheckStation(req)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(info.value)


def test_every_bad_field_is_named_at_once(channel: grpc.Channel) -> None:
    req = station_request(area_m2=-1.0, opened_on="someday")
    req.as_of = "x"
    with pytest.raises(grpc.RpcError) as info:
        stub(channel).CheckStation(req)
    assert set(violations(info.value)) == {"station.area_m2", "station.opened_on", "as_of"}


def test_register_needs_a_station_id(channel: grpc.Channel) -> None:
    req = station_request(station_id="")
    req.register = True
    with pytest.raises(grpc.RpcError) as info:
        stub(channel).CheckStation(req)
    assert "station.station_id" in violations(info.value)


def _stream_item(req: station_pb2.CheckStationRequest) -> station_pb2.CheckStationsRequest:
    return station_pb2.CheckStationsRequest(station=req.station, as_of=req.as_of, register=req.register)


def test_stream_answers_in_order_and_a_bad_item_gets_its_own_error(channel: grpc.Channel) -> None:
    good = station_request()
    bad = station_request(area_m2="NaN")
    small = station_request("village-point-partnered.json")
    items = [_stream_item(r) for r in (good, bad, small, good)]
    answers = list(stub(channel).CheckStations(iter(items)))
    assert [a.index for a in answers] == [0, 1, 2, 3]
    assert answers[0].verdict.outcome == pb.OUTCOME_PASS
    assert not answers[1].HasField("verdict")
    assert answers[1].error.code == code_pb2.INVALID_ARGUMENT
    bad_request = error_details_pb2.BadRequest()
    assert answers[1].error.details[0].Unpack(bad_request)
    assert [v.field for v in bad_request.field_violations] == ["station.area_m2"]
    assert answers[2].verdict.outcome == pb.OUTCOME_PASS_WITH_WARNINGS
    assert answers[3].verdict.outcome == pb.OUTCOME_PASS  # the same station again is no duplicate


def test_stream_catches_a_sign_code_used_earlier_in_the_batch(channel: grpc.Channel) -> None:
    first = station_request()
    second = station_request(station_id="KJH-XZ-02")  # same code XZ0004
    answers = list(stub(channel).CheckStations(iter([_stream_item(first), _stream_item(second)])))
    assert answers[0].verdict.outcome == pb.OUTCOME_PASS
    reasons = answers[1].verdict.reasons
    assert [r.rule_id for r in reasons] == ["STN-SIGN-CODE-DUPLICATE"]
    assert "KJH-XZ-01" in reasons[0].message


def test_registry_duplicates_and_re_registering_the_same_station(channel: grpc.Channel, server: Running) -> None:
    s = stub(channel)
    first = station_request()
    first.register = True
    assert s.CheckStation(first).verdict.outcome == pb.OUTCOME_PASS
    assert s.CheckStation(first).verdict.outcome == pb.OUTCOME_PASS  # itself is no duplicate
    other = station_request(station_id="KJH-XZ-99")
    v = s.CheckStation(other).verdict
    assert [r.rule_id for r in v.reasons] == ["STN-SIGN-CODE-DUPLICATE"]
    # a station without an id may be the registered one itself: no duplicate is claimed
    anonymous = station_request(station_id="")
    assert s.CheckStation(anonymous).verdict.outcome == pb.OUTCOME_PASS
    elsewhere = station_request(station_id="KJH-XZ-99", county="岢岚县")
    assert [r.rule_id for r in s.CheckStation(elsewhere).verdict.reasons] == ["STN-COUNTY"]
    registered = server.runtime.store.stations()
    assert [(r.station_id, r.sign_code, r.outcome) for r in registered] == [("KJH-XZ-01", "XZ0004", "OUTCOME_PASS")]
    stored = station_pb2.Station.FromString(registered[0].station)
    assert stored == first.station


def test_every_evaluation_is_in_the_decision_log(channel: grpc.Channel, server: Running) -> None:
    s = stub(channel)
    unary = station_request(area_m2=8.0)
    s.CheckStation(unary)
    list(s.CheckStations(iter([_stream_item(station_request())] * 3)))
    rows = decisions(server.runtime.store)
    assert decision_count(server.runtime.store) == 4
    last_unary = rows[-1]
    assert (last_unary.method, last_unary.subject_id, last_unary.outcome, last_unary.rule_ids) == (
        "CheckStation",
        "KJH-XZ-01",
        "OUTCOME_FAIL",
        "STN-AREA-TOWNSHIP",
    )
    assert last_unary.ruleset_version == server.runtime.rules.current.version
    assert last_unary.input_digest == hashlib.sha256(unary.SerializeToString(deterministic=True)).hexdigest()
    assert last_unary.caller
    assert {r.method for r in rows[:3]} == {"CheckStations"}


def test_bytes_that_are_no_message_are_invalid_argument_naming_the_request(channel: grpc.Channel) -> None:
    """grpc.aio alone answers UNKNOWN with the parser's text; the door names the field instead."""
    raw = channel.unary_unary("/ruralpost.v1.StationService/CheckStation")
    with pytest.raises(grpc.RpcError) as info:
        raw(b"\xff\xff\xff\xff", timeout=10)  # field 0x1fffff.., wire type 7: no message parses this
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "request" in violations(info.value)
    assert dict(info.value.trailing_metadata() or ())["x-request-id"]  # type: ignore[attr-defined]
    answers = channel.stream_stream("/ruralpost.v1.StationService/CheckStations")
    with pytest.raises(grpc.RpcError) as info:
        list(answers(iter([b"\xff\xff\xff\xff"]), timeout=10))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "request" in violations(info.value)
