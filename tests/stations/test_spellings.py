"""Names as people write them, on a real server: every township and every administrative village of
the county, written with administrative prefixes, full-width forms, spacing, 洼/窊, with or without
村委会, and with the operator written as its branch, gets the verdict of the plain spelling."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable, Iterator

import grpc
import pytest
from google.protobuf import json_format

from ruralpost.service import names
from ruralpost.service.config import DEFAULT_RULES_DIR, Config
from ruralpost.service.golden import cases
from ruralpost.service.rulebook.programme import village_own_name
from ruralpost.service.ruleset import load_ruleset
from ruralpost.service.server import Running, running
from ruralpost.v1 import common_pb2, station_pb2, station_pb2_grpc
from tests.support import OPERATOR

DIVISIONS = DEFAULT_RULES_DIR / "reference" / "jingle-divisions-2023.csv"
PREFIXES = ("山西省", "忻州市", "静乐县")
BRANCH = OPERATOR + "静乐分公司"

Station = dict[str, object]


def _rows(level: str) -> list[dict[str, str]]:
    with open(DIVISIONS, encoding="utf-8", newline="") as f:
        return [row for row in csv.DictReader(f) if row["level"] == level]


TOWNSHIPS = {row["code"]: row["name"] for row in _rows("township")}
VILLAGES = [(TOWNSHIPS[row["parent_code"]], row["name"]) for row in _rows("village")]


def _prefixes() -> Iterator[str]:
    """山西省, 忻州市, 静乐县 in every combination and order (and none)."""
    for n in range(len(PREFIXES) + 1):
        for chosen in itertools.permutations(PREFIXES, n):
            yield "".join(chosen)


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _spaced(text: str) -> str:
    return " ".join(text)


def _swap(text: str) -> str:
    return text.translate(str.maketrans({"洼": "窊", "窊": "洼"}))


def _spellings(name: str) -> list[Callable[[Station], None]]:
    """Changes to a plain station, each a way people write the same names."""

    def at(key: str, value: str) -> Callable[[Station], None]:
        def change(s: Station) -> None:
            s[key] = value

        return change

    changes = [at("township", p + name) for p in _prefixes() if p]
    changes += [at("county", p + "静乐县") for p in ("山西省", "忻州市", "山西省忻州市", "忻州市 ")]
    changes += [at("township", _spaced(name)), at("township", _swap(name)), at("operator", BRANCH)]
    changes += [at("operator", _spaced(OPERATOR)), at("township", "\u3000" + name + "\u3000")]
    return changes


def township_station(township: str, code: str) -> Station:
    return {
        "station_id": f"T-{code}",
        "kind": "STATION_KIND_TOWNSHIP_STATION",
        "county": "静乐县",
        "township": township,
        "operator": OPERATOR,
        "mode": "OPERATION_MODE_SELF_OPERATED",
        "fixed_premises": True,
        "services": ["SERVICE_TYPE_SEND", "SERVICE_TYPE_RECEIVE", "SERVICE_TYPE_DELIVER"],
        "signage": {
            "present": True,
            "placement": "SIGN_PLACEMENT_ABOVE_DOOR",
            "unified_design": True,
            "obstructed": False,
            "text": f"{township}快递综合服务站",
            "code": code,
        },
        "filed_name": f"{township}快递综合服务站",
        "hours_sign_posted": True,
        "business_hours": "8:00-12:00，14:00-18:00",
        "area_m2": 20,
        "equipment": [name for name, number in station_pb2.Equipment.items() if number],  # all of it
        "cctv_retention_days": 30,
        "zones": ["收寄区"],
        "filing": {"filed": True, "record_number": f"R-{code}", "filed_on": "2023-05-10"},
        "opened_on": "2023-05-12",
    }


def village_point(township: str, village: str, code: str, written: str = "") -> Station:
    """A compliant partnered point of an official village, its village written as `written`."""
    station = township_station(township, code)
    station.update(
        station_id=f"V-{code}",
        kind="STATION_KIND_VILLAGE_POINT",
        village=written or village,
        mode="OPERATION_MODE_PARTNERED",
        signage={"present": True, "placement": "SIGN_PLACEMENT_OUTER_WALL", "fixed": True, "code": code},
    )
    station["signage"]["text"] = f"{village_own_name(village)}快递便民服务点"  # type: ignore[index]
    del station["filed_name"]
    return station


def _verdict(stub: station_pb2_grpc.StationServiceStub, station: Station) -> tuple[int, list[str]]:
    request = station_pb2.CheckStationRequest(as_of="2023-07-15")
    json_format.ParseDict(station, request.station)
    verdict = stub.CheckStation(request).verdict
    return verdict.outcome, [r.rule_id for r in verdict.reasons]


def test_the_county_has_12_townships_and_223_villages() -> None:
    assert len(TOWNSHIPS) == 12
    assert len(VILLAGES) == 223


def test_every_township_station_gets_the_verdict_of_its_plain_spelling(channel: grpc.Channel) -> None:
    stub = station_pb2_grpc.StationServiceStub(channel)
    for i, township in enumerate(TOWNSHIPS.values(), start=1):
        plain = township_station(township, f"XZ{i:04d}")
        expected = _verdict(stub, plain)
        assert expected == (common_pb2.OUTCOME_PASS, []), township
        for change in _spellings(township):
            station = township_station(township, f"XZ{i:04d}")
            change(station)
            assert _verdict(stub, station) == expected, (township, station["county"], station["township"])
        code = township_station(township, _full_width(f"XZ{i:04d}"))
        assert _verdict(stub, code) == expected, code["signage"]


def test_every_village_point_gets_the_verdict_of_its_plain_spelling(channel: grpc.Channel) -> None:
    stub = station_pb2_grpc.StationServiceStub(channel)
    for i, (township, village) in enumerate(VILLAGES, start=1):
        code = f"C{i:04d}"
        base = village.removesuffix("村委会")
        expected = _verdict(stub, village_point(township, village, code))
        assert expected == (common_pb2.OUTCOME_PASS, []), village
        written = {base, base + "村" if not base.endswith("村") else base, _swap(village), _spaced(village)}
        written |= {p + village for p in ("静乐县", "忻州市静乐县", township, "静乐县" + township)}
        for name in written:
            assert _verdict(stub, village_point(township, village, code, name)) == expected, (township, name)
        for p in ("山西省忻州市静乐县", "静乐县"):
            assert _verdict(stub, village_point(p + township, village, code)) == expected, (p, township, village)


def test_a_registered_station_checked_with_its_operator_as_the_branch_is_not_its_own_duplicate(
    channel: grpc.Channel, server: Running
) -> None:
    stub = station_pb2_grpc.StationServiceStub(channel)
    first = station_pb2.CheckStationRequest(as_of="2023-07-15", register=True)
    json_format.ParseDict(township_station("康家会镇", "XZ0004"), first.station)
    assert stub.CheckStation(first).verdict.outcome == common_pb2.OUTCOME_PASS
    again = station_pb2.CheckStationRequest()
    again.CopyFrom(first)
    again.station.operator = BRANCH
    again.station.township = "静乐县康家会镇"
    assert [r.rule_id for r in stub.CheckStation(again).verdict.reasons] == []
    registered = server.runtime.store.stations()
    assert [(r.operator, r.station_id, r.township) for r in registered] == [(OPERATOR, "T-XZ0004", "康家会镇")]
    other = station_pb2.CheckStationRequest()
    other.CopyFrom(again)
    other.station.station_id = "T-XZ0099"
    assert [r.rule_id for r in stub.CheckStation(other).verdict.reasons] == ["STN-SIGN-CODE-DUPLICATE"]


# The round-3 station cases (rules/cases/stations/fidelity.yaml) asked of a real server: the same
# outcome and reasons as the in-process golden run.
FIDELITY = [
    c for c in cases.load_cases(DEFAULT_RULES_DIR) if c.path.name == "fidelity.yaml" and not c.input.get("code_holders")
]


@pytest.fixture(scope="module")
def module_channel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[grpc.Channel]:
    db = tmp_path_factory.mktemp("fidelity") / "ruralpost.db"
    with (
        running(Config(listen="127.0.0.1:0", db=str(db), grace_seconds=1)) as r,
        grpc.insecure_channel(f"127.0.0.1:{r.port}") as ch,
    ):
        yield ch


@pytest.mark.parametrize("case", FIDELITY, ids=[c.name for c in FIDELITY])
def test_a_round_3_case_answers_so_on_a_real_server(case: cases.Case, module_channel: grpc.Channel) -> None:
    request = station_pb2.CheckStationRequest(as_of=str(case.input["as_of"]))
    json_format.ParseDict(case.input["station"], request.station)
    verdict = station_pb2_grpc.StationServiceStub(module_channel).CheckStation(request).verdict
    assert common_pb2.Outcome.Name(verdict.outcome) == case.outcome
    assert tuple(r.rule_id for r in verdict.reasons) == case.rule_ids


def test_remembered_spellings_stay_bounded_and_answer_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """A programme remembers the names it normalised; odd spellings cannot grow that without end."""
    monkeypatch.setattr(names, "MEMO_SIZE", 4)
    spelling = names.Spelling(names.NamesModel(admin_prefixes=["静乐县"], branch_suffixes=["分公司"]))
    written = [f"静乐县　{i}镇" for i in range(10)]
    first = [spelling.place(w) for w in written]
    assert first == [f"{i}镇" for i in range(10)]
    assert [spelling.place(w) for w in written] == first
    assert spelling.company("某某公司静乐分公司") == "某某公司静乐"
    assert len(spelling._memo) <= 4


def test_remembered_villages_and_markings_stay_bounded_and_answer_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Village codes and the markings' words are remembered like the names they are made of:
    bounded, and the same answer the second time as the first."""
    monkeypatch.setattr(names, "MEMO_SIZE", 3)
    programme = load_ruleset(DEFAULT_RULES_DIR).book.programme
    kang = programme.township("康家会镇")
    assert kang is not None
    written = ["柳林村", "静乐县康家会镇柳林村", "柳林村委会", "没有这个村", "康家会镇没有这个村"]
    first = [programme.village_code(kang.code, w) for w in written]
    assert [code for code, _ in first] == [first[0][0]] * 3 + ["", ""]
    assert first[0] == ("140926102204", "柳林村")  # the county's division list: 柳林村委会
    assert [own for _, own in first[3:]] == ["没有这个村", "没有这个村"]
    assert [programme.village_code(kang.code, w) for w in written] == first
    assert programme.shows("静乐县杜家村快递便民服务点", "杜家村快递便民服务点", "VILLAGE_POINT")
    assert programme.shows("静乐县杜家村快递便民服务点", "杜家村快递便民服务点", "VILLAGE_POINT")
    assert not programme.shows("杜家村快递", "杜家村快递便民服务点", "VILLAGE_POINT")
    assert len(programme._village_found) <= 3
    assert len(programme.names._memo) <= 3
